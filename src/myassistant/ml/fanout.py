"""Training several pairs at once: joblib worker processes on this machine, Dask through the same seam.

Each worker loads its pair's frames (its own read-only connection), trains and writes the model
files; it never writes to the database. The caller's process records each run and its promotion as
results come back, so run times and promotion decisions follow one clock, SQLite has one writer,
and workers on a cluster need no write access. Setting DASK_SCHEDULER_ADDRESS switches joblib's
backend to an existing Dask cluster (SPEC §17).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import joblib
from sqlalchemy.orm import Session

from myassistant.core.config import Settings
from myassistant.core.errors import DomainError, PreconditionFailed
from myassistant.ml.dataset import Frames
from myassistant.ml.policy import ModelPolicy
from myassistant.ml.schemas import PairKey
from myassistant.ml.service import (
    Costs,
    FitAttempt,
    TrainingCrashed,
    TrainOutcome,
    attempt_fit,
    record_attempt,
)
from myassistant.ml.training import TrainConfig

FramesLoader = Callable[[Settings, PairKey], Frames]
DASK_ADDRESS_ENV = "DASK_SCHEDULER_ADDRESS"


@dataclass(frozen=True)
class PairTrained:
    """What training did for one pair: the recorded run and its promotion decision."""

    pair: PairKey
    outcome: TrainOutcome

    @property
    def run_id(self) -> int:
        return self.outcome.run.id

    @property
    def status(self) -> str:
        return self.outcome.run.status

    @property
    def error(self) -> str | None:
        return self.outcome.run.error

    @property
    def promotion(self) -> str | None:
        return self.outcome.promotion.action if self.outcome.promotion else None


@contextmanager
def parallel_backend(n_jobs: int) -> Iterator[None]:
    """loky processes by default; the Dask cluster named by DASK_SCHEDULER_ADDRESS when it is set."""
    address = os.environ.get(DASK_ADDRESS_ENV, "").strip()
    if not address:
        with joblib.parallel_config(backend="loky", n_jobs=n_jobs):
            yield
        return
    try:
        from distributed import Client  # optional: clusters only
    except ImportError:
        raise PreconditionFailed(f"{DASK_ADDRESS_ENV} is set but dask.distributed is not installed") from None
    with Client(address), joblib.parallel_config(backend="dask"):  # type: ignore[no-untyped-call]
        yield


def train_many(
    session: Session,
    *,
    settings: Settings,
    pairs: Sequence[PairKey],
    frames_for: FramesLoader,
    policy: ModelPolicy,
    n_jobs: int = 2,
    costs: Costs | None = None,
    config: TrainConfig | None = None,
    source: str = "scheduler",
    on_result: Callable[[PairTrained], None] | None = None,
) -> list[PairTrained]:
    """Train every pair in parallel and record each run here, committing one pair at a time.

    `frames_for` must be picklable (a module-level function or a partial of one). One pair (or
    `n_jobs=1`) trains in this process.
    """
    if not pairs:
        return []
    session.commit()  # no transaction (nor SQLite's write lock) is held while the workers train
    task = joblib.delayed(fit_in_worker)
    done: list[PairTrained] = []
    with parallel_backend(min(n_jobs, len(pairs))):
        attempts = joblib.Parallel(return_as="generator")(
            task(settings, pair, frames_for, policy, costs, config) for pair in pairs
        )
        for attempt in attempts:
            outcome = record_attempt(
                session, settings=settings, attempt=attempt, policy=policy, source=source
            )
            session.commit()
            trained = PairTrained(pair=attempt.pair, outcome=outcome)
            done.append(trained)
            if on_result is not None:
                on_result(trained)
    return done


def fit_in_worker(
    settings: Settings,
    pair: PairKey,
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
