"""Market jobs: new closed bars for the watchlist, watchlist discovery (also POST /prices/fetch and
POST /watchlist/discover)."""

from __future__ import annotations

from typing import Any

from myassistant.core.errors import UpstreamError
from myassistant.jobs.runner import (
    Finished,
    JobContext,
    every_item_failed,
    listed_failures,
    parse_params,
    short_error,
)
from myassistant.market import service
from myassistant.market.schemas import DiscoverRequest, FetchPricesResult, PricesFetchRequest

# Per-pair rows kept in the stats (stored in job_runs every 15 minutes); a larger watchlist is cut.
MAX_LISTED_PAIRS = 200


def fetch_prices(context: JobContext) -> Finished:
    """Fetch new closed bars for every watchlist pair (or params as the body of POST /prices/fetch);
    the result is that route's body.

    A watchlist run is an error when every pair failed; `symbols` are reported one by one, and a
    single `symbol` that fails fails the run with its own error (the route answers its status).
    """
    request = parse_params(PricesFetchRequest, context.params)
    progress = context.progress
    with context.database.session() as session:
        response = service.fetch_requested(
            session,
            settings=context.settings,
            request=request,
            progress=lambda done, total, r: progress(done, total, f"{r.exchange} {r.symbol}"),
        )
    results = response.results
    failed = {f"{r.exchange} {r.symbol} {r.timeframe}": r.error for r in results if r.error}
    watchlist_run = request.symbol is None and request.symbols is None
    dark = (
        every_item_failed(failed, len(results), items="pairs", error=UpstreamError) if watchlist_run else None
    )
    stats = {
        "pairs": len(results),
        "new_bars": response.new_bars,
        "backfilled_bars": sum(r.backfilled_bars for r in results),
        "failed": len(failed),
        "errors": listed_failures(failed),
        "results": [_pair_row(r) for r in results[:MAX_LISTED_PAIRS]],
    }
    return Finished(stats, result=response, failure=dark)


def _pair_row(result: FetchPricesResult) -> dict[str, Any]:
    return {
        "exchange": result.exchange,
        "symbol": result.symbol,
        "timeframe": result.timeframe,
        "new_bars": result.new_bars,
        "last_bar": result.last_bar.isoformat() if result.last_bar else None,
        "error": short_error(result.error),
    }


def discover_watchlist(context: JobContext) -> Finished:
    """Refresh the watchlist with the most liquid spot pairs (params as the body of POST
    /watchlist/discover, the result its answer; default: DEFAULT_EXCHANGE, USDT, top 20); manual
    entries stay."""
    request = parse_params(DiscoverRequest, context.params)
    with context.database.session() as session:
        result = service.discover(session, settings=context.settings, **request.model_dump())
    stats = {
        "exchange": result.exchange,
        "quote": result.quote,
        "considered": result.considered,
        "excluded": result.excluded,
        "discovered": len(result.discovered),
        # At most top_n (≤ 500) rows, ranked by 24h quote volume.
        "pairs": [pair.model_dump(mode="json") for pair in result.discovered],
        "added": result.added,
        "removed": result.removed,
        "watchlist": len(result.watchlist),
        "snapshot_id": result.snapshot_id,
    }
    return Finished(stats, result=result)
