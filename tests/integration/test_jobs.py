"""Job runner, cross-process locks and the leader-only scheduler, on the configured backend."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from myassistant.core.db import Database
from myassistant.core.errors import Conflict, InvalidInput
from myassistant.jobs.registry import JobTable, define
from myassistant.jobs.runner import JobContext, JobLocks, mark_abandoned_runs, run_job
from myassistant.jobs.scheduler import Scheduler
from myassistant.jobs.tables import JobRun


def _rows(database: Database) -> list[JobRun]:
    with database.session(write=False) as session:
        return list(session.scalars(select(JobRun).order_by(JobRun.id)))


def test_a_successful_run_is_recorded_with_stats_and_duration(database, settings, frozen_clock) -> None:
    context = JobContext(database=database, settings=settings, source="cli")
    outcome = run_job(
        "demo", lambda ctx: {"new": 3, "source": ctx.source}, context, JobLocks(database, settings)
    )
    assert outcome.status == "ok"
    [row] = _rows(database)
    assert (row.job, row.source, row.status, row.error) == ("demo", "cli", "ok", None)
    assert row.stats["new"] == 3 and row.stats["source"] == "cli" and "duration_s" in row.stats
    assert row.started_at == frozen_clock.now() and row.finished_at == frozen_clock.now()


def test_a_crashing_job_is_recorded_as_error_and_does_not_raise(database, settings) -> None:
    def crash(_ctx: JobContext) -> dict:
        raise RuntimeError("feed exploded")

    outcome = run_job(
        "crashy", crash, JobContext(database, settings, "scheduler"), JobLocks(database, settings)
    )
    assert outcome.status == "error"
    [row] = _rows(database)
    assert row.status == "error" and row.error == "RuntimeError: feed exploded"
    assert row.finished_at is not None


def test_a_job_never_overlaps_itself_even_from_another_process(database, settings) -> None:
    """Two JobLocks on the same database stand for two processes (service and CLI)."""
    started, release = threading.Event(), threading.Event()

    def slow(_ctx: JobContext) -> dict:
        started.set()
        release.wait(10)
        return {}

    service_locks, cli_locks = JobLocks(database, settings), JobLocks(database, settings)
    context = JobContext(database, settings, "scheduler")
    worker = threading.Thread(target=run_job, args=("slow", slow, context, service_locks))
    worker.start()
    assert started.wait(10)
    with pytest.raises(Conflict, match="already running"):
        run_job("slow", slow, JobContext(database, settings, "cli"), cli_locks)
    with pytest.raises(Conflict):
        run_job("slow", slow, context, service_locks)
    release.set()
    worker.join(10)
    assert run_job("slow", lambda _c: {}, context, cli_locks).status == "ok"
    assert [r.status for r in _rows(database)] == ["ok", "ok"]


def test_runs_left_running_by_a_killed_process_are_marked_abandoned(database, settings) -> None:
    with database.session() as session:
        session.add(
            JobRun(
                job="fetch",
                source="scheduler",
                started_at=datetime(2026, 1, 1, tzinfo=UTC),
                status="running",
                stats={},
            )
        )
    locks = JobLocks(database, settings)
    with database.session() as session:
        assert mark_abandoned_runs(session, job="fetch", lock=locks.for_job("fetch")) == 1
    assert _rows(database)[0].status == "abandoned"


def test_unknown_job_names_list_the_valid_ones() -> None:
    table = JobTable((define("fetch_news", lambda _c: {}, ("interval", {"minutes": 10}), "news"),))
    with pytest.raises(InvalidInput, match="valid jobs: fetch_news"):
        table.get("nope")


def test_only_one_of_two_schedulers_is_leader_and_the_other_takes_over(database, settings) -> None:
    ticks: list[str] = []

    def tick(ctx: JobContext) -> dict[str, str]:
        ticks.append(ctx.source)
        return {}

    table = JobTable((define("tick", tick, ("interval", {"seconds": 0.2}), "test job"),))
    first = Scheduler(
        database=database,
        settings=settings,
        jobs=table,
        locks=JobLocks(database, settings),
        election_interval_s=3600,
    )
    second = Scheduler(
        database=database,
        settings=settings,
        jobs=table,
        locks=JobLocks(database, settings),
        election_interval_s=3600,
    )
    first.start()
    second.start()
    try:
        assert (first.is_leader, second.is_leader) == (True, False)
        assert first.state()["next_runs"]["tick"] is not None
        assert second.state()["next_runs"]["tick"] is None
        deadline = time.monotonic() + 10
        while not ticks and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ticks and set(ticks) == {"scheduler"}
        first.shutdown()
        assert second.try_become_leader()
    finally:
        first.shutdown()
        second.shutdown()
    assert all(row.status == "ok" and row.source == "scheduler" for row in _rows(database))
