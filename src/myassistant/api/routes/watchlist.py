"""Watchlist: the pairs every job works on, their discovery and dated snapshots."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from myassistant.api.deps import SessionDep, SettingsDep
from myassistant.api.jobs import RUN_RESPONSES, run_for_route
from myassistant.market import service
from myassistant.market.schemas import (
    DiscoverRequest,
    DiscoverResult,
    SnapshotRead,
    UTCDatetime,
    WatchlistAdd,
    WatchlistChange,
    WatchlistEntryRead,
    WatchlistRemove,
    WatchlistReplace,
)

router = APIRouter(tags=["Watchlist"])

EXCHANGE_ERRORS: dict[int | str, dict[str, Any]] = {
    422: {"description": "invalid input"},
    502: {"description": "the exchange failed"},
    503: {"description": "the exchange is unavailable or rate-limits us"},
}


@router.get("/watchlist", response_model=list[WatchlistEntryRead])
def get_watchlist(session: SessionDep) -> list[WatchlistEntryRead]:
    """Every entry, by exchange and symbol; empty timeframe/horizon mean the settings' defaults."""
    return service.list_watchlist(session)


@router.post("/watchlist", response_model=WatchlistChange)
def replace_watchlist(body: WatchlistReplace, session: SessionDep, settings: SettingsDep) -> WatchlistChange:
    """Replace the whole watchlist with these (manual) entries."""
    return service.replace_watchlist(session, settings=settings, entries=body.entries)


@router.post("/watchlist/add", response_model=WatchlistChange)
def add_to_watchlist(body: WatchlistAdd, session: SessionDep, settings: SettingsDep) -> WatchlistChange:
    """Add manual entries (an existing entry is updated and becomes manual)."""
    return service.add_to_watchlist(session, settings=settings, entries=body.entries)


@router.post("/watchlist/remove", response_model=WatchlistChange)
def remove_from_watchlist(
    body: WatchlistRemove, session: SessionDep, settings: SettingsDep
) -> WatchlistChange:
    """Remove symbols of one exchange; unknown ones are listed in `not_found`."""
    return service.remove_from_watchlist(
        session, settings=settings, exchange=body.exchange, symbols=body.symbols
    )


@router.post("/watchlist/discover", response_model=DiscoverResult, responses=EXCHANGE_ERRORS | RUN_RESPONSES)
def discover(request: Request, body: DiscoverRequest | None = None) -> DiscoverResult:
    """Top N active spot pairs in `quote` by 24h quote volume above the minimum, without leveraged
    tokens or stablecoin/fiat bases; manual entries stay; a dated snapshot of the result is kept.
    Runs the `discover_watchlist` job."""
    result: DiscoverResult = run_for_route(request, "job", "discover_watchlist", body)
    return result


@router.get("/watchlist/snapshots", response_model=list[SnapshotRead])
def snapshots(
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 20,
    at: Annotated[UTCDatetime | None, Query(description="only the snapshot in force at this time")] = None,
) -> list[SnapshotRead]:
    """Dated snapshots of the watchlist, newest first."""
    return service.list_snapshots(session, limit=limit, at=at)
