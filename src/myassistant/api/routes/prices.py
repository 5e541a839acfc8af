"""Prices: fetch from the exchange into the store, read the latest bars."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from myassistant.api.deps import SessionDep, SettingsDep
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


@router.post("/prices/fetch", response_model=PricesFetchResponse, responses=ERRORS)
def fetch_prices(
    session: SessionDep, settings: SettingsDep, body: PricesFetchRequest | None = None
) -> PricesFetchResponse:
    """Store new closed bars: one `symbol` (errors answer 4xx/5xx), a list of `symbols` or, with
    neither, every watchlist pair (each reported with its own error, none stops the rest)."""
    body = body or PricesFetchRequest()
    if body.symbol is not None:
        result = service.fetch_prices(
            session,
            settings=settings,
            exchange=body.exchange or settings.default_exchange,
            symbol=body.symbol,
            timeframe=body.timeframe or settings.default_timeframe,
            since=body.since,
            limit=body.limit,
        )
        results = [result]
    else:
        pairs = service.pairs_to_fetch(
            session, settings=settings, exchange=body.exchange, symbols=body.symbols, timeframe=body.timeframe
        )
        results = service.fetch_many(
            session, settings=settings, pairs=pairs, since=body.since, limit=body.limit
        )
    return PricesFetchResponse(
        results=results,
        new_bars=sum(r.new_bars for r in results),
        failed=sum(1 for r in results if r.error),
    )


@router.get("/prices/latest", response_model=PricesLatest, responses=ERRORS)
def latest_prices(
    session: SessionDep,
    settings: SettingsDep,
    symbol: Annotated[Symbol, Query(description="unified symbol, e.g. BTC/USDT")],
    exchange: Annotated[ExchangeId | None, Query(description="default: DEFAULT_EXCHANGE")] = None,
    timeframe: Annotated[Timeframe | None, Query(description="default: DEFAULT_TIMEFRAME")] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 100,
) -> PricesLatest:
    """The last `limit` stored closed bars, oldest first (`ts` = bar open time, UTC)."""
    exchange = exchange or settings.default_exchange
    timeframe = timeframe or settings.default_timeframe
    bars = service.require_latest_bars(
        session, exchange=exchange, symbol=symbol, timeframe=timeframe, limit=limit
    )
    return PricesLatest(exchange=exchange, symbol=symbol, timeframe=timeframe, bars=bars)
