"""The decision loop as jobs and actions (scheduler, POST /automation/run, CLI)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from myassistant.jobs.runner import JobContext, parse_params
from myassistant.market import logic as market_logic
from myassistant.market import service as market
from myassistant.notify import service as notify
from myassistant.signals import service
from myassistant.signals.schemas import SignalRequest
from myassistant.signals.service import latest_quotes
from myassistant.trading import service as broker


def make_signals(context: JobContext) -> dict[str, Any]:
    """Retry failed notifications; every watchlist pair: refresh prices, signal, trade BUYs; then exits."""
    database, settings = context.database, context.settings
    # Before the scan, so a notification that fails in this run is not sent again minutes later.
    retried = notify.retry_failed_notifications(database, settings=settings)
    with database.session() as session:
        pairs = service.watchlist_pairs(session, settings=settings)
        market.fetch_many(session, settings=settings)  # concurrent refresh; failures show up per pair below
    results = service.scan(database, settings=settings, pairs=pairs, source="scheduler", trade=True)
    with database.session() as session:
        exits = broker.apply_exits(
            session,
            latest_price=latest_quotes,
            timeframe_seconds=lambda tf: market_logic.timeframe_ms(tf) // 1000,
        )
        filled = service.fill_forward_returns(session)
    return service.summarise(results) | {
        "exits": len(exits),
        "forward_returns_filled": filled,
        "notifications_retried": retried,
    }


def scan_watchlist(context: JobContext) -> dict[str, Any]:
    """Signal every watchlist pair now, without trading."""
    with context.database.session() as session:
        pairs = service.watchlist_pairs(session, settings=context.settings)
    results = service.scan(
        context.database, settings=context.settings, pairs=pairs, source="action", trade=False
    )
    return service.summarise(results) | {"results": [r.model_dump(mode="json") for r in results]}


class SignalOnceParams(SignalRequest):
    """The pair of POST /signal/latest; unlike that endpoint, the action paper-trades unless told not to."""

    trade: bool = Field(default=True, description="paper-trade a final BUY")


def signal_once(context: JobContext) -> dict[str, Any]:
    """One pair (params: symbol; optional exchange, timeframe, horizon_steps, trade=true): signal, trade."""
    request = parse_params(SignalOnceParams, context.params)
    pair = service.resolve_pair(
        context.settings,
        exchange=request.exchange,
        symbol=request.symbol,
        timeframe=request.timeframe,
        horizon_steps=request.horizon_steps,
    )
    results = service.scan(
        context.database, settings=context.settings, pairs=[pair], source="action", trade=request.trade
    )
    return service.summarise(results) | {"results": [r.model_dump(mode="json") for r in results]}
