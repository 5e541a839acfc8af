"""Schemathesis over the whole OpenAPI schema: bad input is a 4xx, never a 5xx (SPEC §15)."""

from __future__ import annotations

import pytest
import schemathesis

from myassistant.api.app import create_app
from tests.reliability.fuzzing import fuzz_all

# Routes that call outside peers are fuzzed in their own suites, with the peer running.
SKIPPED_PATHS: tuple[str, ...] = (
    "/notify/test",  # sends to Telegram; 502/503 are its answers (tests/api/test_notify_api.py)
    "/news/fetch",  # fetches any URL; fuzzed with loopback URLs in tests/reliability/test_news_fuzz.py
    "/prices/fetch",  # calls the exchange; fuzzed against the exchange peer in the market suite
    "/watchlist/discover",  # likewise
    "/model/train",  # /model/train and /model/train_missing fetch history: fuzzed in test_fuzz_model_api.py
)
EXAMPLES_PER_OPERATION = 30


def test_no_input_makes_any_operation_answer_5xx(make_settings, database) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(make_settings(), database=database))
    operations = [result.ok() for result in schema.get_all_operations()]
    chosen = [operation for operation in operations if not operation.path.startswith(SKIPPED_PATHS)]
    fuzzed = len(chosen)
    failures = fuzz_all(chosen, max_examples=EXAMPLES_PER_OPERATION)
    assert fuzzed > 0
    assert not failures, "\n\n".join(failures)


@pytest.mark.parametrize(
    "path",
    ["/memory", "/risk/policy", "/notify/config", "/model/active", "/model/policy", "/dataset/build"],
)
def test_the_fuzzer_covers_mutating_routes(make_settings, database, path: str) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(make_settings(), database=database))
    paths = {result.ok().path for result in schema.get_all_operations()}
    assert path in paths
