"""Pure market logic: timeframes, symbols, closed bars, gaps and discovery filters.

Bar convention for the whole product: `ts` is the bar's OPEN time (UTC); a bar is closed when
`ts + timeframe <= now`. Timestamps here are integer epoch milliseconds unless a name says otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from myassistant.core.errors import InvalidInput

MINUTE_MS = 60_000
TIMEFRAME_MS: dict[str, int] = {
    "1m": MINUTE_MS,
    "3m": 3 * MINUTE_MS,
    "5m": 5 * MINUTE_MS,
    "15m": 15 * MINUTE_MS,
    "30m": 30 * MINUTE_MS,
    "1h": 60 * MINUTE_MS,
    "2h": 120 * MINUTE_MS,
    "4h": 240 * MINUTE_MS,
    "6h": 360 * MINUTE_MS,
    "12h": 720 * MINUTE_MS,
    "1d": 1440 * MINUTE_MS,
    "1w": 7 * 1440 * MINUTE_MS,
}
VALID_TIMEFRAMES: tuple[str, ...] = tuple(TIMEFRAME_MS)
# Exchanges open weekly bars on Monday 00:00 UTC; the epoch was a Thursday.
_WEEK_OFFSET_MS = 4 * 1440 * MINUTE_MS

SYMBOL_PATTERN = re.compile(r"^[A-Z0-9]{1,20}/[A-Z0-9]{1,20}$")
EXCHANGE_PATTERN = re.compile(r"^[a-z0-9_]{2,32}$")
MAX_SYMBOL_LENGTH = 32  # what every table keyed by a pair holds (signals, models, orders)
MAX_HORIZON_STEPS = 10_000
# What callers may send: the same, in any case (normalise_symbol / normalise_exchange fix the case).
SYMBOL_PATTERN_ANY_CASE = r"^[A-Za-z0-9]{1,20}/[A-Za-z0-9]{1,20}$"
EXCHANGE_PATTERN_ANY_CASE = r"^[A-Za-z0-9_]{2,32}$"
# A schema pattern for ISO times in 2010-2099 (EARLIEST onwards), for what the validators accept.
YEAR_2010_OR_LATER = r"^20[1-9][0-9]-"

DEFAULT_HISTORY_BARS = 1000
MAX_BARS_PER_FETCH = 500_000  # one call's tail; later calls resume after the last stored bar
EARLIEST = datetime(2010, 1, 1, tzinfo=UTC)  # no crypto exchange has candles before this

STABLECOINS = frozenset(
    {
        "USDT", "USDC", "FDUSD", "DAI", "TUSD", "BUSD", "USDP", "USDD", "PYUSD", "USDE", "USDS",
        "GUSD", "LUSD", "FRAX", "SUSD", "CUSD", "USDJ", "USDK", "USDN", "USD1", "RLUSD", "USDG",
        "USDX", "USDY", "EURT", "EURC", "EURI", "AEUR", "EURS", "XSGD", "BIDR", "IDRT",
        "BVND",
    }
)  # fmt: skip
FIAT = frozenset({"USD", "EUR", "GBP", "TRY", "BRL", "AUD", "JPY", "RUB", "UAH", "ZAR", "PLN", "ARS", "MXN"})
_LEVERAGED = re.compile(r"^(?P<underlying>[A-Z0-9]{2,})(?P<suffix>UP|DOWN|BULL|BEAR|[2-5]L|[2-5]S)$")


YEAR_SECONDS = 365.25 * 86_400


class TimeframeError(InvalidInput, ValueError):
    """An unknown timeframe (a 422 from any caller; a ValueError for validators); lists the valid ones."""


def timeframe_ms(timeframe: str) -> int:
    """Duration of one bar in milliseconds: the product's one timeframe parser."""
    try:
        return TIMEFRAME_MS[timeframe]
    except (KeyError, TypeError):
        raise TimeframeError(
            f"unknown timeframe {timeframe!r}; valid: {', '.join(VALID_TIMEFRAMES)}"
        ) from None


def timeframe_delta(timeframe: str) -> timedelta:
    return timedelta(milliseconds=timeframe_ms(timeframe))


def bars_per_year(timeframe: str) -> float:
    """Bars in a calendar year of a market that never closes (crypto), for annualising."""
    return YEAR_SECONDS * 1000 / timeframe_ms(timeframe)


def to_ms(moment: datetime) -> int:
    """Epoch milliseconds of a datetime (naive means UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def bar_open(ms: int, timeframe: str) -> int:
    """Open time of the bar that contains `ms`."""
    step = timeframe_ms(timeframe)
    offset = _WEEK_OFFSET_MS if timeframe == "1w" else 0
    return (ms - offset) // step * step + offset


def ceil_bar(ms: int, timeframe: str) -> int:
    """The first bar open at or after `ms`."""
    opened = bar_open(ms, timeframe)
    return opened if opened == ms else opened + timeframe_ms(timeframe)


def last_closed_open(now_ms: int, timeframe: str) -> int:
    """Open time of the latest bar that is closed at `now_ms` (ts + timeframe <= now)."""
    return bar_open(now_ms, timeframe) - timeframe_ms(timeframe)


def closed_mask(ts: npt.NDArray[np.int64], timeframe: str, now_ms: int) -> npt.NDArray[np.bool_]:
    """Which bars (by open time) are closed at `now_ms`."""
    return np.asarray(ts + timeframe_ms(timeframe) <= now_ms)


def normalise_symbol(symbol: str) -> str:
    """Upper-case unified ccxt symbol; raises ValueError for anything but BASE/QUOTE."""
    cleaned = symbol.strip().upper()
    if not SYMBOL_PATTERN.fullmatch(cleaned):
        raise ValueError(f"malformed symbol {symbol!r}: use the unified form BASE/QUOTE, e.g. BTC/USDT")
    if len(cleaned) > MAX_SYMBOL_LENGTH:
        raise ValueError(f"symbol {symbol!r} is longer than {MAX_SYMBOL_LENGTH} characters")
    return cleaned


def normalise_exchange(exchange: str) -> str:
    cleaned = exchange.strip().lower()
    if not EXCHANGE_PATTERN.fullmatch(cleaned):
        raise ValueError(f"malformed exchange id {exchange!r}: use a ccxt id such as 'bybit' or 'binance'")
    return cleaned


@dataclass(frozen=True)
class Gap:
    """Missing bars: every open time in [start, end] (inclusive, epoch ms) on the timeframe grid."""

    start: int
    end: int

    def bars(self, timeframe: str) -> int:
        return (self.end - self.start) // timeframe_ms(timeframe) + 1


def find_gaps(ts: npt.NDArray[np.int64], timeframe: str) -> list[Gap]:
    """Holes inside a sorted series of bar open times."""
    if len(ts) < 2:
        return []
    step = timeframe_ms(timeframe)
    diffs = np.diff(ts)
    where = np.flatnonzero(diffs > step)
    return [Gap(start=int(ts[i] + step), end=int(ts[i + 1] - step)) for i in where]


def expected_bars(first: int, last: int, timeframe: str) -> int:
    """Bars on the grid from `first` to `last` inclusive."""
    return (last - first) // timeframe_ms(timeframe) + 1


@dataclass(frozen=True)
class FetchPlan:
    """Ranges of bar open times (inclusive) to download: gap backfills first, then the tail up to now."""

    gap_ranges: tuple[tuple[int, int], ...] = ()
    tail: tuple[int, int] | None = None

    @property
    def ranges(self) -> tuple[tuple[int, int], ...]:
        return self.gap_ranges + ((self.tail,) if self.tail else ())


def plan_fetch(
    *,
    timeframe: str,
    now_ms: int,
    last_stored: int | None,
    gaps: Sequence[Gap] = (),
    since_ms: int | None = None,
    limit: int | None = None,
    default_history: int = DEFAULT_HISTORY_BARS,
    max_bars: int = MAX_BARS_PER_FETCH,
) -> FetchPlan:
    """Decide what to download so the store holds every closed bar up to `now_ms`.

    Without `since` the download resumes after the last stored bar (or starts `default_history`
    bars back); with `since` it starts there. `limit` (at most `max_bars`) caps the tail.
    """
    step = timeframe_ms(timeframe)
    newest = last_closed_open(now_ms, timeframe)
    if since_ms is not None:
        start = ceil_bar(since_ms, timeframe)
    elif last_stored is not None:
        start = last_stored + step
    else:
        start = newest - (max(limit or default_history, 1) - 1) * step
    end = min(newest, start + (min(limit or max_bars, max_bars) - 1) * step)
    gap_ranges = tuple((gap.start, gap.end) for gap in gaps if gap.start <= newest and gap.end < start)
    return FetchPlan(gap_ranges=gap_ranges, tail=(start, end) if start <= end else None)


def page_ranges(start: int, end: int, timeframe: str, page_size: int) -> list[tuple[int, int]]:
    """Split [start, end] into pages of at most `page_size` bars."""
    step = timeframe_ms(timeframe)
    span = page_size * step
    return [(lo, min(end, lo + span - step)) for lo in range(start, end + 1, span)]


# --- discovery ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class MarketInfo:
    """What discovery needs from one exchange market."""

    symbol: str
    base: str
    quote: str
    spot: bool
    active: bool


@dataclass(frozen=True)
class Candidate:
    symbol: str
    quote_volume_24h: float


@dataclass(frozen=True)
class DiscoveryOutcome:
    selected: tuple[Candidate, ...]
    excluded: Mapping[str, int] = field(default_factory=dict)
    considered: int = 0


def is_leveraged_token(base: str) -> bool:
    """BTC3L, ETHUP, XRPBULL, ...; coins that merely end in 'UP' with a one-letter prefix (JUP) are not."""
    return _LEVERAGED.fullmatch(base.upper()) is not None


def is_stable_base(base: str) -> bool:
    """Stablecoins and fiat: pairs on them track a peg, not a market worth a signal."""
    return base.upper() in STABLECOINS or base.upper() in FIAT


def _exclusion(market: MarketInfo, quote: str) -> str | None:
    if not market.spot:
        return "not_spot"
    if market.quote != quote:
        return "other_quote"
    if not market.active:
        return "inactive"
    if is_leveraged_token(market.base):
        return "leveraged"
    if is_stable_base(market.base):
        return "stablecoin"
    if not SYMBOL_PATTERN.fullmatch(market.symbol):
        # A symbol the product could not be asked for (control characters included, which PostgreSQL
        # refuses) never reaches the watchlist, whose symbols are keys everywhere.
        return "malformed_symbol"
    return None


def select_discovered(
    markets: Iterable[MarketInfo],
    quote_volumes: Mapping[str, float | None],
    *,
    quote: str,
    top_n: int,
    min_quote_volume: float,
) -> DiscoveryOutcome:
    """Active spot pairs in `quote`, no leveraged tokens or pegged bases, top N by 24h quote volume."""
    excluded: dict[str, int] = {}
    eligible: list[Candidate] = []
    considered = 0
    for market in markets:
        considered += 1
        reason = _exclusion(market, quote)
        volume = quote_volumes.get(market.symbol)
        if reason is None and (volume is None or not np.isfinite(volume)):
            reason = "no_ticker"
        elif reason is None and volume is not None and volume < min_quote_volume:
            reason = "below_min_volume"
        if reason is not None:
            excluded[reason] = excluded.get(reason, 0) + 1
            continue
        eligible.append(Candidate(symbol=market.symbol, quote_volume_24h=float(volume or 0.0)))
    eligible.sort(key=lambda c: (-c.quote_volume_24h, c.symbol))
    if len(eligible) > top_n:
        excluded["beyond_top_n"] = len(eligible) - top_n
    return DiscoveryOutcome(selected=tuple(eligible[:top_n]), excluded=excluded, considered=considered)


# --- watchlist ---------------------------------------------------------------------------------


class Series(NamedTuple):
    """A price series: the bars the store keeps for one exchange, symbol and timeframe."""

    exchange: str
    symbol: str
    timeframe: str


@dataclass(frozen=True, order=True)
class Pair:
    """The product's one pair: what every job fetches, trains, predicts and trades — a price series
    and the horizon (in bars) its labels, models and trades use."""

    exchange: str
    symbol: str
    timeframe: str
    horizon_steps: int

    @classmethod
    def parse(cls, *, exchange: str, symbol: str, timeframe: str, horizon_steps: int) -> Pair:
        """A normalised, valid pair; ValueError naming what is wrong."""
        timeframe_ms(timeframe)
        if not 1 <= horizon_steps <= MAX_HORIZON_STEPS:
            raise ValueError(f"horizon_steps must be from 1 to {MAX_HORIZON_STEPS}, not {horizon_steps}")
        return cls(normalise_exchange(exchange), normalise_symbol(symbol), timeframe, horizon_steps)

    @property
    def series(self) -> Series:
        return Series(self.exchange, self.symbol, self.timeframe)

    def key(self) -> tuple[str, str, str, int]:
        return (self.exchange, self.symbol, self.timeframe, self.horizon_steps)

    def as_dict(self) -> dict[str, str | int]:
        """The four fields by name, as API models and table rows take them."""
        return {
            "exchange": self.exchange,
            "symbol": self.symbol,
            "timeframe": self.timeframe,
            "horizon_steps": self.horizon_steps,
        }


def merge_discovery(
    current: Sequence[tuple[str, str]], discovered: Sequence[str]
) -> tuple[list[str], list[str]]:
    """Given (symbol, source) entries of one exchange, which discovered symbols to add and which to drop.

    Manual entries are never dropped; discovered entries no longer selected are.
    """
    existing = {symbol: source for symbol, source in current}
    wanted = set(discovered)
    added = [symbol for symbol in discovered if symbol not in existing]
    removed = sorted(s for s, source in existing.items() if source == "discover" and s not in wanted)
    return added, removed
