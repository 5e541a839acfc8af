"""Prices: fetch from the exchange into the store, read the latest bars."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from myassistant.api.deps import SessionDep, SettingsDep
from myassistant.api.jobs import RUN_RESPONSES, run_for_route
from myassistant.market import service
from myassistant.market.schemas import (
    ExchangeId,
    PricesFetchRequest,
    PricesFetchResponse,
    PricesLatest,
    Symbol,
    Timeframe,
)

router = APIRouter(tags=["Prices"])

ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "nothing stored for the pair"},
    422: {"description": "invalid input or unknown symbol"},
    502: {"description": "the exchange failed"},
    503: {"description": "the exchange is unavailable or rate-limits us"},
}


@router.post("/prices/fetch", response_model=PricesFetchResponse, responses=ERRORS | RUN_RESPONSES)
def fetch_prices(request: Request, body: PricesFetchRequest | None = None) -> PricesFetchResponse:
    """Store new closed bars: one `symbol` (errors answer 4xx/5xx), a list of `symbols` or, with
    neither, every watchlist pair (each reported with its own error, none stops the rest). Runs the
    `fetch_prices` job."""
    response: PricesFetchResponse = run_for_route(request, "job", "fetch_prices", body)
    return response


@router.get("/prices/latest", response_model=PricesLatest, responses=ERRORS)
def latest_prices(
    session: SessionDep,
    settings: SettingsDep,
    symbol: Annotated[Symbol, Query(description="unified symbol, e.g. BTC/USDT")],
    exchange: Annotated[ExchangeId | None, Query(description="default: DEFAULT_EXCHANGE")] = None,
    timeframe: Annotated[Timeframe | None, Query(description="default: DEFAULT_TIMEFRAME")] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 100,
    end: Annotated[
        datetime | None,
        Query(description="only bars that open at or before this time (UTC when naive); default: the newest"),
    ] = None,
) -> PricesLatest:
    """The last `limit` stored closed bars (up to `end`), oldest first (`ts` = bar open time, UTC)."""
    return service.latest_prices(
        session,
        settings=settings,
        symbol=symbol,
        exchange=exchange,
        timeframe=timeframe,
        limit=limit,
        end=end,
    )
