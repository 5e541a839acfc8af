"""Model runs and the active model of each pair: the run history, the promotion audit trail, what the
registry would use now, and pins, unpins and rollbacks."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from myassistant.core.config import Settings
from myassistant.market.logic import Pair
from myassistant.ml import registry
from myassistant.ml.schemas import (
    ActiveModelRead,
    ActiveModelUpdate,
    ModelRunRead,
    PromotionRead,
    RunBrief,
)
from myassistant.ml.tables import ModelPromotion, ModelRun


def where_given(query: Select[Any], table: type[Any], **equal: object) -> Select[Any]:
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
    query = where_given(query, ModelRun, exchange=exchange, symbol=symbol, timeframe=timeframe)
    query = where_given(query, ModelRun, horizon_steps=horizon_steps, status=status)
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
    query = where_given(
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


def active_view(session: Session, *, pair: Pair) -> ActiveModelRead:
    """What the registry would use for a pair now, and why (no model file is loaded)."""
    active = registry.find_active(session, pair)
    newest = session.scalars(
        select(ModelRun)
        .where(registry.pair_filter(ModelRun, pair))
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
        **pair.as_dict(),
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
    pair = update.pair()
    if update.action == "pin":
        registry.pin(session, settings=settings, pair=pair, run_id=update.run_id, path=update.path)
    elif update.action == "unpin":
        registry.unpin(session, pair=pair)
    else:
        registry.rollback(session, settings=settings, pair=pair)
    return active_view(session, pair=pair)
