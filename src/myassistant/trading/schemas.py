"""API models of the paper broker. Amounts are exact decimals inside, JSON numbers outside."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from myassistant.market.schemas import ExchangeId, Symbol

Amount = Annotated[
    Decimal, PlainSerializer(lambda v: float(round(v, 10)), return_type=float, when_used="json")
]


class OrderRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    account_id: int
    signal_event_id: int | None
    exchange: str
    symbol: str
    timeframe: str
    side: str
    reason: str
    qty: Amount
    price: Amount
    fill_price: Amount
    notional: Amount
    fee: Amount
    cash_delta: Amount
    realized_pnl: Amount | None
    bar_dt: datetime
    created_at: datetime


class PositionRead(BaseModel):
    exchange: str
    symbol: str
    timeframe: str
    qty: Amount
    avg_price: Amount
    cost_basis: Amount
    last_price: Amount
    last_bar_dt: datetime | None
    priced: bool = Field(description="false: no stored price, marked at the average price")
    market_value: Amount
    unrealized_pnl: Amount
    unrealized_pct: Amount
    opened_at: datetime


class EquityRead(BaseModel):
    account_id: int
    quote: str
    opened_at: datetime
    initial_cash: Amount
    cash: Amount
    positions_value: Amount
    equity: Amount
    realized_pnl: Amount
    unrealized_pnl: Amount
    fees_paid: Amount
    open_positions: int
    return_pct: Amount
    unpriced_positions: list[str]


class CloseRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    exchange: ExchangeId
    symbol: Symbol


class ResetRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    confirm: bool = False
