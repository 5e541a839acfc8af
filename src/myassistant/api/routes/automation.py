"""Automation: the scheduler's state and manual runs of jobs and actions."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import JSONResponse

from myassistant.api.deps import DatabaseDep, SessionDep, SettingsDep
from myassistant.core.errors import InvalidInput
from myassistant.jobs import service
from myassistant.jobs.registry import JobTable
from myassistant.jobs.schemas import AutomationStatus, JobOutcomeRead, JobRunRead, RunAccepted, RunRequest

router = APIRouter(tags=["Automation"])


@router.get("/automation/status", response_model=AutomationStatus)
def automation_status(request: Request, session: SessionDep, settings: SettingsDep) -> AutomationStatus:
    """Leader or not, and each job's schedule, next run and last run (status, duration, error)."""
    return service.status(
        session, settings=settings, jobs=request.app.state.jobs, scheduler=request.app.state.scheduler
    )


@router.get("/automation/runs", response_model=list[JobRunRead])
def automation_runs(
    session: SessionDep,
    job: str | None = Query(None, max_length=64, pattern=r"^[A-Za-z0-9_]+$"),
    limit: int = Query(20, ge=1, le=500),
) -> list[JobRunRead]:
    """Recent job runs, newest first."""
    return service.recent_runs(session, job=job, limit=limit)


@router.post(
    "/automation/run",
    response_model=JobOutcomeRead,
    responses={
        202: {"model": RunAccepted},
        409: {"description": "already running"},
        422: {"description": "unknown"},
    },
)
def automation_run(body: RunRequest, request: Request, database: DatabaseDep, settings: SettingsDep) -> Any:
    """Run a job (`{"job": name}`) or an action (`{"action": name, ...params}`) now."""
    table, name = _pick(body, request.app.state.jobs, request.app.state.actions)
    params = body.model_extra or {}
    common = {
        "database": database,
        "settings": settings,
        "jobs": table,
        "locks": request.app.state.job_locks,
        "name": name,
        "source": "api",
        "params": params,
    }
    if not body.wait:
        run_id = service.start_in_background(**common)
        accepted = RunAccepted(job=name, run_id=run_id)
        return JSONResponse(accepted.model_dump(), status_code=status.HTTP_202_ACCEPTED)
    outcome = service.run_now(**common)
    return outcome


def _pick(body: RunRequest, jobs: JobTable, actions: JobTable) -> tuple[JobTable, str]:
    if (body.job is None) == (body.action is None):
        raise InvalidInput(
            f"give exactly one of 'job' (one of: {', '.join(jobs.names()) or 'none'}) "
            f"or 'action' (one of: {', '.join(actions.names()) or 'none'})"
        )
    if body.job is not None:
        return jobs, jobs.get(body.job).name
    assert body.action is not None
    return actions, actions.get(body.action).name
