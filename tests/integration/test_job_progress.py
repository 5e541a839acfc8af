"""The progress callback a caller (the CLI's progress bar) passes to a job under PROGRESS_PARAM."""

from __future__ import annotations

import threading
import time

from sqlalchemy import select

from myassistant.jobs.runner import PROGRESS_PARAM, JobContext, JobLocks, progress_of, run_job
from myassistant.jobs.tables import JobRun
from myassistant.market import jobs as market_jobs
from myassistant.news import jobs as news_jobs


def _context(database, settings, **params: object) -> tuple[JobContext, list[tuple[int, int, str]]]:
    calls: list[tuple[int, int, str]] = []
    context = JobContext(
        database, settings, "cli", params={**params, PROGRESS_PARAM: lambda *call: calls.append(call)}
    )
    return context, calls


def test_fetch_prices_reports_each_pair_done_out_of_all(database, peer_settings, frozen_clock) -> None:
    context, calls = _context(database, peer_settings, symbols=["BTC/USDT", "ETH/USDT"], limit=3)
    stats = market_jobs.fetch_prices(context)
    assert stats["new_bars"] == 6
    assert [call[:2] for call in calls] == [(1, 2), (2, 2)]
    assert {call[2] for call in calls} == {"bybit BTC/USDT", "bybit ETH/USDT"}


def test_news_jobs_report_feeds_and_articles_done(database, settings, news_peer_urls) -> None:
    feeds = [news_peer_urls.url("ru-1251"), news_peer_urls.url("error")]
    context, calls = _context(database, settings, feeds=feeds, limit=3)
    assert news_jobs.fetch_news(context)["new"] == 3
    assert calls == [(1, 2, ""), (2, 2, "")]
    context, calls = _context(database, settings, batch_size=2)
    assert news_jobs.analyze_news(context)["analyzed"] == 3
    assert calls == [(2, 3, ""), (3, 3, "")]


def test_a_progress_key_that_is_not_callable_is_ignored(database, settings) -> None:
    """Over the API the key can only carry JSON, which never reaches the job as a callback."""
    context = JobContext(database, settings, "api", params={PROGRESS_PARAM: "x", "batch_size": 5})
    outcome = run_job("analyze_news", news_jobs.analyze_news, context, JobLocks(database, settings))
    assert outcome.status == "ok" and outcome.stats["analyzed"] == 0


def test_a_running_jobs_progress_is_kept_in_its_row_for_watchers(database, settings) -> None:
    reported, finish = threading.Event(), threading.Event()

    def job(context: JobContext) -> dict[str, object]:
        report = progress_of(context)
        report(1, 3, "first")
        report(2, 3, "second pair")
        reported.set()
        assert finish.wait(30)
        return {"done": 3}

    outcome: list[object] = []
    worker = threading.Thread(
        target=lambda: outcome.append(
            run_job("slow", job, JobContext(database, settings, "api"), JobLocks(database, settings))
        )
    )
    worker.start()
    try:
        assert reported.wait(30)
        deadline = time.monotonic() + 30
        stats: dict[str, object] = {}
        while stats.get("progress", {}).get("done") != 2 and time.monotonic() < deadline:  # type: ignore[union-attr]
            time.sleep(0.05)
            with database.session(write=False) as session:
                stats = session.scalars(select(JobRun.stats).where(JobRun.job == "slow")).one()
        assert stats == {"progress": {"done": 2, "total": 3, "label": "second pair"}}
    finally:
        finish.set()
        worker.join(30)
    with database.session(write=False) as session:
        run = session.scalars(select(JobRun).where(JobRun.job == "slow")).one()
    assert run.status == "ok" and "progress" not in run.stats and run.stats["done"] == 3
