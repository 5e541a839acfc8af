"""The one table of jobs and their schedules; the scheduler, CLI and API read it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from myassistant.core.config import Settings
from myassistant.core.errors import InvalidInput
from myassistant.jobs.runner import JobFunc, parse_params

# A run's lock key from its parsed params and the settings (their defaults complete a pair).
LockKey = Callable[[Any, Settings], str]


@dataclass(frozen=True)
class JobDefinition:
    name: str
    func: JobFunc
    trigger: str  # "cron" or "interval"
    trigger_args: dict[str, Any]
    description: str
    params: type[BaseModel] | None = None  # what a manual run may pass; None: passed on unchecked
    # Runs for different keys (pairs) may go on at once; runs for the same key never overlap.
    lock_key: LockKey | None = None

    def check_params(self, params: Mapping[str, Any], settings: Settings) -> str | None:
        """422 for invalid params, before the run starts (no lock taken, no job_runs row); the run's
        lock key when the job locks per key."""
        if self.params is None:
            return None
        parsed = parse_params(self.params, params)
        return self.lock_key(parsed, settings) if self.lock_key is not None else None


def every(minutes: int, *, offset_s: int = 0) -> tuple[str, dict[str, Any]]:
    """Every `minutes` on the clock (:00, :15, ...), `offset_s` seconds late (just after a bar closes)."""
    return "cron", {"minute": f"*/{minutes}", "second": offset_s}


def daily(hour: int, minute: int = 0) -> tuple[str, dict[str, Any]]:
    return "cron", {"hour": hour, "minute": minute}


def define(
    name: str,
    func: JobFunc,
    schedule: tuple[str, dict[str, Any]],
    description: str,
    *,
    params: type[BaseModel] | None = None,
    lock_key: LockKey | None = None,
) -> JobDefinition:
    trigger, args = schedule
    return JobDefinition(
        name=name,
        func=func,
        trigger=trigger,
        trigger_args=args,
        description=description,
        params=params,
        lock_key=lock_key,
    )


class JobTable:
    """Named jobs in registration order."""

    def __init__(self, definitions: tuple[JobDefinition, ...] = (), *, kind: str = "job") -> None:
        self._jobs = {definition.name: definition for definition in definitions}
        self.kind = kind

    def names(self) -> list[str]:
        return list(self._jobs)

    def all(self) -> list[JobDefinition]:
        return list(self._jobs.values())

    def get(self, name: str) -> JobDefinition:
        try:
            return self._jobs[name]
        except KeyError:
            valid = ", ".join(self.names()) or "none"
            raise InvalidInput(f"unknown {self.kind} {name!r}; valid {self.kind}s: {valid}") from None
