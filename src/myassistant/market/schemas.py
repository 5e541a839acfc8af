"""API models for prices and the watchlist; validators give clear 422 messages."""

from __future__ import annotations

import math
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from myassistant.core.clock import ensure_utc
from myassistant.core.errors import InvalidInput
from myassistant.market import logic
from myassistant.market.logic import Pair

if TYPE_CHECKING:
    from myassistant.core.config import Settings


def _timeframe(value: str) -> str:
    logic.timeframe_ms(value)  # TimeframeError is a ValueError naming the valid ones
    return value


def _symbol(value: str) -> str:
    return logic.normalise_symbol(value)


def _exchange(value: str) -> str:
    return logic.normalise_exchange(value)


def _utc(value: datetime) -> datetime:
    return ensure_utc(value)


def _since(value: datetime) -> datetime:
    value = ensure_utc(value)
    if value < logic.EARLIEST:
        raise ValueError(f"since must be on or after {logic.EARLIEST.date().isoformat()}")
    return value


# The schema states what the validators accept (their messages stay the friendly ones).
Timeframe = Annotated[
    str,
    Field(
        max_length=8,
        description=f"bar length, one of {', '.join(logic.VALID_TIMEFRAMES)}",
        json_schema_extra={"enum": list(logic.VALID_TIMEFRAMES)},
    ),
    AfterValidator(_timeframe),
]
Symbol = Annotated[
    str,
    Field(
        max_length=logic.MAX_SYMBOL_LENGTH,
        description="unified ccxt symbol BASE/QUOTE, e.g. BTC/USDT (any case)",
        json_schema_extra={"pattern": logic.SYMBOL_PATTERN_ANY_CASE},
    ),
    AfterValidator(_symbol),
]
ExchangeId = Annotated[
    str,
    Field(
        max_length=32,
        description="ccxt exchange id, e.g. bybit (any case)",
        json_schema_extra={"pattern": logic.EXCHANGE_PATTERN_ANY_CASE},
    ),
    AfterValidator(_exchange),
]
UTCDatetime = Annotated[datetime, AfterValidator(_utc)]
Since = Annotated[
    datetime,
    Field(json_schema_extra={"pattern": logic.YEAR_2010_OR_LATER}),
    AfterValidator(_since),
]
Source = Literal["manual", "discover"]


def pair_with_defaults(
    settings: Settings, *, exchange: str | None, symbol: str, timeframe: str | None, horizon_steps: int | None
) -> Pair:
    """The one way a request's pair gets its defaults: each field not given comes from the settings;
    InvalidInput (422) naming what is wrong."""
    try:
        return Pair.parse(
            exchange=exchange or settings.default_exchange,
            symbol=symbol,
            timeframe=timeframe or settings.default_timeframe,
            horizon_steps=horizon_steps or settings.default_horizon_steps,
        )
    except ValueError as exc:
        raise InvalidInput(f"invalid pair: {exc}") from None


def checked_pair(pair: Pair) -> Pair:
    """`pair` validated (a watchlist row may predate today's rules); InvalidInput (422) if bad."""
    try:
        return Pair.parse(
            exchange=pair.exchange,
            symbol=pair.symbol,
            timeframe=pair.timeframe,
            horizon_steps=pair.horizon_steps,
        )
    except ValueError as exc:
        raise InvalidInput(f"invalid pair: {exc}") from None


class Bar(BaseModel):
    """One closed bar; `ts` is its open time (UTC)."""

    ts: datetime
    open: float
    high: float
    low: float
    close: float
    volume: float


class PricesLatest(BaseModel):
    exchange: str
    symbol: str
    timeframe: str
    bars: list[Bar]


class PricesFetchRequest(BaseModel):
    """One symbol, a list, or (neither) every watchlist pair."""

    model_config = ConfigDict(extra="forbid")

    exchange: ExchangeId | None = None
    symbol: Symbol | None = None
    symbols: list[Symbol] | None = Field(default=None, min_length=1, max_length=200)
    timeframe: Timeframe | None = Field(
        default=None, description="default: each pair's own, else DEFAULT_TIMEFRAME"
    )
    since: Since | None = Field(
        default=None, description="first bar open time to fetch (also backfills), 2010 or later"
    )
    limit: int | None = Field(
        default=None, ge=1, le=logic.MAX_BARS_PER_FETCH, description="at most this many bars per pair"
    )

    @model_validator(mode="after")
    def _one_way(self) -> PricesFetchRequest:
        if self.symbol is not None and self.symbols is not None:
            raise ValueError("give either symbol or symbols, not both")
        return self


class FetchPricesResult(BaseModel):
    """What one pair's fetch did; `error` is set when it failed (stored bars stay as they were)."""

    exchange: str
    symbol: str
    timeframe: str
    new_bars: int = 0
    backfilled_bars: int = 0
    gaps_found: int = 0
    pages: int = 0
    first_bar: datetime | None = None
    last_bar: datetime | None = None
    error: str | None = None
    status_code: int | None = Field(default=None, description="HTTP status the error would map to")


class PricesFetchResponse(BaseModel):
    results: list[FetchPricesResult]
    new_bars: int
    failed: int


class WatchlistEntryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    exchange: ExchangeId | None = Field(default=None, description="default: DEFAULT_EXCHANGE")
    symbol: Symbol
    timeframe: Timeframe | None = Field(default=None, description="default: DEFAULT_TIMEFRAME")
    horizon_steps: int | None = Field(
        default=None, ge=1, le=10_000, description="default: DEFAULT_HORIZON_STEPS"
    )


class WatchlistReplace(BaseModel):
    model_config = ConfigDict(extra="forbid")

    entries: list[WatchlistEntryIn] = Field(max_length=1000)


class WatchlistAdd(BaseModel):
    model_config = ConfigDict(extra="forbid")

    entries: list[WatchlistEntryIn] = Field(min_length=1, max_length=1000)


class WatchlistRemove(BaseModel):
    model_config = ConfigDict(extra="forbid")

    exchange: ExchangeId | None = Field(default=None, description="default: DEFAULT_EXCHANGE")
    symbols: list[Symbol] = Field(min_length=1, max_length=1000)


class WatchlistEntryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    exchange: str
    symbol: str
    source: Source
    timeframe: str | None
    horizon_steps: int | None
    quote_volume_24h: float | None
    added_at: datetime
    updated_at: datetime


class WatchlistChange(BaseModel):
    watchlist: list[WatchlistEntryRead]
    added: list[str] = Field(default_factory=list)
    removed: list[str] = Field(default_factory=list)
    not_found: list[str] = Field(default_factory=list)
    snapshot_id: int | None = None


class DiscoverRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    exchange: ExchangeId | None = Field(default=None, description="default: DEFAULT_EXCHANGE")
    quote: str = Field(default="USDT", pattern=r"^[A-Za-z0-9]{2,12}$")
    top_n: int = Field(default=20, ge=1, le=500)
    min_quote_volume: float = Field(
        default=1_000_000.0, ge=0, description="minimum 24h volume, in units of the quote currency"
    )

    @field_validator("quote")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()

    @field_validator("min_quote_volume")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("min_quote_volume must be a finite number")
        return value


class DiscoveredPair(BaseModel):
    symbol: str
    quote_volume_24h: float


class DiscoverResult(BaseModel):
    exchange: str
    quote: str
    top_n: int
    min_quote_volume: float
    considered: int
    excluded: dict[str, int]
    discovered: list[DiscoveredPair]
    added: list[str]
    removed: list[str]
    kept_manual: list[str]
    watchlist: list[WatchlistEntryRead]
    snapshot_id: int


class SnapshotRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    taken_at: datetime
    trigger: str
    params: dict[str, Any]
    entries: list[dict[str, Any]]
