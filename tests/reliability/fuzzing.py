"""Schemathesis helpers shared by the fuzz suites."""

from __future__ import annotations

from collections.abc import Callable, Iterable
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


def fuzz_all(operations: Iterable[Any], *, max_examples: int | Callable[[Any], int]) -> list[str]:
    """Fuzz every operation in turn; one message per failing operation (every failure, not just the first).

    `max_examples` is a count for all, or a function of the operation giving its count.
    """
    failures = []
    for operation in operations:
        count = max_examples(operation) if callable(max_examples) else max_examples
        try:
            fuzz_operation(operation, max_examples=count)
        except Exception as exc:  # collect every failing operation
            failures.append(f"{operation.method.upper()} {operation.path}: {str(exc)[:2000]}")
    return failures
