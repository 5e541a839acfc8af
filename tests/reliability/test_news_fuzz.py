"""Fuzzing the News routes and POST /notify/test: never a 5xx, every answer as the schema declares it,
and fetching never leaves loopback."""

from __future__ import annotations

import zlib
from typing import Any

import schemathesis

from myassistant.api.app import create_app
from myassistant.api.routes.notify import get_client_factory
from myassistant.core import configdocs
from myassistant.news.service import FETCH_CONFIG
from tests.fixtures.telegram_peer import fast_client_factory, set_notify_config
from tests.reliability.fuzzing import all_operations, fuzz_all

FETCH = ("POST", "/news/fetch")
CLOSED_PORT = "http://127.0.0.1:9"


def _operations(app: Any, wanted: set[tuple[str, str]] | None = None, prefix: str = "") -> list[Any]:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = all_operations(schema)
    return [
        op
        for op in operations
        if (wanted is None or (op.method.upper(), op.path) in wanted) and op.path.startswith(prefix)
    ]


def test_news_reads_analyze_and_fetch_config_conform(make_settings, database) -> None:
    app = create_app(make_settings(), database=database)
    operations = [op for op in _operations(app, prefix="/news/") if (op.method.upper(), op.path) != FETCH]
    report = fuzz_all(operations, max_examples=40)
    assert report.operations == 7  # five reads and analyze, GET/POST /news/fetch_config
    assert not report.failures, "\n\n".join(report.failures)


def test_fetch_conforms_with_feeds_on_loopback(make_settings, database, news_peer_urls) -> None:
    """Each generated feed URL becomes, by its hash, a good feed of the news peer, a broken one or a
    closed port: the feeds vary, and no request leaves the machine."""
    app = create_app(make_settings(), database=database)
    with database.session() as session:  # one quick attempt per feed: the retries have their own tests
        configdocs.patch(session, FETCH_CONFIG, {"retries": 0, "timeout_s": 5.0})
    broken = news_peer_urls.broken("error", "malformed")
    targets = [*news_peer_urls.good(), *broken, f"{CLOSED_PORT}/feed.rss"]

    def on_loopback(case: Any) -> None:
        if isinstance(case.body, dict) and isinstance(case.body.get("feeds"), list):
            case.body["feeds"] = [
                targets[zlib.crc32(str(url).encode()) % len(targets)] for url in case.body["feeds"]
            ]

    report = fuzz_all(_operations(app, {FETCH}), max_examples=40, adjust=on_loopback)
    assert report.operations == 1
    assert not report.failures, "\n\n".join(report.failures)


def test_notify_test_conforms_whatever_telegram_answers(make_settings, database, telegram_peer) -> None:
    app = create_app(make_settings(telegram_api_base=telegram_peer.url), database=database)
    app.dependency_overrides[get_client_factory] = lambda: fast_client_factory
    operations = _operations(app, {("POST", "/notify/test")})
    unconfigured = fuzz_all(operations, max_examples=3)  # 412: no token or chat yet
    with database.session() as session:
        set_notify_config(session, telegram_peer)
    configured = fuzz_all(operations, max_examples=3)  # 200: delivered
    telegram_peer.state.fail_next("*", 401, times=10)
    refused = fuzz_all(operations, max_examples=3)  # 502: Telegram refused the token
    for report in (unconfigured, configured, refused):
        assert not report.failures, "\n\n".join(report.failures)
    assert [dict(r.positive_statuses["POST /notify/test"]) for r in (unconfigured, configured)] == [
        {412: 1},
        {200: 1},
    ]
    assert 502 in refused.positive_statuses["POST /notify/test"]
