"""Every job-like route runs through the job runner like the scheduler and the CLI: a job_runs row
with source "api", and 409 naming the running run while the same job runs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from myassistant.api.app import create_app
from myassistant.core import clock
from myassistant.core.db import Database
from myassistant.core.locks import held_lock
from myassistant.jobs.runner import RUNNING, JobLocks
from myassistant.jobs.tables import JobRun

# (route, body, job name, lock key or None)
JOB_ROUTES: list[tuple[str, dict[str, Any], str, str | None]] = [
    ("/news/fetch", {"feeds": ["http://127.0.0.1:9/feed.xml"]}, "fetch_news", None),
    ("/news/analyze", {}, "analyze_news", None),
    ("/prices/fetch", {"symbols": ["BTC/USDT"], "timeframe": "1h", "limit": 3}, "fetch_prices", None),
    ("/watchlist/discover", {"top_n": 3}, "discover_watchlist", None),
    ("/dataset/build", {"symbol": "BTC/USDT", "timeframe": "1h"}, "build_dataset", "bybit:BTC/USDT:1h:12"),
    ("/model/train", {"symbol": "BTC/USDT", "fetch": False}, "train", "bybit:BTC/USDT:15m:12"),
    ("/model/train_missing", {"fetch": False}, "train_missing", None),
]


@pytest.fixture
def api(peer_settings, database: Database, frozen_clock) -> Iterator[TestClient]:
    with TestClient(create_app(peer_settings, database=database)) as client:
        yield client


def _runs(database: Database) -> list[tuple[str, str]]:
    with database.session(write=False) as session:
        return [(run.job, run.source) for run in session.query(JobRun).order_by(JobRun.id)]


@pytest.mark.parametrize(("path", "body", "job", "key"), JOB_ROUTES, ids=[r[0] for r in JOB_ROUTES])
def test_a_job_like_route_is_recorded_as_a_run_of_its_job(api, database, path, body, job, key) -> None:
    response = api.post(path, json=body)
    assert response.status_code < 500, response.text
    assert _runs(database) == [(job, "api")]
    [run] = api.get("/automation/runs", params={"job": job}).json()
    assert run["source"] == "api" and run["status"] in {"ok", "error"}


@pytest.mark.parametrize(("path", "body", "job", "key"), JOB_ROUTES, ids=[r[0] for r in JOB_ROUTES])
def test_a_job_like_route_is_409_naming_the_run_while_its_job_runs(
    api, database, peer_settings, path, body, job, key
) -> None:
    with database.session() as session:
        running = JobRun(
            job=job,
            source="scheduler",
            started_at=clock.now(),
            status=RUNNING,
            stats={} if key is None else {"lock_key": key},
        )
        session.add(running)
        session.flush()
        run_id = running.id
    with held_lock(JobLocks(database, peer_settings).for_job(job, key)) as got:
        assert got
        response = api.post(path, json=body)
    assert response.status_code == 409, response.text
    assert response.json()["run_id"] == run_id and f"run {run_id}" in response.json()["detail"]
    assert _runs(database) == [(job, "scheduler")]  # nothing ran beside it
