"""Model: training runs, the active model per pair, the promotion audit trail and the model policy."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from myassistant.api.configdoc_routes import add_config_doc_routes
from myassistant.api.deps import SessionDep, SettingsDep
from myassistant.api.jobs import RUN_RESPONSES, run_for_route
from myassistant.market.schemas import ExchangeId, Symbol, Timeframe, pair_with_defaults
from myassistant.ml import health as model_health
from myassistant.ml import runs
from myassistant.ml.policy import MODEL_POLICY
from myassistant.ml.schemas import (
    ActiveModelRead,
    ActiveModelUpdate,
    HorizonSteps,
    ModelHealthRead,
    ModelRunRead,
    PromotionRead,
    TrainMissingReport,
    TrainMissingRequest,
    TrainRequest,
    TrainResponse,
)

router = APIRouter(tags=["Model"])


@router.get("/model/runs", response_model=list[ModelRunRead])
def list_runs(
    session: SessionDep,
    exchange: Annotated[ExchangeId | None, Query()] = None,
    symbol: Annotated[Symbol | None, Query()] = None,
    timeframe: Annotated[Timeframe | None, Query()] = None,
    horizon_steps: Annotated[HorizonSteps | None, Query()] = None,
    status: Literal["succeeded", "failed"] | None = Query(None),
    limit: int = Query(50, ge=1, le=1000),
) -> list[ModelRunRead]:
    """Training runs, newest first, failures included."""
    return runs.list_runs(
        session,
        exchange=exchange,
        symbol=symbol,
        timeframe=timeframe,
        horizon_steps=horizon_steps,
        status=status,
        limit=limit,
    )


@router.get("/model/active", response_model=ActiveModelRead)
def get_active(
    session: SessionDep,
    settings: SettingsDep,
    symbol: Annotated[Symbol, Query()],
    exchange: Annotated[ExchangeId | None, Query(description="default: DEFAULT_EXCHANGE")] = None,
    timeframe: Annotated[Timeframe | None, Query(description="default: DEFAULT_TIMEFRAME")] = None,
    horizon_steps: Annotated[HorizonSteps | None, Query(description="default: DEFAULT_HORIZON_STEPS")] = None,
) -> ActiveModelRead:
    """The pair's pin, promoted and newest runs, and which one signals would use now."""
    pair = pair_with_defaults(
        settings, exchange=exchange, symbol=symbol, timeframe=timeframe, horizon_steps=horizon_steps
    )
    return runs.active_view(session, pair=pair)


@router.post(
    "/model/active",
    response_model=ActiveModelRead,
    responses={404: {"description": "no such run"}, 412: {"description": "nothing to unpin or roll back to"}},
)
def update_active(body: ActiveModelUpdate, session: SessionDep, settings: SettingsDep) -> ActiveModelRead:
    """Pin a run (by id, or by the path of a registered model file), unpin, or roll back."""
    return runs.update_active(session, settings=settings, update=body)


@router.get("/model/promotions", response_model=list[PromotionRead])
def list_promotions(
    session: SessionDep,
    exchange: Annotated[ExchangeId | None, Query()] = None,
    symbol: Annotated[Symbol | None, Query()] = None,
    timeframe: Annotated[Timeframe | None, Query()] = None,
    horizon_steps: Annotated[HorizonSteps | None, Query()] = None,
    limit: int = Query(50, ge=1, le=1000),
) -> list[PromotionRead]:
    """Every promotion, refusal, pin, unpin and rollback with its reason, newest first."""
    return runs.list_promotions(
        session,
        exchange=exchange,
        symbol=symbol,
        timeframe=timeframe,
        horizon_steps=horizon_steps,
        limit=limit,
    )


@router.post(
    "/model/train",
    response_model=TrainResponse,
    responses={
        412: {"description": "too little price history, or a single class (the failed run is recorded)"},
        422: {"description": "invalid pair, or a symbol the exchange does not list"},
        502: {"description": "the exchange failed (the failed run is recorded)"},
        503: {"description": "the exchange is unreachable or rate-limits (the failed run is recorded)"},
        **RUN_RESPONSES,
    },
)
def train(body: TrainRequest, request: Request) -> TrainResponse:
    """Train one pair on its last `train_bars` closed bars (fetched first unless `fetch` is false).

    Answers the run and its promotion decision; a failed run is recorded too and answered with its
    error's status, `detail`, `run_id` and `history`. Runs the `train` task (one at a time per pair).
    """
    response: TrainResponse = run_for_route(request, "task", "train", body)
    return response


@router.get("/model/health", response_model=list[ModelHealthRead])
def health(session: SessionDep, settings: SettingsDep) -> list[ModelHealthRead]:
    """Every watchlist pair's model: run, age, test AUC, and status ok / stale / weak / missing with why."""
    return model_health.health_report(session, settings=settings)


@router.post(
    "/model/train_missing",
    response_model=TrainMissingReport,
    responses={409: {"description": "training (train_models / train_missing) is already running"}},
)
def train_missing(request: Request, body: TrainMissingRequest | None = None) -> TrainMissingReport:
    """Train exactly the watchlist pairs whose model is missing, stale or weak; report every pair. Runs
    the `train_missing` action."""
    report: TrainMissingReport = run_for_route(request, "action", "train_missing", body)
    return report


add_config_doc_routes(router, "/model/policy", MODEL_POLICY, label="model policy")
