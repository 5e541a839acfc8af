"""Training several pairs at once: joblib worker processes on this machine, Dask through the same seam.

Each worker loads its pair's frames, trains and commits in its own database session; the heavy work
happens before the worker's first statement, so SQLite writers queue only for their inserts.
Setting DASK_SCHEDULER_ADDRESS switches joblib's backend to an existing Dask cluster (SPEC §17).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import joblib
import pandas as pd

from myassistant.core.config import Settings
from myassistant.core.db import Database
from myassistant.core.errors import PreconditionFailed
from myassistant.ml.policy import ModelPolicy
from myassistant.ml.schemas import PairKey
from myassistant.ml.service import Costs, train_pair_from_frames
from myassistant.ml.training import TrainConfig

FramesLoader = Callable[[Settings, PairKey], tuple[pd.DataFrame, pd.DataFrame | None]]
DASK_ADDRESS_ENV = "DASK_SCHEDULER_ADDRESS"


@dataclass(frozen=True)
class PairTrained:
    """What one worker did for one pair."""

    pair: PairKey
    run_id: int
    status: str
    error: str | None
    promotion: str | None


@contextmanager
def parallel_backend(n_jobs: int) -> Iterator[None]:
    """loky processes by default; the Dask cluster named by DASK_SCHEDULER_ADDRESS when it is set."""
    address = os.environ.get(DASK_ADDRESS_ENV, "").strip()
    if not address:
        with joblib.parallel_config(backend="loky", n_jobs=n_jobs):
            yield
        return
    try:
        from distributed import Client  # type: ignore[import-not-found]  # optional: clusters only
    except ImportError:
        raise PreconditionFailed(f"{DASK_ADDRESS_ENV} is set but dask.distributed is not installed") from None
    with Client(address), joblib.parallel_config(backend="dask"):
        yield


def train_many(
    *,
    settings: Settings,
    pairs: Sequence[PairKey],
    frames_for: FramesLoader,
    policy: ModelPolicy,
    n_jobs: int = 2,
    costs: Costs | None = None,
    config: TrainConfig | None = None,
    source: str = "scheduler",
) -> list[PairTrained]:
    """Train every pair in parallel; `frames_for` must be picklable (a module-level function)."""
    if not pairs:
        return []
    task = joblib.delayed(_train_one)
    with parallel_backend(min(n_jobs, len(pairs))):
        results = joblib.Parallel()(
            task(settings, pair, frames_for, policy, costs, config, source) for pair in pairs
        )
    return list(results)


def _train_one(
    settings: Settings,
    pair: PairKey,
    frames_for: FramesLoader,
    policy: ModelPolicy,
    costs: Costs | None,
    config: TrainConfig | None,
    source: str,
) -> PairTrained:
    prices, news = frames_for(settings, pair)
    database = Database(settings.database_url, pool_size=1)
    try:
        with database.session() as session:
            outcome = train_pair_from_frames(
                session,
                settings=settings,
                **pair.model_dump(),
                prices=prices,
                news=news,
                policy=policy,
                costs=costs,
                config=config,
                source=source,
            )
    finally:
        database.dispose()
    return PairTrained(
        pair=pair,
        run_id=outcome.run.id,
        status=outcome.run.status,
        error=outcome.run.error,
        promotion=outcome.promotion.action if outcome.promotion else None,
    )
