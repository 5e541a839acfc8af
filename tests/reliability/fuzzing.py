"""Schemathesis helpers shared by the fuzz suites: every response must conform to the schema.

Each generated request is checked for a 5xx (a 502/503 only where declared) and for conformance: the
status is one the operation declares, the content type is a declared one, and the body validates
against the declared schema.
Cases are generated from the schema (positive) and against it (negative), reproducibly.
(Schemathesis' pytest integration, `from_fixture`, does not work with pytest 9: the helpers loop over
the schema's operations themselves.)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Err
from schemathesis.schemas import APIOperation, BaseSchema
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)


def all_operations(schema: BaseSchema) -> list[APIOperation]:
    """Every operation of the schema; one that schemathesis cannot read fails the test with its reason."""
    operations = []
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            raise result.err()
        operations.append(result.ok())
    return operations


def no_undeclared_server_error(ctx: Any, response: Any, case: Any) -> bool | None:
    """A 500 always fails; a 502 or 503 only where the operation declares it (an outside peer failed)."""
    status = response.status_code
    if status == 500 or (status >= 500 and str(status) not in case.operation.responses.status_codes):
        return not_a_server_error(ctx, response, case)
    return None


CHECKS = [
    no_undeclared_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Negative cases mostly meet the same validation; a third of the positive budget covers it.
NEGATIVE_SHARE = 3


@dataclass
class FuzzReport:
    """What a fuzz run covered and found."""

    operations: int = 0
    cases: dict[str, int] = field(default_factory=lambda: {"positive": 0, "negative": 0})
    failures: list[str] = field(default_factory=list)
    # "POST /memory" -> status -> how many positive cases got it
    positive_statuses: dict[str, Counter[int]] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.cases.values())

    def summary(self) -> str:
        return (
            f"{self.operations} operations, {self.total} cases "
            f"({self.cases['positive']} positive, {self.cases['negative']} negative), "
            f"{len(self.failures)} failing"
        )


def _has_input(operation: Any) -> bool:
    return bool(list(operation.iter_parameters())) or bool(operation.body)


def fuzz_operation(
    operation: Any,
    *,
    max_examples: int,
    report: FuzzReport | None = None,
    adjust: Callable[[Any], Any] | None = None,
) -> None:
    """Send up to `max_examples` positive and a third as many negative requests; raise on the first
    response that is an undeclared 5xx or does not conform. `adjust` may edit each case before it is sent."""
    report = report if report is not None else FuzzReport()
    _fuzz(operation, GenerationMode.POSITIVE, max_examples, report, adjust)
    if _has_input(operation):
        _fuzz(operation, GenerationMode.NEGATIVE, max(1, max_examples // NEGATIVE_SHARE), report, adjust)


def _fuzz(
    operation: Any,
    mode: GenerationMode,
    examples: int,
    report: FuzzReport,
    adjust: Callable[[Any], Any] | None,
) -> None:
    label = f"{operation.method.upper()} {operation.path}"

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],  # no shrinking: the first failure is reported as is
    )
    def run(case: Any) -> None:
        if adjust is not None:
            adjust(case)
        report.cases[mode.value] += 1
        response = case.call_and_validate(checks=CHECKS)
        if mode is GenerationMode.POSITIVE:
            report.positive_statuses.setdefault(label, Counter())[response.status_code] += 1

    run()


def fuzz_all(
    operations: Iterable[Any],
    *,
    max_examples: int | Callable[[Any], int],
    adjust: Callable[[Any], Any] | None = None,
) -> FuzzReport:
    """Fuzz every operation in turn, collecting one message per failing operation (every failure, not
    just the first). `max_examples` is a count for all, or a function of the operation giving its count."""
    report = FuzzReport()
    for operation in operations:
        count = max_examples(operation) if callable(max_examples) else max_examples
        report.operations += 1
        try:
            fuzz_operation(operation, max_examples=count, report=report, adjust=adjust)
        except (Exception, FailureGroup) as exc:  # collect every failing operation (a group is no Exception)
            report.failures.append(f"{operation.method.upper()} {operation.path}: {str(exc)[:3000]}")
    print(f"\nschema fuzzing: {report.summary()}")
    return report
