"""A feed that fails for a moment is asked again with backoff; one that keeps failing is reported once."""

from __future__ import annotations

from dataclasses import replace

from myassistant.news import service
from myassistant.news.tables import Article


def _fetch(session, settings, feeds, options):
    return service.fetch_news(session, settings=settings, feeds=feeds, options=options)


def test_a_feed_that_answers_503_twice_is_stored_on_the_third_attempt(
    session, settings, news_peer_urls, fetch_options
) -> None:
    url = news_peer_urls.flaky("third-time", fail=2)
    result = _fetch(session, settings, [url], fetch_options).feeds[0]
    assert (result.status, result.attempts, result.error) == ("ok", 3, None)
    assert result.new > 0 and session.query(Article).count() == result.new


def test_a_feed_still_failing_after_every_retry_is_reported_with_the_attempts(
    session, settings, news_peer_urls, fetch_options
) -> None:
    url = news_peer_urls.flaky("never", fail=99)
    result = _fetch(session, settings, [url], replace(fetch_options, retries=1)).feeds[0]
    assert (result.status, result.http_status, result.attempts) == ("error", 503, 2)
    assert result.error == "HTTP 503 Service Unavailable"


def test_server_errors_are_retried_but_timeouts_and_bad_feeds_are_not(
    session, settings, news_peer_urls, fetch_options
) -> None:
    names = ("error", "slow", "malformed", "notafeed")
    report = _fetch(session, settings, [news_peer_urls.url(n) for n in names], fetch_options)
    attempts = {name: r.attempts for name, r in zip(names, report.feeds, strict=True)}
    assert attempts == {"error": 1 + fetch_options.retries, "slow": 1, "malformed": 1, "notafeed": 1}


def test_with_retries_off_a_transient_failure_is_reported_at_once(
    session, settings, news_peer_urls, fetch_options
) -> None:
    url = news_peer_urls.flaky("no-retries", fail=1)
    result = _fetch(session, settings, [url], replace(fetch_options, retries=0)).feeds[0]
    assert (result.status, result.attempts) == ("error", 1)


def test_retry_settings_are_a_config_document_over_the_api(client) -> None:
    assert client.get("/news/fetch_config").json()["value"]["retries"] == 2
    updated = client.post("/news/fetch_config", json={"retries": 0, "retry_backoff_s": 1.5})
    assert updated.status_code == 200 and updated.json()["value"]["retries"] == 0
    refused = client.post("/news/fetch_config", json={"retries": 9})
    assert refused.status_code == 422 and "retries" in refused.text
