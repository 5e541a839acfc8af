"""Feed ingestion against the news peer over real loopback HTTP."""

from __future__ import annotations

import asyncio
import tracemalloc
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from myassistant.core.errors import InvalidInput
from myassistant.news import service, sources
from myassistant.news.schemas import FeedResult, FetchReport
from myassistant.news.tables import Article, Feed
from myassistant.peers import news as news_peer
from tests.conftest import FROZEN_AT


def _fetch(session, settings, feeds, options, **kwargs):
    return service.fetch_news(session, settings=settings, feeds=feeds, options=options, **kwargs)


def _by_name(report: FetchReport, urls: dict[str, str]) -> dict[str, FeedResult]:
    return {name: next(r for r in report.feeds if r.url == url) for name, url in urls.items()}


def _stored_urls(session: Session) -> set[str]:
    return set(session.scalars(select(Article.url)))


def _good(news_peer_urls) -> dict[str, str]:
    return {name: news_peer_urls.url(name) for name in news_peer.GOOD_PATHS}


def test_first_fetch_stores_every_unique_article_once(
    session, settings, news_peer_urls, fetch_options, frozen_clock
) -> None:
    urls = _good(news_peer_urls)
    report = _fetch(session, settings, list(urls.values()), fetch_options)
    results = _by_name(report, urls)

    expected = {news_peer_urls.article(slug) for slug in news_peer.unique_items()}
    assert _stored_urls(session) == expected
    assert report.new == len(expected) and report.errors == 0
    # Each twin differs from its original only by utm_* parameters and a #fragment.
    assert results["markets"].duplicate == 1 and results["world"].duplicate == 1
    assert results["moved"].new == len(news_peer.DEFI.items)  # the 301 was followed
    assert {a.first_seen_at for a in session.scalars(select(Article))} == {FROZEN_AT}


def test_second_fetch_adds_nothing_and_conditional_feeds_answer_304(
    session, settings, news_peer_urls, fetch_options, frozen_clock
) -> None:
    urls = _good(news_peer_urls)
    _fetch(session, settings, list(urls.values()), fetch_options)
    count = session.scalar(select(func.count()).select_from(Article))
    frozen_clock.advance(minutes=10)

    report = _fetch(session, settings, list(urls.values()), fetch_options)
    results = _by_name(report, urls)

    assert report.new == 0
    assert session.scalar(select(func.count()).select_from(Article)) == count
    assert results["markets"].status == "not_modified" and results["markets"].http_status == 304  # ETag
    assert results["altcoins"].status == "not_modified"  # Last-Modified
    assert results["world"].status == "ok" and results["world"].duplicate == len(news_peer.WORLD.items)
    feeds = {row.url: row for row in session.scalars(select(Feed))}
    assert feeds[urls["markets"]].etag and feeds[urls["altcoins"]].last_modified == news_peer.LAST_MODIFIED
    assert feeds[urls["markets"]].last_fetched_at == FROZEN_AT + timedelta(minutes=10)


def test_broken_feeds_are_reported_with_reasons_while_the_others_are_stored(
    session, settings, news_peer_urls, fetch_options
) -> None:
    good = _good(news_peer_urls)
    broken = {name: news_peer_urls.url(name) for name in news_peer.BROKEN_PATHS}
    report = _fetch(session, settings, [*good.values(), *broken.values()], fetch_options)
    results = _by_name(report, broken)

    assert results["malformed"].error is not None and "malformed XML" in results["malformed"].error
    assert results["slow"].error == f"timed out after {fetch_options.timeout_s:g} s"
    assert results["error"].error == "HTTP 500 Internal Server Error" and results["error"].http_status == 500
    assert results["huge"].error is not None and "too large" in results["huge"].error
    assert results["bomb"].error is not None and "entit" in results["bomb"].error
    assert results["notafeed"].error == "not an RSS or Atom feed"
    assert results["wrong-encoding"].error is not None and results["wrong-encoding"].error.startswith(
        "wrong encoding: document declared as utf-8"
    )
    assert all(results[name].status == "error" and results[name].new == 0 for name in broken)
    assert report.errors == len(broken)
    assert len(_stored_urls(session)) == len(news_peer.unique_items())


def test_oversized_and_entity_expansion_responses_are_refused_without_exhausting_memory(
    session, settings, news_peer_urls, fetch_options
) -> None:
    tracemalloc.start()
    try:
        report = _fetch(session, settings, news_peer_urls.broken("huge", "bomb"), fetch_options)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [r.status for r in report.feeds] == ["error", "error"]
    assert "5 MB" in report.feeds[0].error
    # The huge feed streams 6 MB: reading stops past the 5 MB cap; the bomb never expands.
    assert peak < 32 * 2**20
    assert _stored_urls(session) == set()


def test_windows_1251_feed_is_stored_as_correct_unicode(
    session, settings, news_peer_urls, fetch_options
) -> None:
    _fetch(session, settings, [news_peer_urls.url("ru-1251")], fetch_options)
    titles = set(session.scalars(select(Article.title)))
    assert titles == {item.title for item in news_peer.RU_1251.items}
    assert "Курс эфириума упал на 7% — «медведи» усилили давление" in titles
    feed = session.scalars(select(Feed)).one()
    assert feed.title == "Криптоновости"


def test_stored_articles_have_text_summaries_sources_and_dates(
    session, settings, news_peer_urls, fetch_options
) -> None:
    _fetch(session, settings, [news_peer_urls.url("markets"), news_peer_urls.url("world")], fetch_options)
    rows = {row.url.rsplit("/", 1)[1]: row for row in session.scalars(select(Article))}

    record = rows["btc-record-high"]
    assert record.summary == "Bitcoin rallied above its peak & spot ETFs saw strong inflows."
    assert "track()" not in rows["eth-bridge-hack"].summary
    assert record.source == "CoinWire Markets"
    assert record.published_at == news_peer.BASE_TIME - timedelta(minutes=5)
    assert record.published_status == "ok"
    assert (rows["weekly-roundup"].published_at, rows["weekly-roundup"].published_status) == (None, "missing")
    assert (rows["payments-pilot"].published_at, rows["payments-pilot"].published_status) == (
        None,
        "unparsable",
    )


def test_limit_takes_at_most_that_many_items_per_feed(
    session, settings, news_peer_urls, fetch_options
) -> None:
    report = _fetch(session, settings, news_peer_urls.generated(3, 20), fetch_options, limit=5)
    assert [r.new for r in report.feeds] == [5, 5, 5]


def test_feed_health_counts_consecutive_failures_and_resets_on_success(
    session, settings, news_peer_urls, fetch_options, frozen_clock
) -> None:
    error_url = news_peer_urls.url("error")
    for _ in range(3):
        _fetch(session, settings, [error_url, news_peer_urls.url("world")], fetch_options)
        frozen_clock.advance(minutes=10)
    feeds = {row.url: row for row in session.scalars(select(Feed))}
    failing = feeds[error_url]
    assert (failing.consecutive_failures, failing.last_status, failing.last_http_status) == (3, "error", 500)
    assert failing.last_error == "HTTP 500 Internal Server Error"
    assert failing.last_success_at is None
    healthy = feeds[news_peer_urls.url("world")]
    assert (healthy.consecutive_failures, healthy.last_status, healthy.last_error) == (0, "ok", None)
    assert [f.url for f in service.list_feeds(session, min_consecutive_failures=3)] == [error_url]


def test_a_failing_fetch_never_loses_stored_articles(
    session, settings, news_peer_urls, fetch_options
) -> None:
    _fetch(session, settings, [news_peer_urls.url("markets")], fetch_options)
    before = _stored_urls(session)
    report = _fetch(session, settings, news_peer_urls.broken("error", "malformed", "slow"), fetch_options)
    assert report.errors == 3
    assert _stored_urls(session) == before


def test_unreachable_feed_is_reported_as_a_connection_failure(session, settings, fetch_options) -> None:
    report = _fetch(session, settings, ["http://127.0.0.1:9/feed.rss"], fetch_options)
    (result,) = report.feeds
    assert result.status == "error" and result.error.startswith("connection failed")


@pytest.mark.parametrize(
    "bad", ["ftp://127.0.0.1/feed", "file:///etc/passwd", "javascript:alert(1)", "feed.rss"]
)
def test_only_http_feed_urls_are_accepted(session, settings, bad: str) -> None:
    with pytest.raises(InvalidInput, match="not an http"):
        service.fetch_news(session, settings=settings, feeds=["http://127.0.0.1:9/ok.rss", bad])
    assert session.scalar(select(func.count()).select_from(Feed)) == 0


def test_configured_feeds_are_used_when_none_are_given(
    session, make_settings, news_peer_urls, fetch_options
) -> None:
    settings = make_settings(news_feeds=[news_peer_urls.url("ru-1251")])
    report = service.fetch_news(session, settings=settings, options=fetch_options)
    assert [(r.url, r.new) for r in report.feeds] == [(news_peer_urls.url("ru-1251"), 4)]


def test_fetch_options_come_from_the_news_fetch_config_document(session) -> None:
    from myassistant.core import configdocs

    configdocs.patch(session, service.FETCH_CONFIG, {"timeout_s": 2.5, "concurrency": 3})
    assert service.fetch_options(session) == sources.FetchOptions(timeout_s=2.5, concurrency=3)


def test_fetch_works_when_called_from_inside_a_running_event_loop(
    session, settings, news_peer_urls, fetch_options
) -> None:
    async def caller():
        return _fetch(session, settings, [news_peer_urls.url("ru-1251")], fetch_options)

    assert asyncio.run(caller()).new == 4


def test_progress_reports_each_feed(session, settings, news_peer_urls, fetch_options) -> None:
    seen: list[tuple[int, int]] = []
    _fetch(
        session,
        settings,
        news_peer_urls.generated(3, 2),
        fetch_options,
        progress=lambda d, t: seen.append((d, t)),
    )
    assert seen == [(1, 3), (2, 3), (3, 3)]
