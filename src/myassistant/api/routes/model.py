"""Model: training runs, the active model per pair, the promotion audit trail and the model policy."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query

from myassistant.api.configdoc_routes import add_config_doc_routes
from myassistant.api.deps import SessionDep, SettingsDep
from myassistant.ml import service
from myassistant.ml.policy import MODEL_POLICY
from myassistant.ml.schemas import (
    MAX_HORIZON_STEPS,
    ActiveModelRead,
    ActiveModelUpdate,
    ModelRunRead,
    PairKey,
    PromotionRead,
    normalise_exchange,
    normalise_symbol,
)
from myassistant.ml.timeframes import TIMEFRAME_PATTERN

router = APIRouter(tags=["Model"])

# Query filters: lower/upper-case variants of exchange and symbol are accepted and normalised.
EXCHANGE_QUERY = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$"
SYMBOL_QUERY = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,14}/[A-Za-z0-9][A-Za-z0-9._-]{0,14}(:[A-Za-z0-9._-]{1,14})?$"


def _lower(value: str | None) -> str | None:
    return normalise_exchange(value) if value is not None else None


def _upper(value: str | None) -> str | None:
    return normalise_symbol(value) if value is not None else None


@router.get("/model/runs", response_model=list[ModelRunRead])
def list_runs(
    session: SessionDep,
    exchange: str | None = Query(None, pattern=EXCHANGE_QUERY),
    symbol: str | None = Query(None, pattern=SYMBOL_QUERY),
    timeframe: str | None = Query(None, pattern=TIMEFRAME_PATTERN),
    horizon_steps: int | None = Query(None, ge=1, le=MAX_HORIZON_STEPS),
    status: Literal["succeeded", "failed"] | None = Query(None),
    limit: int = Query(50, ge=1, le=1000),
) -> list[ModelRunRead]:
    """Training runs, newest first, failures included."""
    return service.list_runs(
        session,
        exchange=_lower(exchange),
        symbol=_upper(symbol),
        timeframe=timeframe,
        horizon_steps=horizon_steps,
        status=status,
        limit=limit,
    )


@router.get("/model/active", response_model=ActiveModelRead)
def get_active(
    session: SessionDep,
    settings: SettingsDep,
    symbol: str = Query(pattern=SYMBOL_QUERY),
    exchange: str | None = Query(None, pattern=EXCHANGE_QUERY, description="default: DEFAULT_EXCHANGE"),
    timeframe: str | None = Query(None, pattern=TIMEFRAME_PATTERN, description="default: DEFAULT_TIMEFRAME"),
    horizon_steps: int | None = Query(
        None, ge=1, le=MAX_HORIZON_STEPS, description="default: DEFAULT_HORIZON_STEPS"
    ),
) -> ActiveModelRead:
    """The pair's pin, promoted and newest runs, and which one signals would use now."""
    pair = PairKey.of(
        exchange=exchange or settings.default_exchange,
        symbol=symbol,
        timeframe=timeframe or settings.default_timeframe,
        horizon_steps=horizon_steps or settings.default_horizon_steps,
    )
    return service.active_view(session, pair=pair)


@router.post(
    "/model/active",
    response_model=ActiveModelRead,
    responses={404: {"description": "no such run"}, 412: {"description": "nothing to unpin or roll back to"}},
)
def update_active(body: ActiveModelUpdate, session: SessionDep, settings: SettingsDep) -> ActiveModelRead:
    """Pin a run (by id, or by the path of a registered model file), unpin, or roll back."""
    return service.update_active(session, settings=settings, update=body)


@router.get("/model/promotions", response_model=list[PromotionRead])
def list_promotions(
    session: SessionDep,
    exchange: str | None = Query(None, pattern=EXCHANGE_QUERY),
    symbol: str | None = Query(None, pattern=SYMBOL_QUERY),
    timeframe: str | None = Query(None, pattern=TIMEFRAME_PATTERN),
    horizon_steps: int | None = Query(None, ge=1, le=MAX_HORIZON_STEPS),
    limit: int = Query(50, ge=1, le=1000),
) -> list[PromotionRead]:
    """Every promotion, refusal, pin, unpin and rollback with its reason, newest first."""
    return service.list_promotions(
        session,
        exchange=_lower(exchange),
        symbol=_upper(symbol),
        timeframe=timeframe,
        horizon_steps=horizon_steps,
        limit=limit,
    )


add_config_doc_routes(router, "/model/policy", MODEL_POLICY, label="model policy")
