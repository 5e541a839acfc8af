"""Schemathesis over the whole OpenAPI schema: bad input is a 4xx, never a 5xx (SPEC §15), and every
answer conforms to the schema (status, content type, body)."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis

from myassistant.api.app import create_app
from myassistant.market.exchange import CLIENTS
from tests.fixtures.exchange_peer import TEST_CLIENT_OPTIONS
from tests.reliability.fuzzing import all_operations, fuzz_all

CLOSED_PORT_FEED = "http://127.0.0.1:9/feed.rss"

# Operations that call outside peers are fuzzed in their own suites, with the peer running.
FUZZED_ELSEWHERE: dict[tuple[str, str], str] = {
    ("POST", "/notify/test"): "test_news_fuzz.py (with the Telegram peer)",
    ("POST", "/news/fetch"): "test_news_fuzz.py (feeds on loopback)",
    ("POST", "/prices/fetch"): "test_fuzz_market_api.py",
    ("POST", "/watchlist/discover"): "test_fuzz_market_api.py",
    ("POST", "/model/train"): "test_fuzz_model_api.py",
    ("POST", "/model/train_missing"): "test_fuzz_model_api.py",
    ("POST", "/dataset/build"): "test_fuzz_model_api.py (with prices stored), and here",
}
SKIPPED = {key for key, suite in FUZZED_ELSEWHERE.items() if not suite.endswith("and here")}
EXAMPLES_PER_OPERATION = 30


def stay_local(case: Any) -> None:
    """Jobs run for real through POST /automation/run: in this thread (no run outlives the test) and
    with feeds on a closed loopback port (the exchange and Telegram are already loopback)."""
    if case.path == "/automation/run" and isinstance(case.body, dict):
        case.body["wait"] = True
        if case.body.get("feeds"):
            case.body["feeds"] = [CLOSED_PORT_FEED]


def test_no_input_makes_any_operation_answer_5xx(make_settings, database) -> None:
    previous = CLIENTS.configure(TEST_CLIENT_OPTIONS)  # an unreachable exchange fails fast
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(make_settings(), database=database))
    operations = all_operations(schema)
    chosen = [op for op in operations if (op.method.upper(), op.path) not in SKIPPED]
    try:
        report = fuzz_all(chosen, max_examples=EXAMPLES_PER_OPERATION, adjust=stay_local)
    finally:
        CLIENTS.configure(previous)
    assert report.operations == len(operations) - len(SKIPPED)
    assert not report.failures, "\n\n".join(report.failures)


def test_every_operation_is_fuzzed_here_or_in_a_named_suite(make_settings, database) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(make_settings(), database=database))
    operations = {(operation.method.upper(), operation.path) for operation in all_operations(schema)}
    assert set(FUZZED_ELSEWHERE) <= operations  # a renamed route must not drop out of every suite


@pytest.mark.parametrize(
    "path",
    ["/memory", "/risk/policy", "/notify/config", "/model/active", "/model/policy", "/dataset/build"],
)
def test_the_fuzzer_covers_mutating_routes(make_settings, database, path: str) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(make_settings(), database=database))
    paths = {operation.path for operation in all_operations(schema)}
    assert path in paths
