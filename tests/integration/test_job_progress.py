"""The progress callback a caller (the CLI's progress bar) passes to a job under PROGRESS_PARAM."""

from __future__ import annotations

from myassistant.jobs.runner import PROGRESS_PARAM, JobContext, JobLocks, run_job
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
