"""The only place that reads the current time; tests swap in a frozen clock."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock:
    """A clock that stands still until told to move; thread-safe."""

    def __init__(self, at: datetime) -> None:
        self._at = ensure_utc(at)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._at

    def set(self, at: datetime) -> None:
        with self._lock:
            self._at = ensure_utc(at)

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        with self._lock:
            self._at += delta if delta is not None else timedelta(**kwargs)
            return self._at


_current: Clock = SystemClock()


def now() -> datetime:
    """Current time, tz-aware UTC."""
    return _current.now()


def current() -> Clock:
    """The clock in force (a FrozenClock in tests)."""
    return _current


def set_clock(clock: Clock) -> Clock:
    """Install `clock` and return the one it replaced."""
    global _current
    previous, _current = _current, clock
    return previous


@contextmanager
def frozen(at: datetime) -> Iterator[FrozenClock]:
    """Freeze time at `at` inside the block."""
    clock = FrozenClock(at)
    previous = set_clock(clock)
    try:
        yield clock
    finally:
        set_clock(previous)


def ensure_utc(value: datetime) -> datetime:
    """Naive datetimes are taken as UTC; aware ones are converted to UTC.

    A time with no UTC equivalent (year 9999 at UTC-14 lands past year 9999) raises ValueError, so a
    pydantic validator using this answers 422 instead of an OverflowError becoming a 500.
    """
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"time out of range: {value.isoformat()}") from None
