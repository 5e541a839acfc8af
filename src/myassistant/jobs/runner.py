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
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError
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
LOCK_KEY = "lock_key"  # in a keyed run's stats: which key (pair) the run holds

Progress = Callable[[int, int, str], None]
"""`progress(done, total, label)`: `done` of `total` items finished, the latest described by `label`."""

ParamsT = TypeVar("ParamsT", bound=BaseModel)


def _no_progress(_done: int, _total: int, _label: str) -> None:
    return None


@dataclass(frozen=True)
class JobContext:
    """What a job gets: the database, the settings, who started it, its parameters and where to
    report progress (the CLI's progress bar, the job_runs row)."""

    database: Database
    settings: Settings
    source: str
    params: dict[str, Any] = field(default_factory=dict)
    progress: Progress = _no_progress
    run_id: int | None = None  # the job_runs row of this run, set by the runner


JobFunc = Callable[[JobContext], "dict[str, Any] | BaseModel | Finished"]


def parse_params(model: type[ParamsT], params: Mapping[str, Any]) -> ParamsT:
    """A job's params as `model`; 422 naming every bad field."""
    try:
        return model.model_validate(dict(params))
    except ValidationError as exc:
        raise InvalidInput(
            f"invalid parameters: {describe_validation_errors(exc.errors())}",
            errors=field_errors(exc.errors()),
        ) from None


def counting(progress: Progress, total: int) -> Callable[[str], None]:
    """A callback for item-by-item work: each call reports one more of `total` done, under a label."""
    done = itertools.count(1)
    return lambda label: progress(next(done), total, label)


# What a job keeps of its items' failures in job_runs stats (stored every few minutes).
MAX_LISTED_FAILURES = 20
MAX_ITEM_ERROR_LENGTH = 300


def listed_failures(failed: Mapping[str, str | None]) -> dict[str, str | None]:
    """The first failures of a run's items, as its stats keep them."""
    return dict(list(failed.items())[:MAX_LISTED_FAILURES])


def every_item_failed(
    failed: Mapping[str, str | None], total: int, *, items: str, error: type[DomainError]
) -> DomainError | None:
    """The error that fails a run when every one of its `total` items failed (None otherwise)."""
    if not total or len(failed) < total:
        return None
    return error(f"all {len(failed)} {items} failed: " + "; ".join(f"{k}: {e}" for k, e in failed.items()))


def short_error(error: str | None) -> str | None:
    """An item's error cut to what a stats row keeps."""
    return error and error[:MAX_ITEM_ERROR_LENGTH]


@dataclass(frozen=True)
class Finished:
    """What a job returns when the stats are not all its caller needs: `result` is the job's own answer
    (the body a route returns), `failure` fails the run without losing that answer."""

    stats: dict[str, Any]
    result: Any = None
    failure: DomainError | None = None


class JobOutcome(JobOutcomeRead):
    """A finished run as the API shows it, plus, for a caller in this process, the job's own result and
    the exception that failed it (neither is stored nor serialised)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    result: Any = Field(default=None, exclude=True)
    exception: BaseException | None = Field(default=None, exclude=True)

    def raise_or_result(self) -> Any:
        """The job's result; re-raises what failed the run when there is no result to show."""
        if self.exception is not None and self.result is None:
            raise self.exception
        return self.result


class JobLocks:
    """One cross-process lock per job name, created lazily and shared by every caller in the process."""

    def __init__(self, database: Database, settings: Settings) -> None:
        self._database = database
        self.lock_dir = lock_dir_for(database, Path(settings.artifacts_dir))
        self._locks: dict[str, NamedLock] = {}
        self._guard = threading.Lock()

    def for_job(self, job: str, key: str | None = None) -> NamedLock:
        """The lock of a job, or of one `key` of it (a pair) when the job locks per key."""
        name = f"job:{job}" if key is None else f"job:{job}:{key}"
        with self._guard:
            if name not in self._locks:
                self._locks[name] = named_lock(self._database, name, lock_dir=self.lock_dir)
            return self._locks[name]


def acquire_job_lock(name: str, locks: JobLocks, database: Database, *, key: str | None = None) -> NamedLock:
    """The job's lock (or its key's), now held by the caller; 409 Conflict naming the running run
    when the job (for that key) is already running anywhere."""
    lock = locks.for_job(name, key)
    if not lock.acquire():
        what = f"job {name!r}" if key is None else f"job {name!r} for {key}"
        run_id = _running_run(database, name, key)
        running = f" as run {run_id}" if run_id is not None else ""
        raise Conflict(f"{what} is already running{running}; try again when it has finished", run_id=run_id)
    return lock


def _running_run(database: Database, name: str, key: str | None) -> int | None:
    """The newest unfinished run of the job (for `key`), whichever process started it."""
    with database.session(write=False) as session:
        rows = session.execute(
            select(JobRun.id, JobRun.stats)
            .where(JobRun.job == name, JobRun.status == RUNNING)
            .order_by(JobRun.id.desc())
            .limit(50)
        ).all()
    return next((run_id for run_id, stats in rows if key is None or (stats or {}).get(LOCK_KEY) == key), None)


def run_job(
    name: str, func: JobFunc, context: JobContext, locks: JobLocks, *, key: str | None = None
) -> JobOutcome:
    """Run `func` unless the same job (for `key`) is already running anywhere (then 409 Conflict)."""
    lock = acquire_job_lock(name, locks, context.database, key=key)
    try:
        return run_locked(name, func, context, key=key)
    finally:
        lock.release()


def run_locked(name: str, func: JobFunc, context: JobContext, *, key: str | None = None) -> JobOutcome:
    """Run and record `func`; the caller holds the job's lock."""
    return execute_run(open_run(name, context, key=key), func, context)


@dataclass(frozen=True)
class OpenRun:
    """A run whose job_runs row exists (status running) and whose work has not started yet."""

    run_id: int
    name: str
    key: str | None
    started_at: datetime
    started: float  # perf_counter at the start


def open_run(name: str, context: JobContext, *, key: str | None = None) -> OpenRun:
    """Insert the run's job_runs row (status running); the caller holds the job's lock."""
    started_at = clock.now()
    started = time.perf_counter()
    with context.database.session() as session:
        run = JobRun(
            job=name, source=context.source, started_at=started_at, status=RUNNING, stats=_initial(key)
        )
        session.add(run)
        session.flush()
        run_id = run.id
    return OpenRun(run_id=run_id, name=name, key=key, started_at=started_at, started=started)


def _initial(key: str | None) -> dict[str, Any]:
    return {} if key is None else {LOCK_KEY: key}


@dataclass(frozen=True)
class _Ending:
    """How a job's work ended."""

    status: str
    stats: dict[str, Any]
    result: Any = None
    exception: BaseException | None = None

    @property
    def error(self) -> str | None:
        if self.exception is None:
            return None
        if isinstance(self.exception, DomainError):
            return self.exception.detail
        return f"{type(self.exception).__name__}: {self.exception}"


def execute_run(run: OpenRun, func: JobFunc, context: JobContext) -> JobOutcome:
    """Do the work of an open run and record how it ended; never raises for the job's own failures."""
    try:
        ending = _work(run, func, context)
    finally:
        PROGRESS_BOARD.finish(run.run_id)
    finished_at = clock.now()
    duration = time.perf_counter() - run.started
    with context.database.session() as session:
        session.execute(
            update(JobRun)
            .where(JobRun.id == run.run_id)
            .values(
                finished_at=finished_at,
                status=ending.status,
                error=ending.error and ending.error[:MAX_ERROR_LENGTH],
                stats=_jsonable(ending.stats) | {"duration_s": round(duration, 3)},
            )
        )
    logger.info("job %s finished: %s in %.2fs", run.name, ending.status, duration)
    return JobOutcome(
        run_id=run.run_id,
        job=run.name,
        status=ending.status,
        started_at=run.started_at,
        finished_at=finished_at,
        duration_s=duration,
        error=ending.error,
        stats=ending.stats,
        result=ending.result,
        exception=ending.exception,
    )


def _work(run: OpenRun, func: JobFunc, context: JobContext) -> _Ending:
    initial = _initial(run.key)
    try:
        returned = func(
            replace(context, run_id=run.run_id, progress=_recording(run.run_id, context.progress))
        )
    except DomainError as exc:
        logger.warning("job %s failed: %s", run.name, exc.detail)
        return _Ending(ERROR, initial, exception=exc)
    except Exception as exc:  # a job's crash is recorded, never propagated into the scheduler
        logger.exception("job %s crashed", run.name)
        return _Ending(ERROR, initial, exception=exc)
    stats, result, failure = _unpack(returned)
    if failure is not None:
        logger.warning("job %s failed: %s", run.name, failure.detail)
        return _Ending(ERROR, initial | stats, result, failure)
    return _Ending(OK, initial | stats, result)


def _unpack(
    returned: dict[str, Any] | BaseModel | Finished | None,
) -> tuple[dict[str, Any], Any, DomainError | None]:
    """(stats, result, failure) of what a job returned: a stats dict, a model (its dump is the stats)
    or a `Finished`."""
    if isinstance(returned, Finished):
        return returned.stats, returned.result, returned.failure
    if isinstance(returned, BaseModel):
        return returned.model_dump(mode="json"), returned, None
    return returned or {}, returned, None


class ProgressBoard:
    """The latest progress of the runs going on in this process, for the API (and the dashboard).

    Kept in memory rather than written to job_runs: a job may hold SQLite's write lock while it
    reports progress, and a progress write must never make a job wait.
    """

    def __init__(self) -> None:
        self._latest: dict[int, dict[str, Any]] = {}
        self._guard = threading.Lock()

    def report(self, run_id: int, done: int, total: int, label: str) -> None:
        with self._guard:
            self._latest[run_id] = {"done": done, "total": total, "label": label[:200]}

    def of(self, run_id: int) -> dict[str, Any] | None:
        with self._guard:
            return self._latest.get(run_id)

    def finish(self, run_id: int) -> None:
        with self._guard:
            self._latest.pop(run_id, None)


PROGRESS_BOARD = ProgressBoard()


def _recording(run_id: int, forward_to: Progress) -> Progress:
    """A progress callback that shows on the board and reaches the caller's callback too."""

    def progress(done: int, total: int, label: str) -> None:
        PROGRESS_BOARD.report(run_id, done, total, label)
        forward_to(done, total, label)

    return progress


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
