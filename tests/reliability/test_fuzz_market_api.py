"""Schemathesis over the Prices and Watchlist routes with the exchange peer running: never a 5xx, and
every answer as the schema declares it."""

from __future__ import annotations

import schemathesis

from myassistant.api.app import create_app
from tests.reliability.fuzzing import all_operations, fuzz_all

MARKET_PATHS = ("/prices", "/watchlist")


def test_no_input_makes_a_market_operation_answer_5xx(peer_settings, database, frozen_clock) -> None:
    app = create_app(peer_settings, database=database)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = all_operations(schema)
    market = [operation for operation in operations if operation.path.startswith(MARKET_PATHS)]
    report = fuzz_all(market, max_examples=25)
    assert report.operations == 8
    assert not report.failures, "\n\n".join(report.failures)
