"""What the automation endpoints, the CLI and the bot ask of the jobs: status and manual runs."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from myassistant.core.config import Settings
from myassistant.core.db import Database
from myassistant.jobs.registry import JobDefinition, JobTable
from myassistant.jobs.runner import (
    PROGRESS_BOARD,
    RUNNING,
    JobContext,
    JobLocks,
    JobOutcome,
    Progress,
    acquire_job_lock,
    execute_run,
    open_run,
    run_job,
)
from myassistant.jobs.schemas import AutomationStatus, JobRunRead, JobStatus
from myassistant.jobs.tables import JobRun


class SchedulerView(Protocol):
    running: bool
    is_leader: bool

    def next_runs(self) -> dict[str, str | None]: ...


def last_runs(session: Session, jobs: Sequence[str] | None = None) -> dict[str, JobRun]:
    """The most recent run of each named job (`None`: of every job that ever ran)."""
    latest = select(JobRun.job, func.max(JobRun.id).label("id")).group_by(JobRun.job)
    if jobs is not None:
        latest = latest.where(JobRun.job.in_(jobs))
    subquery = latest.subquery()
    rows = session.scalars(select(JobRun).join(subquery, JobRun.id == subquery.c.id)).all()
    return {row.job: row for row in rows}


def recent_runs(session: Session, *, job: str | None = None, limit: int = 20) -> list[JobRunRead]:
    """Runs, newest first; a run going on in this process shows its latest progress."""
    query = select(JobRun).order_by(JobRun.id.desc()).limit(limit)
    if job:
        query = query.where(JobRun.job == job)
    return [_read(row) for row in session.scalars(query)]


def _read(row: JobRun) -> JobRunRead:
    run = JobRunRead.model_validate(row)
    if row.status == RUNNING:
        run.progress = PROGRESS_BOARD.of(row.id)
    return run


def status(
    session: Session, *, settings: Settings, jobs: JobTable, scheduler: SchedulerView | None
) -> AutomationStatus:
    latest = last_runs(session, jobs.names())
    next_runs = scheduler.next_runs() if scheduler else {}
    return AutomationStatus(
        scheduler_enabled=settings.scheduler_enabled,
        scheduler_running=bool(scheduler and scheduler.running),
        leader=bool(scheduler and scheduler.is_leader),
        jobs=[
            JobStatus(
                name=definition.name,
                description=definition.description,
                schedule=describe_schedule(definition),
                next_run=next_runs.get(definition.name),
                last_run=_read(latest[definition.name]) if definition.name in latest else None,
            )
            for definition in jobs.all()
        ],
    )


def run_now(
    *,
    database: Database,
    settings: Settings,
    jobs: JobTable,
    locks: JobLocks,
    name: str,
    source: str,
    params: dict[str, Any] | None = None,
    progress: Progress | None = None,
) -> JobOutcome:
    """Run a job in this thread; 409 if it is already running, 422 if unknown or its params are invalid."""
    definition, context, key = _prepare(database, settings, jobs, name, source, params, progress)
    return run_job(definition.name, definition.func, context, locks, key=key)


def start_in_background(
    *,
    database: Database,
    settings: Settings,
    jobs: JobTable,
    locks: JobLocks,
    name: str,
    source: str,
    params: dict[str, Any] | None = None,
    progress: Progress | None = None,
) -> int:
    """Start a job in a thread and return its run id (its job_runs row exists already); refuses at
    once if it is running (409) or its params are invalid (422)."""
    definition, context, key = _prepare(database, settings, jobs, name, source, params, progress)
    lock = acquire_job_lock(definition.name, locks, database, key=key)
    try:
        run = open_run(definition.name, context, key=key)
    except BaseException:
        lock.release()
        raise

    def work() -> None:
        try:
            execute_run(run, definition.func, context)
        finally:
            lock.release()

    threading.Thread(target=work, name=f"job:{name}", daemon=True).start()
    return run.run_id


def _prepare(
    database: Database,
    settings: Settings,
    jobs: JobTable,
    name: str,
    source: str,
    params: dict[str, Any] | None,
    progress: Progress | None,
) -> tuple[JobDefinition, JobContext, str | None]:
    """The job's definition, context and lock key; 422 if the job is unknown or its params are invalid."""
    definition = jobs.get(name)
    key = definition.check_params(params or {}, settings)
    context = JobContext(database=database, settings=settings, source=source, params=params or {})
    return definition, context if progress is None else replace(context, progress=progress), key


def describe_schedule(definition: JobDefinition) -> str:
    args = ", ".join(f"{key}={value}" for key, value in definition.trigger_args.items())
    return f"{definition.trigger}({args})"
