"""Model services: train a pair from its frames, list runs and promotions, pins, policy and health."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from myassistant.core import clock, configdocs
from myassistant.core.config import Settings
from myassistant.core.errors import DomainError, InvalidInput
from myassistant.ml import registry
from myassistant.ml.artifacts import SavedModel, save_model
from myassistant.ml.dataset import build_dataset
from myassistant.ml.policy import MODEL_POLICY, ModelPolicy, health_status
from myassistant.ml.schemas import (
    ActiveModelRead,
    ActiveModelUpdate,
    ModelHealthRead,
    ModelRunRead,
    PairKey,
    PromotionRead,
    RunBrief,
)
from myassistant.ml.tables import ModelPromotion, ModelRun
from myassistant.ml.training import TrainConfig, TrainingResult, train
from myassistant.trading.costs import DEFAULT_FEE_BPS, DEFAULT_SLIPPAGE_BPS, rates_from_bps

logger = logging.getLogger("myassistant.ml")


class TrainingCrashed(DomainError):
    """Training failed for a reason that is not the caller's (a bug or a library error)."""

    status_code = 500


@dataclass(frozen=True)
class Costs:
    fee_bps: float = DEFAULT_FEE_BPS
    slippage_bps: float = DEFAULT_SLIPPAGE_BPS


@dataclass(frozen=True)
class Fitted:
    """A trained and saved model, before anything is written to the database."""

    result: TrainingResult
    saved: SavedModel
    data_start: datetime
    data_end: datetime


@dataclass(frozen=True)
class TrainOutcome:
    """The recorded run, the promotion decision, and the error when the run failed.

    A failed run is recorded, not raised, so the caller's transaction can commit it; an API route
    answers `error.status_code` with `error.detail` and the run id.
    """

    run: ModelRunRead
    promotion: PromotionRead | None
    error: DomainError | None


def fit_pair(
    *,
    settings: Settings,
    pair: PairKey,
    prices: pd.DataFrame,
    news: pd.DataFrame | None,
    policy: ModelPolicy,
    costs: Costs,
    config: TrainConfig,
) -> Fitted:
    """Features → labels → training → model files; pure computation plus the artifact files."""
    try:
        rates = rates_from_bps(costs.fee_bps, costs.slippage_bps)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from exc
    dataset = build_dataset(
        prices,
        news,
        symbol=pair.symbol,
        timeframe=pair.timeframe,
        horizon_steps=pair.horizon_steps,
        rates=rates,
    )
    result = train(dataset, rates=rates, min_train_rows=policy.min_train_rows, config=config)
    index = dataset.features.index
    details = {
        "threshold": result.threshold,
        "costs": {"fee_bps": costs.fee_bps, "slippage_bps": costs.slippage_bps},
        "data_range": {"start": index[0].isoformat(), "end": index[-1].isoformat()},
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
        result=result, saved=saved, data_start=index[0].to_pydatetime(), data_end=index[-1].to_pydatetime()
    )


def train_pair_from_frames(
    session: Session,
    *,
    settings: Settings,
    exchange: str,
    symbol: str,
    timeframe: str,
    horizon_steps: int,
    prices: pd.DataFrame,
    news: pd.DataFrame | None,
    policy: ModelPolicy | None = None,
    costs: Costs | None = None,
    config: TrainConfig | None = None,
    source: str = "api",
) -> TrainOutcome:
    """Train one pair, record the run (failures too) and consider promoting it.

    The heavy work runs before the first statement on `session` when `policy` is given, so a
    caller that has not started a transaction holds SQLite's write lock only for the inserts.
    """
    pair = PairKey.of(exchange=exchange, symbol=symbol, timeframe=timeframe, horizon_steps=horizon_steps)
    policy = policy or get_policy(session)
    started = time.perf_counter()
    try:
        fitted = fit_pair(
            settings=settings,
            pair=pair,
            prices=prices,
            news=news,
            policy=policy,
            costs=costs or Costs(),
            config=config or TrainConfig(),
        )
    except DomainError as exc:
        return _failed(session, pair, source, exc, time.perf_counter() - started)
    except Exception as exc:  # a crash must still leave its run row; the traceback goes to the log
        logger.exception("training %s %s %s h%s crashed", exchange, symbol, timeframe, horizon_steps)
        crash = TrainingCrashed(f"training crashed: {type(exc).__name__}: {exc}")
        return _failed(session, pair, source, crash, time.perf_counter() - started)
    result, test = fitted.result, fitted.result.metrics["test"]
    run = registry.record_run(
        session,
        pair=pair,
        status="succeeded",
        source=source,
        model_kind=result.predictor.kind,
        features=result.predictor.features,
        threshold=result.threshold,
        metrics=result.metrics,
        test_auc=test["auc"],
        test_return=test["backtest"]["total_return"],
        data_start=fitted.data_start,
        data_end=fitted.data_end,
        rows=result.rows,
        saved=fitted.saved,
        duration_s=time.perf_counter() - started,
    )
    promotion = registry.consider_promotion(session, run=run, policy=policy)
    return TrainOutcome(ModelRunRead.model_validate(run), PromotionRead.model_validate(promotion), None)


def _failed(
    session: Session, pair: PairKey, source: str, error: DomainError, duration_s: float
) -> TrainOutcome:
    run = registry.record_run(
        session, pair=pair, status="failed", source=source, error=error.detail, duration_s=duration_s
    )
    return TrainOutcome(ModelRunRead.model_validate(run), None, error)


def _where_given(query: Select[Any], table: type[Any], **equal: object) -> Select[Any]:
    """`query` filtered on each column whose value is given (None means no filter)."""
    for name, value in equal.items():
        if value is not None:
            query = query.where(getattr(table, name) == value)
    return query


def list_runs(
    session: Session,
    *,
    exchange: str | None = None,
    symbol: str | None = None,
    timeframe: str | None = None,
    horizon_steps: int | None = None,
    status: str | None = None,
    limit: int = 50,
) -> list[ModelRunRead]:
    """Runs, newest first, filtered by any of the pair's fields and status."""
    query = select(ModelRun).order_by(ModelRun.created_at.desc(), ModelRun.id.desc()).limit(limit)
    query = _where_given(query, ModelRun, exchange=exchange, symbol=symbol, timeframe=timeframe)
    query = _where_given(query, ModelRun, horizon_steps=horizon_steps, status=status)
    return [ModelRunRead.model_validate(row) for row in session.scalars(query)]


def list_promotions(
    session: Session,
    *,
    exchange: str | None = None,
    symbol: str | None = None,
    timeframe: str | None = None,
    horizon_steps: int | None = None,
    limit: int = 50,
) -> list[PromotionRead]:
    """The promotion audit trail, newest first."""
    query = select(ModelPromotion).order_by(ModelPromotion.id.desc()).limit(limit)
    query = _where_given(
        query,
        ModelPromotion,
        exchange=exchange,
        symbol=symbol,
        timeframe=timeframe,
        horizon_steps=horizon_steps,
    )
    return [PromotionRead.model_validate(row) for row in session.scalars(query)]


def _brief(session: Session, run_id: int | None) -> RunBrief | None:
    run = session.get(ModelRun, run_id) if run_id is not None else None
    return RunBrief.model_validate(run) if run is not None else None


def active_view(session: Session, *, pair: PairKey) -> ActiveModelRead:
    """What the registry would use for a pair now, and why (no model file is loaded)."""
    active = registry.find_active(session, pair)
    newest = session.scalars(
        select(ModelRun)
        .where(
            ModelRun.exchange == pair.exchange,
            ModelRun.symbol == pair.symbol,
            ModelRun.timeframe == pair.timeframe,
            ModelRun.horizon_steps == pair.horizon_steps,
        )
        .order_by(ModelRun.created_at.desc(), ModelRun.id.desc())
        .limit(1)
    ).first()
    choice = registry.resolve_choice(session, pair)
    notes = {
        "pin": "pinned manually",
        "pair": "the pair's promoted run",
        "fallback": "no model of its own: newest promoted run for the same timeframe and horizon",
    }
    return ActiveModelRead(
        **pair.model_dump(),
        pinned_run=_brief(session, active.pinned_run_id if active else None),
        pinned_at=active.pinned_at if active else None,
        promoted_run=_brief(session, active.promoted_run_id if active else None),
        promoted_at=active.promoted_at if active else None,
        newest_run=RunBrief.model_validate(newest) if newest is not None else None,
        effective_run=RunBrief.model_validate(choice[0]) if choice else None,
        effective_source=choice[1] if choice else None,
        note=notes[choice[1]] if choice else "no model: train one for this pair",
    )


def update_active(session: Session, *, settings: Settings, update: ActiveModelUpdate) -> ActiveModelRead:
    """Pin (by run id or registered path), unpin, or roll back; every change is audited."""
    pair = PairKey(**update.model_dump(include=set(PairKey.model_fields)))
    if update.action == "pin":
        registry.pin(session, settings=settings, pair=pair, run_id=update.run_id, path=update.path)
    elif update.action == "unpin":
        registry.unpin(session, pair=pair)
    else:
        registry.rollback(session, settings=settings, pair=pair)
    return active_view(session, pair=pair)


def get_policy(session: Session) -> ModelPolicy:
    """The model policy in force (defaults until first written); GET/POST /model/policy edit it."""
    return configdocs.get(session, MODEL_POLICY).value


def health_for(session: Session, *, pair: PairKey, policy: ModelPolicy) -> ModelHealthRead:
    """A pair's model health; a fallback from another pair counts as missing (the pair needs its own)."""
    choice = registry.resolve_choice(session, pair)
    own = choice if choice is not None and choice[1] != "fallback" else None
    health = health_status(registry.summary(own[0]) if own else None, policy, clock.now())
    reason = health.reason
    if choice is not None and own is None:
        reason += f" (signals use run {choice[0].id} of {choice[0].symbol} as a fallback)"
    return ModelHealthRead(
        **pair.model_dump(),
        status=health.status,
        reason=reason,
        run_id=own[0].id if own else None,
        source=own[1] if own else None,
        age_days=health.age_days,
        test_auc=own[0].test_auc if own else None,
    )


def pairs_needing_training(
    session: Session, *, pairs: Sequence[PairKey], policy: ModelPolicy
) -> list[tuple[PairKey, ModelHealthRead]]:
    """The pairs whose health is not ok, with their health (what train_missing trains)."""
    found = [(pair, health_for(session, pair=pair, policy=policy)) for pair in pairs]
    return [(pair, health) for pair, health in found if health.status != "ok"]
