"""Trade: the paper account."""

from __future__ import annotations

from fastapi import APIRouter, Query

from myassistant.api.configdoc_routes import add_config_doc_routes
from myassistant.api.deps import SessionDep
from myassistant.trading import service
from myassistant.trading.schemas import CloseRequest, EquityRead, OrderRead, PositionRead, ResetRequest

router = APIRouter(tags=["Trade"])
add_config_doc_routes(router, "/trade/paper/settings", service.BROKER_SETTINGS, label="paper broker settings")


@router.get("/trade/positions", response_model=list[PositionRead])
def trade_positions(session: SessionDep) -> list[PositionRead]:
    """Open positions marked to market at the latest stored close."""
    return service.positions(session)


@router.get("/trade/equity", response_model=EquityRead)
def trade_equity(session: SessionDep) -> EquityRead:
    """Cash, positions value, equity, realized and unrealized PnL, return since the account opened."""
    return service.equity(session)


@router.get("/trade/orders", response_model=list[OrderRead])
def trade_orders(
    session: SessionDep,
    limit: int = Query(100, ge=1, le=1000),
    symbol: str | None = Query(None, max_length=41),
    all_accounts: bool = Query(False, description="include orders of accounts closed by a reset"),
) -> list[OrderRead]:
    """The orders ledger, newest first."""
    return service.orders(session, limit=limit, symbol=symbol, all_accounts=all_accounts)


@router.post("/trade/paper/close", response_model=OrderRead, responses={404: {"description": "no position"}})
def trade_close(body: CloseRequest, session: SessionDep) -> OrderRead:
    """Sell the whole position at the latest stored close (slippage and fee applied)."""
    return service.close_at_market(session, exchange=body.exchange, symbol=body.symbol)


@router.post(
    "/trade/paper/reset", response_model=EquityRead, responses={422: {"description": "not confirmed"}}
)
def trade_reset(body: ResetRequest, session: SessionDep) -> EquityRead:
    """Close the account (its ledger stays queryable) and open a new one; needs {"confirm": true}."""
    return service.reset(session, confirm=body.confirm)
