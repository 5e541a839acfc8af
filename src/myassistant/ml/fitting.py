"""Fitting one pair's model: features, labels, training and the model files, without the database.

Runs in this process or in a worker (joblib, Dask); the caller records what came back.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from datetime import datetime

import pandas as pd

from myassistant.core import clock
from myassistant.core.config import Settings
from myassistant.core.errors import DomainError, InvalidInput
from myassistant.market.logic import Pair
from myassistant.ml.artifacts import SavedModel, save_model
from myassistant.ml.dataset import Frames, dataset_from_frames
from myassistant.ml.policy import HeadToHead, ModelPolicy, NotComparable
from myassistant.ml.predictors import Predictor
from myassistant.ml.training import (
    MIN_PART_ROWS,
    Holdout,
    TrainConfig,
    TrainingResult,
    holdout_of,
    rows_from,
    score_on,
    train,
)
from myassistant.trading.costs import DEFAULT_FEE_BPS, DEFAULT_SLIPPAGE_BPS, rates_from_bps
from myassistant.trading.logic import BrokerSettings

logger = logging.getLogger("myassistant.ml")


class TrainingCrashed(DomainError):
    """Training failed for a reason that is not the caller's (a bug or a library error)."""

    status_code = 500


@dataclass(frozen=True)
class Costs:
    fee_bps: float = DEFAULT_FEE_BPS
    slippage_bps: float = DEFAULT_SLIPPAGE_BPS


def costs_of(broker: BrokerSettings) -> Costs:
    """The paper broker's fee and slippage: models are labelled and judged with what trades pay."""
    return Costs(fee_bps=float(broker.fee_bps), slippage_bps=float(broker.slippage_bps))


@dataclass(frozen=True)
class Fitted:
    """A trained and saved model, before anything is written to the database."""

    result: TrainingResult
    saved: SavedModel
    data_start: datetime
    data_end: datetime
    holdout: Holdout  # the test rows, to score the pair's current model on the same data


@dataclass(frozen=True)
class FitAttempt:
    """The result of fitting one pair (in this process or a worker): the model, or why it failed."""

    pair: Pair
    fitted: Fitted | None
    error: DomainError | None
    duration_s: float


@dataclass(frozen=True)
class Trained:
    """A trained model and what it was trained on, nothing saved yet."""

    result: TrainingResult
    data_start: datetime
    data_end: datetime
    holdout: Holdout  # the test rows, to score another model on the same data


def train_frames(
    *, pair: Pair, frames: Frames, policy: ModelPolicy, costs: Costs, config: TrainConfig
) -> Trained:
    """Features → labels → purged splits → training → threshold on validation; no file, no database."""
    try:
        rates = rates_from_bps(costs.fee_bps, costs.slippage_bps)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from exc
    dataset = dataset_from_frames(
        frames, symbol=pair.symbol, timeframe=pair.timeframe, horizon_steps=pair.horizon_steps, rates=rates
    )
    result = train(dataset, rates=rates, min_train_rows=policy.min_train_rows, config=config)
    index = dataset.features.index
    return Trained(
        result=replace(result, candidates={}),  # only the chosen model travels back from a worker
        data_start=index[0].to_pydatetime(),
        data_end=index[-1].to_pydatetime(),
        holdout=holdout_of(dataset, result.split, rates),
    )


def fit_pair(
    *,
    settings: Settings,
    pair: Pair,
    frames: Frames,
    policy: ModelPolicy,
    costs: Costs,
    config: TrainConfig,
) -> Fitted:
    """`train_frames`, then the model files; pure computation plus the artifact files."""
    trained = train_frames(pair=pair, frames=frames, policy=policy, costs=costs, config=config)
    result = trained.result
    details = {
        "threshold": result.threshold,
        "costs": {"fee_bps": costs.fee_bps, "slippage_bps": costs.slippage_bps},
        "data_range": {"start": trained.data_start.isoformat(), "end": trained.data_end.isoformat()},
        "news_since": frames.news_since.isoformat() if frames.news_since else None,
        "rows": result.rows,
        "metrics": result.metrics,
    }
    saved = save_model(
        result.predictor,
        artifacts_dir=settings.artifacts_dir,
        exchange=pair.exchange,
        symbol=pair.symbol,
        timeframe=pair.timeframe,
        horizon_steps=pair.horizon_steps,
        created_at=clock.now(),
        details=details,
    )
    return Fitted(
        result=result,
        saved=saved,
        data_start=trained.data_start,
        data_end=trained.data_end,
        holdout=trained.holdout,
    )


def attempt_fit(
    *,
    settings: Settings,
    pair: Pair,
    frames: Frames,
    policy: ModelPolicy,
    costs: Costs | None = None,
    config: TrainConfig | None = None,
) -> FitAttempt:
    """`fit_pair` with every failure caught: nothing is raised, nothing touches the database."""
    started = time.perf_counter()
    fitted: Fitted | None = None
    error: DomainError | None = None
    try:
        fitted = fit_pair(
            settings=settings,
            pair=pair,
            frames=frames,
            policy=policy,
            costs=costs or Costs(),
            config=config or TrainConfig(),
        )
    except DomainError as exc:
        error = exc
    except Exception as exc:  # a crash must still leave its run row; the traceback goes to the log
        logger.exception("training %s %s %s h%s crashed", *pair.key())
        error = TrainingCrashed(f"training crashed: {type(exc).__name__}: {exc}")
    return FitAttempt(pair=pair, fitted=fitted, error=error, duration_s=time.perf_counter() - started)


def head_to_head(
    holdout: Holdout,
    *,
    candidate: Predictor,
    candidate_threshold: float,
    current: Predictor,
    current_threshold: float,
    current_test_start: pd.Timestamp,
    current_name: str,
) -> HeadToHead | NotComparable:
    """Both models on the candidate's test rows from where the current model's own test part began."""
    rows = rows_from(holdout, current_test_start)
    if len(rows) < MIN_PART_ROWS:
        return NotComparable(f"only {len(rows)} of the new test rows are out of sample for {current_name}")
    missing = set(current.features) - set(holdout.dataset.feature_names)
    if missing:
        return NotComparable(f"{current_name} uses features the new data lacks: {sorted(missing)}")
    new = score_on(holdout, rows, candidate, candidate_threshold)
    old = score_on(holdout, rows, current, current_threshold)
    index = holdout.dataset.features.index
    return HeadToHead(
        rows=len(rows),
        start=index[rows[0]].to_pydatetime(),
        end=index[rows[-1]].to_pydatetime(),
        candidate_auc=new.auc,
        candidate_return=new.total_return,
        current_auc=old.auc,
        current_return=old.total_return,
    )
