"""The decision loop as jobs and actions (scheduler, POST /automation/run, CLI).

Each callback imports the signals service when it runs, so the service starts without pandas and the
feature code.
"""

from __future__ import annotations

from typing import Any

from myassistant.jobs.runner import JobContext, parse_params
from myassistant.market.schemas import pair_with_defaults
from myassistant.signals.schemas import SignalOnceParams


def make_signals(context: JobContext) -> dict[str, Any]:
    """Retry failed notifications; every watchlist pair: refresh prices, signal, trade BUYs; then exits."""
    from myassistant.signals import service

    return service.run_cycle(context.database, settings=context.settings, source="scheduler", trade=True)


def scan_watchlist(context: JobContext) -> dict[str, Any]:
    """Signal every watchlist pair now, without trading."""
    from myassistant.signals import service

    with context.database.session() as session:
        pairs = service.watchlist_pairs(session, settings=context.settings)
    results = service.scan(
        context.database, settings=context.settings, pairs=pairs, source="action", trade=False
    )
    return service.summarise(results) | {"results": [r.model_dump(mode="json") for r in results]}


def signal_once(context: JobContext) -> dict[str, Any]:
    """One pair (params: symbol; optional exchange, timeframe, horizon_steps, trade=true): signal, trade."""
    from myassistant.signals import service

    request = parse_params(SignalOnceParams, context.params)
    pair = pair_with_defaults(
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
