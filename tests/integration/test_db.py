from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from myassistant.core.db import SQLITE_BUSY_TIMEOUT_MS, Database
from myassistant.jobs.tables import JobRun
from tests.conftest import using_postgres


@pytest.mark.skipif(using_postgres(), reason="SQLite pragmas")
def test_sqlite_connections_use_wal_busy_timeout_and_foreign_keys(database: Database) -> None:
    with database.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == SQLITE_BUSY_TIMEOUT_MS
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_datetimes_come_back_as_aware_utc(database: Database) -> None:
    at = datetime(2026, 3, 1, 15, 30, tzinfo=timezone(timedelta(hours=3)))
    with database.session() as session:
        session.add(JobRun(job="x", source="test", started_at=at, status="ok", stats={"a": 1}))
    with database.session(write=False) as session:
        row = session.query(JobRun).one()
    assert row.started_at == at
    assert row.started_at.utcoffset() == timedelta(0)
    assert row.stats == {"a": 1}


def test_a_failed_unit_of_work_leaves_nothing_behind(database: Database) -> None:
    with pytest.raises(RuntimeError), database.session() as session:
        session.add(JobRun(job="x", source="test", started_at=datetime.now(UTC), status="ok", stats={}))
        session.flush()
        raise RuntimeError("crash mid-job")
    with database.session(write=False) as session:
        assert session.execute(text("SELECT count(*) FROM job_runs")).scalar() == 0
