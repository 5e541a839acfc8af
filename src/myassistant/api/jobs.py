"""Job-like routes run through the job runner, exactly as the scheduler and the CLI run the same job:
a job_runs row with source "api", 409 naming the running run while the same job runs, the job's own
parameter model and defaults. The route waits for the run and answers the job's result."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import Request
from pydantic import BaseModel

from myassistant.jobs import service
from myassistant.jobs.registry import JobTable

JobKind = Literal["job", "action", "task"]

# OpenAPI: what a job-like route answers besides its result.
RUN_RESPONSES: dict[int | str, dict[str, Any]] = {
    409: {"description": "the same job (for this pair) is already running; `run_id` names that run"},
}


def table_of(request: Request, kind: JobKind) -> JobTable:
    state = request.app.state
    table: JobTable = {"job": state.jobs, "action": state.actions, "task": state.tasks}[kind]
    return table


def run_for_route(request: Request, kind: JobKind, name: str, body: BaseModel | None = None) -> Any:
    """Run the job with `body` as its parameters; its result, or the error that failed it."""
    state = request.app.state
    outcome = service.run_now(
        database=state.db,
        settings=state.settings,
        jobs=table_of(request, kind),
        locks=state.job_locks,
        name=name,
        source="api",
        params=body.model_dump(exclude_unset=True) if body is not None else {},
    )
    return outcome.raise_or_result()
