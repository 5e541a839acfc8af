"""Signal: the decision loop on the last closed bar, and the events it stored."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response

from myassistant.api.concurrency import run_read
from myassistant.api.deps import DatabaseDep, SessionDep, SettingsDep
from myassistant.core.db import Database
from myassistant.market.schemas import pair_with_defaults
from myassistant.signals import service
from myassistant.signals.schemas import SignalEventRead, SignalOutcome, SignalRequest

router = APIRouter(tags=["Signal"])


@router.post(
    "/signal/latest",
    response_model=SignalOutcome,
    responses={412: {"description": "no model or no current prices for the pair"}},
)
def signal_latest(body: SignalRequest, session: SessionDep, settings: SettingsDep) -> SignalOutcome:
    """Predict on the last closed bar, apply the risk policy, store the event (once per bar)."""
    pair = pair_with_defaults(
        settings,
        exchange=body.exchange,
        symbol=body.symbol,
        timeframe=body.timeframe,
        horizon_steps=body.horizon_steps,
    )
    return service.make_signal(session, settings=settings, pair=pair, source="endpoint", trade=body.trade)


@router.get("/signals/recent", response_model=list[SignalEventRead])
async def signals_recent(
    database: DatabaseDep,
    limit: int = Query(50, ge=1, le=1000),
    exchange: str | None = Query(None, max_length=32),
    symbol: str | None = Query(None, max_length=41),
    final_signal: Literal["buy", "flat"] | None = Query(None),
    since: Annotated[datetime | None, Query(description="events created at or after (ISO 8601)")] = None,
    blocked: bool | None = Query(None, description="true: only BUYs the risk policy vetoed"),
) -> Response:
    """Stored signal events, newest first."""
    filters = {
        "limit": limit,
        "exchange": exchange,
        "symbol": symbol,
        "final_signal": final_signal,
        "since": since,
        "blocked": blocked,
    }
    body = await run_read(database, _recent_json, database, filters)
    return Response(body, media_type="application/json")


def _recent_json(database: Database, filters: dict[str, Any]) -> bytes:
    with database.session(write=False) as session:
        return service.recent_json(session, **filters)
