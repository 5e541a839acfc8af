"""Dataset: build a pair's dataset from the stored prices and news, and list the stored ones."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from myassistant.api.deps import SessionDep, SettingsDep
from myassistant.api.jobs import RUN_RESPONSES, run_for_route
from myassistant.market.schemas import ExchangeId, Symbol, Timeframe
from myassistant.ml import dataset_store
from myassistant.ml.schemas import (
    DatasetBuildRequest,
    DatasetRead,
    HorizonSteps,
)

router = APIRouter(tags=["Dataset"])


@router.post(
    "/dataset/build",
    response_model=DatasetRead,
    responses={412: {"description": "no prices stored for the pair, or too few rows"}, **RUN_RESPONSES},
)
def build_dataset(body: DatasetBuildRequest, request: Request) -> DatasetRead:
    """Build the dataset (features, news aggregates, label) and store it as a parquet artifact. Runs
    the `build_dataset` task (one at a time per pair)."""
    built: DatasetRead = run_for_route(request, "task", "build_dataset", body)
    return built


@router.get("/datasets", response_model=list[DatasetRead])
def list_datasets(
    session: SessionDep,
    settings: SettingsDep,
    exchange: Annotated[ExchangeId | None, Query()] = None,
    symbol: Annotated[Symbol | None, Query()] = None,
    timeframe: Annotated[Timeframe | None, Query()] = None,
    horizon_steps: Annotated[HorizonSteps | None, Query()] = None,
    limit: int = Query(50, ge=1, le=1000),
) -> list[DatasetRead]:
    """Stored datasets, newest first."""
    return dataset_store.list_datasets(
        session,
        settings=settings,
        exchange=exchange,
        symbol=symbol,
        timeframe=timeframe,
        horizon_steps=horizon_steps,
        limit=limit,
    )
