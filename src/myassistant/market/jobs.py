"""Market jobs for the runner: new closed bars for the watchlist, watchlist discovery."""

from __future__ import annotations

from typing import Any

from myassistant.core.errors import UpstreamError
from myassistant.jobs.runner import JobContext
from myassistant.market import service

MAX_LISTED_FAILURES = 20


def fetch_prices(context: JobContext) -> dict[str, Any]:
    """Fetch new closed bars for every watchlist pair; an error only when every pair failed."""
    with context.database.session() as session:
        results = service.fetch_many(session, settings=context.settings)
    failed = {f"{r.exchange} {r.symbol} {r.timeframe}": r.error for r in results if r.error}
    if results and len(failed) == len(results):
        raise UpstreamError(
            f"all {len(failed)} pairs failed: " + "; ".join(f"{p}: {e}" for p, e in failed.items())
        )
    return {
        "pairs": len(results),
        "new_bars": sum(r.new_bars for r in results),
        "backfilled_bars": sum(r.backfilled_bars for r in results),
        "failed": len(failed),
        "errors": dict(list(failed.items())[:MAX_LISTED_FAILURES]),
    }


def discover_watchlist(context: JobContext) -> dict[str, Any]:
    """Refresh the watchlist with the default exchange's most liquid spot pairs (manual entries stay)."""
    with context.database.session() as session:
        result = service.discover(session, settings=context.settings)
    return {
        "exchange": result.exchange,
        "considered": result.considered,
        "discovered": len(result.discovered),
        "added": result.added,
        "removed": result.removed,
        "watchlist": len(result.watchlist),
        "snapshot_id": result.snapshot_id,
    }
