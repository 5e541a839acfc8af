"""8 processes × 500 write transactions on one SQLite file: no 'database is locked', no lost row."""

from __future__ import annotations

import multiprocessing
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from myassistant.core import migrate
from tests.conftest import using_postgres

PROCESSES = 8
TRANSACTIONS = 500

pytestmark = pytest.mark.skipif(using_postgres(), reason="SQLite locking behaviour")


def _write_with_product_engine(url: str, worker: int) -> int:
    """Read-then-write transactions, the pattern that breaks without BEGIN IMMEDIATE."""
    from sqlalchemy import func, select

    from myassistant.core.db import Database
    from myassistant.jobs.tables import JobRun

    database = Database(url, pool_size=1)
    errors = 0
    try:
        for i in range(TRANSACTIONS):
            try:
                with database.session() as session:
                    session.execute(select(func.count()).select_from(JobRun)).scalar()
                    session.add(
                        JobRun(
                            job=f"w{worker}",
                            source=str(i),
                            started_at=datetime.now(UTC),
                            status="ok",
                            stats={},
                        )
                    )
            except Exception as exc:
                if "locked" not in str(exc):
                    raise
                errors += 1
    finally:
        database.dispose()
    return errors


def _write_with_bare_sqlite(path: str, worker: int) -> int:
    """Control: default sqlite3 settings, no WAL, no busy timeout, deferred transactions."""
    connection = sqlite3.connect(path, timeout=0)
    errors = 0
    for i in range(TRANSACTIONS):
        try:
            connection.execute("SELECT count(*) FROM job_runs").fetchone()
            connection.execute(
                "INSERT INTO job_runs (job, source, started_at, status, stats) VALUES (?, ?, ?, 'ok', '{}')",
                (f"w{worker}", str(i), datetime.now(UTC).isoformat()),
            )
            connection.commit()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc):
                raise
            connection.rollback()
            errors += 1
    connection.close()
    return errors


def _count(path: Path) -> int:
    connection = sqlite3.connect(path)
    try:
        return int(connection.execute("SELECT count(*) FROM job_runs").fetchone()[0])
    finally:
        connection.close()


def _run(target, arg: str) -> list[int]:
    context = multiprocessing.get_context("spawn")  # the only start method on Windows
    with context.Pool(PROCESSES) as pool:
        return pool.starmap(target, [(arg, worker) for worker in range(PROCESSES)])


@pytest.mark.slow
def test_eight_processes_write_4000_rows_without_lock_errors(tmp_path: Path) -> None:
    path = tmp_path / "busy.db"
    migrate.upgrade(f"sqlite:///{path.as_posix()}")
    errors = _run(_write_with_product_engine, f"sqlite:///{path.as_posix()}")
    assert sum(errors) == 0
    assert _count(path) == PROCESSES * TRANSACTIONS


@pytest.mark.slow
def test_control_without_the_pragmas_does_hit_locks(tmp_path: Path) -> None:
    path = tmp_path / "bare.db"
    migrate.upgrade(f"sqlite:///{path.as_posix()}")
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=DELETE")
    connection.close()
    errors = _run(_write_with_bare_sqlite, str(path))
    assert sum(errors) > 0
    assert _count(path) == PROCESSES * TRANSACTIONS - sum(errors)
