"""API models of signals."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from myassistant.market import logic as market_logic
from myassistant.notify.schemas import NotificationResult
from myassistant.trading.schemas import OrderRead

SignalSource = Literal["endpoint", "scheduler", "action"]


def _only(key: str, value: object) -> Callable[[dict[str, Any]], None]:
    """Schema: the string option of an optional field also has `key: value` (what the service accepts)."""

    def extra(schema: dict[str, Any]) -> None:
        for option in schema.get("anyOf", [schema]):
            if option.get("type") == "string":
                option[key] = value

    return extra


class SignalRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    exchange: str | None = Field(
        default=None,
        max_length=32,
        description="default: DEFAULT_EXCHANGE",
        json_schema_extra=_only("pattern", market_logic.EXCHANGE_PATTERN_ANY_CASE),
    )
    symbol: str = Field(
        min_length=3,
        max_length=41,
        examples=["BTC/USDT"],
        json_schema_extra=_only("pattern", market_logic.SYMBOL_PATTERN_ANY_CASE),
    )
    timeframe: str | None = Field(
        default=None,
        max_length=4,
        description="default: DEFAULT_TIMEFRAME",
        json_schema_extra=_only("enum", list(market_logic.VALID_TIMEFRAMES)),
    )
    horizon_steps: int | None = Field(
        default=None, ge=1, le=10_000, description="default: DEFAULT_HORIZON_STEPS"
    )
    trade: bool = Field(default=False, description="place a paper order when the final signal is BUY")


class SignalOnceParams(SignalRequest):
    """The pair of POST /signal/latest; unlike that endpoint, the action paper-trades unless told not to."""

    trade: bool = Field(default=True, description="paper-trade a final BUY")


class SignalEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    exchange: str
    symbol: str
    timeframe: str
    horizon_steps: int
    bar_dt: datetime = Field(description="open time of the last closed bar the prediction used")
    bar_close: datetime
    price: float
    raw_signal: str
    final_signal: str
    blocked: bool
    prob: float
    threshold: float
    model_run_id: int | None
    source: str
    note: dict[str, Any]
    created_at: datetime
    forward_return: float | None = Field(
        description="after fees and slippage, once horizon_steps bars passed"
    )
    forward_filled_at: datetime | None


class SignalOutcome(BaseModel):
    """What one pass of the decision loop did for a pair."""

    created: bool = Field(description="false: this bar's event already existed; nothing downstream ran")
    event: SignalEventRead
    order: OrderRead | None = None
    trade_skipped: str | None = Field(default=None, description="why no order was placed for a final BUY")
    notification: NotificationResult | None = Field(
        default=None, description="the Telegram notification of a newly created event (null otherwise)"
    )


class ScanResult(BaseModel):
    exchange: str
    symbol: str
    timeframe: str
    horizon_steps: int
    outcome: SignalOutcome | None = None
    error: str | None = None
    status_code: int | None = None
