from __future__ import annotations

import threading
import time

import pytest
from fastapi.testclient import TestClient

from myassistant.api.app import create_app
from myassistant.core.locks import held_lock
from myassistant.jobs.registry import JobTable, define
from myassistant.jobs.runner import JobLocks

release = threading.Event()


def _slow(_ctx) -> dict:
    release.wait(10)
    return {"done": True}


@pytest.fixture
def app_with_jobs(make_settings, database):
    release.clear()
    app = create_app(make_settings(), database=database)
    app.state.jobs = JobTable(
        (
            define(
                "fetch_news",
                lambda ctx: {"new": 2, "params": ctx.params},
                ("interval", {"minutes": 10}),
                "news",
            ),
            define("slow_job", _slow, ("interval", {"minutes": 5}), "slow"),
            define("broken", lambda _ctx: {"never": 1 / 0}, ("interval", {"minutes": 5}), "always fails"),
        )
    )
    app.state.actions = JobTable(
        (define("scan_watchlist", lambda ctx: {"source": ctx.source}, ("cron", {}), "scan"),), kind="action"
    )
    with TestClient(app) as client:
        yield client
    release.set()


def test_status_lists_every_job_with_its_last_run(app_with_jobs: TestClient) -> None:
    assert app_with_jobs.post("/automation/run", json={"job": "fetch_news"}).status_code == 200
    body = app_with_jobs.get("/automation/status").json()
    assert body["scheduler_enabled"] is False and body["leader"] is False
    jobs = {job["name"]: job for job in body["jobs"]}
    assert set(jobs) == {"fetch_news", "slow_job", "broken"}
    assert jobs["fetch_news"]["last_run"]["status"] == "ok"
    assert jobs["fetch_news"]["last_run"]["source"] == "api"
    assert jobs["broken"]["last_run"] is None
    assert jobs["fetch_news"]["schedule"] == "interval(minutes=10)"


def test_manual_run_returns_the_outcome_and_passes_params(app_with_jobs: TestClient) -> None:
    body = app_with_jobs.post("/automation/run", json={"job": "fetch_news", "limit": 5}).json()
    assert body["status"] == "ok" and body["stats"] == {"new": 2, "params": {"limit": 5}}


def test_a_failing_job_answers_with_its_recorded_error(app_with_jobs: TestClient) -> None:
    body = app_with_jobs.post("/automation/run", json={"job": "broken"}).json()
    assert body["status"] == "error" and "ZeroDivisionError" in body["error"]
    runs = app_with_jobs.get("/automation/runs", params={"job": "broken"}).json()
    assert runs[0]["status"] == "error"


def test_actions_run_through_the_same_runner(app_with_jobs: TestClient) -> None:
    body = app_with_jobs.post("/automation/run", json={"action": "scan_watchlist"}).json()
    assert body["job"] == "scan_watchlist" and body["stats"]["source"] == "api"


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"job": "nope"}, "valid jobs: fetch_news, slow_job, broken"),
        ({"action": "nope"}, "valid actions: scan_watchlist"),
        ({}, "give exactly one of"),
        ({"job": "fetch_news", "action": "scan_watchlist"}, "give exactly one of"),
    ],
)
def test_unknown_or_ambiguous_names_are_422_listing_the_valid_ones(app_with_jobs, body, needle) -> None:
    response = app_with_jobs.post("/automation/run", json=body)
    assert response.status_code == 422
    assert needle in response.json()["detail"]


def test_a_manual_run_while_the_job_runs_is_409(app_with_jobs: TestClient) -> None:
    started = app_with_jobs.post("/automation/run", json={"job": "slow_job", "wait": False})
    assert started.status_code == 202
    run_id = started.json()["run_id"]
    assert started.json() == {"job": "slow_job", "status": "started", "run_id": run_id}
    [run] = app_with_jobs.get("/automation/runs", params={"job": "slow_job"}).json()
    assert run["id"] == run_id and run["status"] == "running"  # the row exists before 202 is sent
    deadline = time.monotonic() + 10
    again = app_with_jobs.post("/automation/run", json={"job": "slow_job"})
    assert again.status_code == 409 and "already running" in again.json()["detail"]
    assert again.json()["run_id"] == run_id and f"run {run_id}" in again.json()["detail"]
    release.set()
    while app_with_jobs.get("/automation/runs", params={"job": "slow_job"}).json()[0]["status"] == "running":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert app_with_jobs.post("/automation/run", json={"job": "slow_job"}).json()["status"] == "ok"


def test_signal_once_is_locked_per_pair_not_per_action(client, database, settings) -> None:
    """Six pairs at once must not refuse five of them: only the same pair is 409 while it runs."""
    lock = JobLocks(database, settings).for_job("signal_once", "bybit:BTC/USDT:15m:12")
    with held_lock(lock) as got:
        assert got
        same = client.post("/automation/run", json={"action": "signal_once", "symbol": "btc/usdt"})
        other = client.post("/automation/run", json={"action": "signal_once", "symbol": "ETH/USDT"})
    assert same.status_code == 409 and "BTC/USDT" in same.json()["detail"]
    assert other.status_code == 200, other.text
    assert (
        other.json()["job"] == "signal_once" and other.json()["stats"]["lock_key"] == "bybit:ETH/USDT:15m:12"
    )


def test_runs_filtered_by_a_job_name_with_a_nul_byte_are_422(client) -> None:
    # PostgreSQL text cannot hold NUL: the filter is refused before it reaches the database.
    assert client.get("/automation/runs", params={"job": "fetch\x00news"}).status_code == 422
    assert client.get("/automation/runs", params={"job": "fetch_news"}).status_code == 200
