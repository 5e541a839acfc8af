"""Runs one job: its non-overlap lock, its `job_runs` row, its timing and its error capture.

The scheduler, the CLI, `POST /automation/run` and the Telegram bot all start jobs through
`run_job`, so every run is recorded the same way and a job never overlaps itself.
"""

from __future__ import annotations

import itertools
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from myassistant.core import clock
from myassistant.core.config import Settings
from myassistant.core.db import Database
from myassistant.core.errors import (
    Conflict,
    DomainError,
    InvalidInput,
    describe_validation_errors,
    field_errors,
)
from myassistant.core.locks import NamedLock, lock_dir_for, named_lock
from myassistant.jobs.schemas import JobOutcomeRead
from myassistant.jobs.tables import JobRun

logger = logging.getLogger("myassistant.jobs")

MAX_ERROR_LENGTH = 2000
RUNNING, OK, ERROR, ABANDONED = "running", "ok", "error", "abandoned"
# Under this params key a caller in the same process (the CLI's progress bar) passes a `Progress`
# callable; it is never a request's parameter and never stored.
PROGRESS_PARAM = "_progress"

Progress = Callable[[int, int, str], None]
"""`progress(done, total, label)`: `done` of `total` items finished, the latest described by `label`."""

ParamsT = TypeVar("ParamsT", bound=BaseModel)


@dataclass(frozen=True)
class JobContext:
    """What a job gets: the database, the settings and who started it."""

    database: Database
    settings: Settings
    source: str
    params: dict[str, Any] = field(default_factory=dict)
    progress: Progress | None = None  # set by the runner: the caller's callback plus the run's recorder


JobFunc = Callable[[JobContext], dict[str, Any]]


def parse_params(model: type[ParamsT], params: Mapping[str, Any]) -> ParamsT:
    """A job's params as `model` (the progress callback left out); 422 naming every bad field."""
    try:
        return model.model_validate({key: value for key, value in params.items() if key != PROGRESS_PARAM})
    except ValidationError as exc:
        raise InvalidInput(
            f"invalid parameters: {describe_validation_errors(exc.errors())}",
            errors=field_errors(exc.errors()),
        ) from None


def progress_of(context: JobContext) -> Progress:
    """The caller's progress callback, or one that ignores every call."""
    if context.progress is not None:
        return context.progress
    given = context.params.get(PROGRESS_PARAM)
    return given if callable(given) else _no_progress


def counting(progress: Progress, total: int) -> Callable[[str], None]:
    """A callback for item-by-item work: each call reports one more of `total` done, under a label."""
    done = itertools.count(1)
    return lambda label: progress(next(done), total, label)


def _no_progress(_done: int, _total: int, _label: str) -> None:
    return None


# What a job keeps of its items' failures in job_runs stats (stored every few minutes).
MAX_LISTED_FAILURES = 20
MAX_ITEM_ERROR_LENGTH = 300


def listed_failures(
    failed: Mapping[str, str | None],
    total: int,
    *,
    items: str,
    all_failed: type[DomainError] | None = None,
) -> dict[str, str | None]:
    """The first failures for the stats; raises `all_failed` when given and every one of `total` failed."""
    if all_failed is not None and total and len(failed) == total:
        raise all_failed(
            f"all {len(failed)} {items} failed: " + "; ".join(f"{k}: {e}" for k, e in failed.items())
        )
    return dict(list(failed.items())[:MAX_LISTED_FAILURES])


def short_error(error: str | None) -> str | None:
    """An item's error cut to what a stats row keeps."""
    return error and error[:MAX_ITEM_ERROR_LENGTH]


# What a run returns is what the API shows: one declaration of its fields.
JobOutcome = JobOutcomeRead


class JobLocks:
    """One cross-process lock per job name, created lazily and shared by every caller in the process."""

    def __init__(self, database: Database, settings: Settings) -> None:
        self._database = database
        self.lock_dir = lock_dir_for(database, Path(settings.artifacts_dir))
        self._locks: dict[str, NamedLock] = {}
        self._guard = threading.Lock()

    def for_job(self, job: str) -> NamedLock:
        with self._guard:
            if job not in self._locks:
                self._locks[job] = named_lock(self._database, f"job:{job}", lock_dir=self.lock_dir)
            return self._locks[job]


def acquire_job_lock(name: str, locks: JobLocks) -> NamedLock:
    """The job's lock, now held by the caller; 409 Conflict when the job is already running anywhere."""
    lock = locks.for_job(name)
    if not lock.acquire():
        raise Conflict(f"job {name!r} is already running; try again when it has finished")
    return lock


def run_job(name: str, func: JobFunc, context: JobContext, locks: JobLocks) -> JobOutcome:
    """Run `func` unless the same job is already running anywhere (then 409 Conflict)."""
    lock = acquire_job_lock(name, locks)
    try:
        return run_locked(name, func, context)
    finally:
        lock.release()


def run_locked(name: str, func: JobFunc, context: JobContext) -> JobOutcome:
    """Run and record `func`; the caller holds the job's lock."""
    started_at = clock.now()
    started = time.perf_counter()
    with context.database.session() as session:
        run = JobRun(job=name, source=context.source, started_at=started_at, status=RUNNING, stats={})
        session.add(run)
        session.flush()
        run_id = run.id
    status, error, stats = OK, None, {}
    recorder = ProgressRecorder(context.database, run_id)
    try:
        stats = func(recorder.wrapping(context)) or {}
    except DomainError as exc:
        status, error = ERROR, exc.detail
        logger.warning("job %s failed: %s", name, exc.detail)
    except Exception as exc:  # a job's crash is recorded, never propagated into the scheduler
        status, error = ERROR, f"{type(exc).__name__}: {exc}"
        logger.exception("job %s crashed", name)
    finally:
        recorder.stop()
    finished_at = clock.now()
    duration = time.perf_counter() - started
    with context.database.session() as session:
        session.execute(
            update(JobRun)
            .where(JobRun.id == run_id)
            .values(
                finished_at=finished_at,
                status=status,
                error=(error or None) and error[:MAX_ERROR_LENGTH],
                stats=_jsonable(stats) | {"duration_s": round(duration, 3)},
            )
        )
    logger.info("job %s finished: %s in %.2fs", name, status, duration)
    return JobOutcome(
        run_id=run_id,
        job=name,
        status=status,
        started_at=started_at,
        finished_at=finished_at,
        duration_s=duration,
        error=error,
        stats=stats,
    )


# A running job's latest progress is written to its row (stats["progress"]) at most this often.
PROGRESS_WRITE_INTERVAL_S = 1.0


class ProgressRecorder:
    """Keeps a running job's latest `progress(done, total, label)` in its job_runs row, for whoever
    watches (the dashboard, another replica). A thread of its own writes it, so the job never waits
    on the database: on SQLite the job itself may hold the write lock while it reports."""

    def __init__(
        self, database: Database, run_id: int, interval_s: float = PROGRESS_WRITE_INTERVAL_S
    ) -> None:
        self._database = database
        self._run_id = run_id
        self._interval_s = interval_s
        self._latest: dict[str, Any] | None = None
        self._guard = threading.Lock()
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._writer: threading.Thread | None = None

    def wrapping(self, context: JobContext) -> JobContext:
        """`context` whose progress callback also reaches this recorder (the caller's still runs)."""
        caller = progress_of(context)

        def progress(done: int, total: int, label: str) -> None:
            caller(done, total, label)
            self(done, total, label)

        return replace(context, progress=progress)

    def __call__(self, done: int, total: int, label: str) -> None:
        with self._guard:
            self._latest = {"done": done, "total": total, "label": label[:200]}
            if self._writer is None:  # most runs never report progress: no thread for them
                self._writer = threading.Thread(target=self._write_loop, name="job-progress", daemon=True)
                self._writer.start()
        self._wake.set()

    def stop(self) -> None:
        self._stopped.set()
        self._wake.set()
        if self._writer is not None:
            self._writer.join()

    def _write_loop(self) -> None:
        while not self._stopped.is_set():
            self._wake.wait()
            self._wake.clear()
            with self._guard:
                latest = self._latest
            if latest is None or self._stopped.is_set():
                continue
            try:
                with self._database.session() as session:
                    session.execute(
                        update(JobRun)
                        .where(JobRun.id == self._run_id, JobRun.status == RUNNING)
                        .values(stats={"progress": latest})
                    )
            except Exception:  # progress is a courtesy: the job goes on without it
                logger.debug("could not record progress of run %s", self._run_id, exc_info=True)
            self._stopped.wait(self._interval_s)


def mark_abandoned_runs(session: Session, *, job: str, lock: NamedLock) -> int:
    """Runs left 'running' by a killed process: only when nobody holds the job's lock now."""
    if not lock.acquire():
        return 0
    try:
        stale = session.scalars(select(JobRun.id).where(JobRun.job == job, JobRun.status == RUNNING)).all()
        if stale:
            session.execute(
                update(JobRun)
                .where(JobRun.id.in_(stale))
                .values(
                    status=ABANDONED, finished_at=clock.now(), error="process stopped before the job finished"
                )
            )
        return len(stale)
    finally:
        lock.release()


def _jsonable(stats: dict[str, Any]) -> dict[str, Any]:
    return dict(json.loads(json.dumps(stats, default=str)))
