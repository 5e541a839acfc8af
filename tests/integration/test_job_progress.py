"""The progress callback a caller (the CLI's progress bar) passes to a job as `context.progress`, and the
progress a running run shows through the API."""

from __future__ import annotations

import threading

from myassistant.catalog import market as market_jobs
from myassistant.catalog import news as news_jobs
from myassistant.jobs.registry import JobTable, define
from myassistant.jobs.runner import JobContext, JobLocks
from myassistant.jobs.service import run_now


def _context(database, settings, **params: object) -> tuple[JobContext, list[tuple[int, int, str]]]:
    calls: list[tuple[int, int, str]] = []
    context = JobContext(database, settings, "cli", params=params, progress=lambda *call: calls.append(call))
    return context, calls


def test_fetch_prices_reports_each_pair_done_out_of_all(database, peer_settings, frozen_clock) -> None:
    context, calls = _context(database, peer_settings, symbols=["BTC/USDT", "ETH/USDT"], limit=3)
    stats = market_jobs.fetch_prices(context).stats
    assert stats["new_bars"] == 6
    assert [call[:2] for call in calls] == [(1, 2), (2, 2)]
    assert {call[2] for call in calls} == {"bybit BTC/USDT", "bybit ETH/USDT"}


def test_news_jobs_report_feeds_and_articles_done(database, settings, news_peer_urls) -> None:
    feeds = [news_peer_urls.url("ru-1251"), news_peer_urls.url("error")]
    context, calls = _context(database, settings, feeds=feeds, limit=3)
    assert news_jobs.fetch_news(context).stats["new"] == 3
    assert calls == [(1, 2, ""), (2, 2, "")]
    context, calls = _context(database, settings, batch_size=2)
    assert news_jobs.analyze_news(context).analyzed == 3
    assert calls == [(2, 3, ""), (3, 3, "")]


def test_a_progress_key_in_the_params_is_refused_as_an_unknown_parameter(client) -> None:
    """Progress reaches a job only as a callback in its context, never through its parameters."""
    response = client.post("/automation/run", json={"job": "analyze_news", "_progress": "x"})
    assert response.status_code == 422
    assert "_progress" in response.json()["detail"]


def test_a_running_run_shows_its_latest_progress_in_the_runs_list(client, database, settings) -> None:
    reported, release = threading.Event(), threading.Event()

    def slow(context: JobContext) -> dict[str, object]:
        context.progress(2, 5, "pair B")
        reported.set()
        release.wait(10)
        return {}

    table = JobTable((define("slow", slow, ("manual", {}), "a job that waits"),))
    locks = JobLocks(database, settings)
    worker = threading.Thread(
        target=run_now,
        kwargs={
            "database": database,
            "settings": settings,
            "jobs": table,
            "locks": locks,
            "name": "slow",
            "source": "api",
        },
    )
    worker.start()
    try:
        assert reported.wait(10)
        [run] = client.get("/automation/runs", params={"job": "slow"}).json()
        assert run["status"] == "running"
        assert run["progress"] == {"done": 2, "total": 5, "label": "pair B"}
    finally:
        release.set()
        worker.join(10)
    [run] = client.get("/automation/runs", params={"job": "slow"}).json()
    assert run["status"] == "ok" and run["progress"] is None
