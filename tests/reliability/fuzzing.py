"""Schemathesis helpers shared by the fuzz suites."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error


def fuzz_operation(operation: Any, *, max_examples: int) -> None:
    """Send up to `max_examples` generated requests (reproducibly); raise on the first 5xx."""

    @given(case=operation.as_strategy())
    @settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        case.call_and_validate(checks=[not_a_server_error])

    run()
