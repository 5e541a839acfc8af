"""Fitting several pairs at once: joblib worker processes on this machine, Dask through the same seam.

Each worker loads its pair's frames (its own read-only connection), fits and writes the model files;
it never writes to the database. The caller records each attempt as it comes back, so run times and
promotion decisions follow one clock, SQLite has one writer, and workers on a cluster need no write
access. The DASK_SCHEDULER_ADDRESS setting switches joblib's backend to an existing Dask cluster
(SPEC §17). Local worker processes are released as soon as a fan-out ends: an idle service must not
keep a few hundred MB of trainers alive.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from myassistant.core.config import Settings
from myassistant.core.errors import DomainError, PreconditionFailed
from myassistant.market.logic import Pair
from myassistant.ml.dataset import Frames
from myassistant.ml.fitting import Costs, FitAttempt, TrainingCrashed, attempt_fit
from myassistant.ml.policy import ModelPolicy
from myassistant.ml.training import TrainConfig

FramesLoader = Callable[[Settings, Pair], Frames]


@contextmanager
def parallel_backend(n_jobs: int, *, dask_address: str | None = None) -> Iterator[None]:
    """loky processes by default; the Dask cluster at `dask_address` (DASK_SCHEDULER_ADDRESS) when given."""
    import joblib

    if not dask_address:
        try:
            with joblib.parallel_config(backend="loky", n_jobs=n_jobs):
                yield
        finally:
            release_workers()
        return
    try:
        from distributed import Client
    except ImportError:
        raise PreconditionFailed(
            "DASK_SCHEDULER_ADDRESS is set but dask.distributed is not installed: pip install distributed"
        ) from None
    with Client(dask_address), joblib.parallel_config(backend="dask"):  # type: ignore[no-untyped-call]
        yield


def release_workers() -> None:
    """Stop joblib's local worker processes now, not after their idle timeout (5 minutes); a fan-out in
    progress fails. Called when a fan-out ends and when the service stops."""
    from joblib.externals.loky import get_reusable_executor

    get_reusable_executor().shutdown(wait=True, kill_workers=True)


def fit_many(
    *,
    settings: Settings,
    pairs: Sequence[Pair],
    frames_for: FramesLoader,
    policy: ModelPolicy,
    n_jobs: int = 2,
    costs: Costs | None = None,
    config: TrainConfig | None = None,
) -> Iterator[FitAttempt]:
    """Fit every pair in parallel, yielding each attempt (in order) as it finishes.

    `frames_for` must be picklable (a module-level function or a partial of one). One pair (or
    `n_jobs=1`) fits in this process.
    """
    if not pairs:
        return
    import joblib

    task = joblib.delayed(fit_in_worker)
    with parallel_backend(min(n_jobs, len(pairs)), dask_address=settings.dask_scheduler_address):
        yield from joblib.Parallel(return_as="generator")(
            task(settings, pair, frames_for, policy, costs, config) for pair in pairs
        )


def fit_in_worker(
    settings: Settings,
    pair: Pair,
    frames_for: FramesLoader,
    policy: ModelPolicy,
    costs: Costs | None,
    config: TrainConfig | None,
) -> FitAttempt:
    """Load the pair's frames and fit; every failure comes back as the attempt's error."""
    started = time.perf_counter()
    try:
        frames = frames_for(settings, pair)
    except DomainError as exc:
        return FitAttempt(pair=pair, fitted=None, error=exc, duration_s=time.perf_counter() - started)
    except Exception as exc:  # the parent records it as a crashed run
        crash = TrainingCrashed(f"loading the frames crashed: {type(exc).__name__}: {exc}")
        return FitAttempt(pair=pair, fitted=None, error=crash, duration_s=time.perf_counter() - started)
    return attempt_fit(settings=settings, pair=pair, frames=frames, policy=policy, costs=costs, config=config)
