"""Timing helpers shared by the benches: best wall time of N runs, per-call latencies, percentiles."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import TypeVar

import numpy as np

T = TypeVar("T")


def best_of(action: Callable[[], T], repeat: int = 1) -> tuple[float, T]:
    """Best wall time (seconds) of `repeat` runs of `action`, and the last run's result."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - started)
    return min(times), result


def millis_per_call(calls: Iterable[Callable[[], object]]) -> np.ndarray:
    """Milliseconds each call took, in order."""
    out = []
    for call in calls:
        started = time.perf_counter()
        call()
        out.append((time.perf_counter() - started) * 1000)
    return np.array(out)


def percentiles(samples: Iterable[float] | np.ndarray, *qs: float) -> tuple[float, ...]:
    """The `qs` percentiles (0-100) of `samples`, linearly interpolated (numpy's default)."""
    return tuple(float(v) for v in np.percentile(np.asarray(list(samples), dtype=float), qs))
