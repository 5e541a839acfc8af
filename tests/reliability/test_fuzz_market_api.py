"""Schemathesis over the Prices and Watchlist routes with the exchange peer running: never a 5xx."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from myassistant.api.app import create_app

MARKET_PATHS = ("/prices", "/watchlist")


def test_no_input_makes_a_market_operation_answer_5xx(peer_settings, database, frozen_clock) -> None:
    app = create_app(peer_settings, database=database)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures, fuzzed = [], 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if not operation.path.startswith(MARKET_PATHS):
            continue
        fuzzed += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=25,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case) -> None:
            case.call_and_validate(checks=[not_a_server_error])

        try:
            run()
        except Exception as exc:  # collect every failing operation
            failures.append(f"{operation.method.upper()} {operation.path}: {str(exc)[:2000]}")
    assert fuzzed == 8
    assert not failures, "\n\n".join(failures)
