"""A local exchange that speaks the public REST subset ccxt uses, for tests and the demo.

Bybit v5 spot (`/v5/market/instruments-info`, `/kline`, `/tickers`, `/time`) and Binance spot
(`/api/v3/exchangeInfo`, `/klines`, `/ticker/24hr`, `/time`, `/ping`) answer from one set of markets
on one server, so ccxt's own request building, pagination and parsing run unmodified against it.

Candles are deterministic: the bar at `ts` is a pure function of (seed, symbol, timeframe, ts). Each
series is a geometric random walk built in blocks of 1024 bars: a coarse walk with smoothly varying
volatility regimes fixes each block's end points, and inside a block a Brownian bridge (with
occasional jumps) joins them, so any window is generated from at most a few blocks, vectorised.
Like a real exchange the peer returns only bars opened before its "now": the closed ones plus the
forming one.

A learnable regime, for the demo and for anyone trying a model against the peer: the markets in
`CYCLE_BASES` (SOL, XRP, DOGE quoted in USDT) carry a deterministic six-hour cycle on top of their walk,
log price += `0.25 × daily volatility × sin(2π t / 6 h + phase)`, the phases a third of a cycle apart.
Over the default 12-bar (3 h) horizon of 15 m bars that moves the forward return by up to ±2 × the
amplitude, about 1.4 standard deviations of the walk's own 3 h noise, and the phase is a function of
the time of day (6 h divides 24 h) and of the recent returns, both model features: a model trained on
these pairs earns a test AUC well above the model policy's 0.55 (the phase alone ranks the forward
returns with an AUC of about 0.87) and signals BUY ahead of each rise. Every other market stays a
pure random walk (its bars are exactly what they were without the regime); see `Cycle`.

Faults (429 with Retry-After, 5xx, slow answers, unknown symbol, missing candles) are injected
through `ExchangePeer.inject` / `add_hole`.
"""

from __future__ import annotations

import asyncio
import json
import math
import threading
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from myassistant.core import clock as clock_module
from myassistant.core.clock import Clock, FrozenClock

Array = npt.NDArray[np.float64]

DAY_MS = 86_400_000
BLOCK = 1024
ORIGIN_MS = int(datetime(2017, 1, 2, tzinfo=UTC).timestamp() * 1000)  # a Monday: weekly bars align
END_MS = int(datetime(2040, 1, 1, tzinfo=UTC).timestamp() * 1000)
ANCHOR_MS = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp() * 1000)  # each market's `price` holds here
TICKER_TIMEFRAME = "15m"  # tickers (last price, 24h volume) are consistent with this series

INTERVALS_MS: dict[str, int] = {
    "1m": 60_000,
    "3m": 180_000,
    "5m": 300_000,
    "15m": 900_000,
    "30m": 1_800_000,
    "1h": 3_600_000,
    "2h": 7_200_000,
    "4h": 14_400_000,
    "6h": 21_600_000,
    "12h": 43_200_000,
    "1d": DAY_MS,
    "1w": 7 * DAY_MS,
}
BYBIT_INTERVALS = {
    "1": "1m", "3": "3m", "5": "5m", "15": "15m", "30": "30m", "60": "1h", "120": "2h",
    "240": "4h", "360": "6h", "720": "12h", "D": "1d", "W": "1w",
}  # fmt: skip
BINANCE_INTERVALS = {name: name for name in INTERVALS_MS}


CYCLE_PERIOD_MS = 6 * 3_600_000
CYCLE_AMPLITUDE = 0.25  # of the market's daily volatility, in log price


@dataclass(frozen=True)
class Cycle:
    """The learnable regime: `amplitude × sin(2π t / period + phase)` added to the log price at time t."""

    amplitude: float
    phase: float
    period_ms: int = CYCLE_PERIOD_MS

    def offset(self, at_ms: npt.NDArray[np.int64]) -> Array:
        """The log-price offset at each instant `at_ms` (epoch ms)."""
        angle = 2 * np.pi * ((at_ms - ORIGIN_MS) % self.period_ms) / self.period_ms + self.phase
        return np.asarray(self.amplitude * np.sin(angle), dtype=np.float64)


@dataclass(frozen=True)
class PeerMarket:
    """One spot market: level at 2026-01-01, typical 24h quote volume and daily volatility; `cycle`
    adds the learnable regime (None: a pure random walk)."""

    base: str
    quote: str
    price: float
    daily_quote_volume: float
    daily_volatility: float = 0.05
    active: bool = True
    listed: datetime | None = None
    cycle: Cycle | None = None

    @property
    def id(self) -> str:
        return f"{self.base}{self.quote}"

    @property
    def symbol(self) -> str:
        return f"{self.base}/{self.quote}"

    @property
    def price_decimals(self) -> int:
        return max(0, 6 - math.floor(math.log10(self.price)))

    @property
    def listed_ms(self) -> int:
        return ORIGIN_MS if self.listed is None else int(self.listed.timestamp() * 1000)


# The markets with the learnable regime, each with its phase (a third of a cycle apart).
CYCLE_BASES: dict[str, float] = {"SOL": 0.0, "XRP": 2 * math.pi / 3, "DOGE": 4 * math.pi / 3}


def _m(
    base: str, price: float, volume: float, vol: float = 0.05, quote: str = "USDT", **kw: Any
) -> PeerMarket:
    if quote == "USDT" and base in CYCLE_BASES:
        kw["cycle"] = Cycle(amplitude=CYCLE_AMPLITUDE * vol, phase=CYCLE_BASES[base])
    return PeerMarket(base, quote, price, volume, vol, **kw)


DEFAULT_MARKETS: tuple[PeerMarket, ...] = (
    # majors and mid caps, quoted in USDT
    _m("BTC", 95_000, 2.0e9, 0.025), _m("ETH", 3_300, 1.2e9, 0.035), _m("SOL", 190, 6.0e8),
    _m("XRP", 2.3, 4.5e8), _m("DOGE", 0.32, 3.2e8, 0.06), _m("BNB", 700, 2.4e8, 0.03),
    _m("ADA", 0.95, 1.8e8, 0.055), _m("SUI", 4.2, 1.5e8, 0.07), _m("LINK", 22, 1.2e8, 0.055),
    _m("AVAX", 38, 1.0e8, 0.06), _m("PEPE", 0.000018, 8.5e7, 0.08), _m("TRX", 0.25, 7.0e7, 0.03),
    _m("LTC", 105, 6.0e7, 0.045), _m("DOT", 7.5, 5.2e7, 0.055), _m("TON", 5.6, 4.6e7),
    _m("NEAR", 5.2, 4.0e7, 0.06), _m("BCH", 450, 3.6e7, 0.045), _m("APT", 9.5, 3.2e7, 0.06),
    _m("UNI", 13.5, 2.9e7, 0.06), _m("WIF", 2.1, 2.6e7, 0.09), _m("ARB", 0.78, 1.8e7, 0.065),
    _m("OP", 1.9, 1.7e7, 0.065), _m("SHIB", 0.000022, 1.6e7, 0.06), _m("FIL", 5.1, 1.5e7, 0.06),
    _m("INJ", 24, 1.4e7, 0.07), _m("ATOM", 6.8, 1.3e7, 0.055), _m("HBAR", 0.28, 1.25e7, 0.06),
    _m("ONDO", 1.3, 1.2e7, 0.08), _m("AAVE", 320, 1.15e7, 0.06), _m("TIA", 5.5, 1.1e7, 0.07),
    _m("SEI", 0.45, 1.05e7, 0.08), _m("RENDER", 7.1, 1.0e7, 0.07), _m("JUP", 0.95, 9.5e6, 0.08),
    _m("ETC", 27, 9.0e6), _m("ENA", 0.9, 8.5e6, 0.09), _m("STX", 1.6, 8.0e6, 0.07),
    _m("IMX", 1.4, 7.5e6, 0.07), _m("FET", 1.3, 7.0e6, 0.08), _m("GALA", 0.035, 6.5e6, 0.08),
    _m("MKR", 1_500, 6.0e6, 0.055), _m("ALGO", 0.38, 5.5e6, 0.06), _m("XLM", 0.42, 5.2e6, 0.055),
    _m("VET", 0.045, 4.8e6, 0.06), _m("SAND", 0.6, 4.5e6, 0.07), _m("MANA", 0.55, 4.2e6, 0.07),
    _m("CRV", 0.9, 4.0e6, 0.08), _m("LDO", 1.8, 3.7e6, 0.07), _m("GRT", 0.22, 3.4e6, 0.07),
    _m("RUNE", 4.8, 3.1e6, 0.08), _m("EGLD", 35, 2.9e6, 0.06), _m("FLOW", 0.8, 2.6e6, 0.06),
    _m("AXS", 6.5, 2.4e6, 0.07),
    # small caps, some below a 1M minimum volume, one listed days before the test clock
    _m("KAS", 0.12, 2.2e6, 0.08), _m("BONK", 0.00003, 2.0e6, 0.1), _m("FLOKI", 0.00018, 1.8e6, 0.09),
    _m("ORDI", 28, 1.6e6, 0.09), _m("PYTH", 0.38, 1.4e6, 0.08), _m("JASMY", 0.035, 1.2e6, 0.09),
    _m("ZRO", 5.4, 1.1e6, 0.08, listed=datetime(2025, 6, 2, tzinfo=UTC)), _m("MEW", 0.008, 9.0e5, 0.1),
    _m("TURBO", 0.009, 7.0e5, 0.11), _m("GMT", 0.2, 5.0e5, 0.08),
    _m("NEWCOIN", 0.5, 3.0e5, 0.15, listed=datetime(2026, 1, 10, tzinfo=UTC)),
    # leveraged tokens: busy, and never to be discovered
    _m("BTC3L", 0.012, 3.0e8, 0.08), _m("BTC3S", 0.9, 2.5e8, 0.08), _m("ETH3L", 0.0015, 1.6e8, 0.1),
    _m("ETH3S", 0.05, 1.2e8, 0.1), _m("ETHUP", 4.5, 9.0e7, 0.08), _m("ETHDOWN", 0.2, 7.0e7, 0.08),
    _m("BNBUP", 80, 5.0e7, 0.08), _m("XRPBULL", 0.003, 3.0e7, 0.1), _m("SOL2L", 15, 2.5e7, 0.1),
    _m("DOGE5S", 0.4, 1.5e7, 0.15), _m("EOSBEAR", 0.001, 1.2e7, 0.1),
    # pegged bases
    _m("USDC", 1.0, 9.0e8, 0.001), _m("FDUSD", 1.0, 6.0e8, 0.001), _m("DAI", 1.0, 4.0e7, 0.001),
    _m("TUSD", 1.0, 2.0e7, 0.002), _m("USDE", 1.0, 5.0e7, 0.001), _m("PYUSD", 1.0, 1.0e7, 0.001),
    _m("EUR", 1.04, 3.0e7, 0.004),
    # delisted / suspended
    _m("LUNA", 0.3, 5.0e8, 0.1, active=False), _m("FTT", 2.0, 2.0e8, 0.1, active=False),
    _m("SRM", 0.05, 1.0e8, 0.1, active=False),
    # other quotes
    _m("ETH", 0.035, 400, 0.03, quote="BTC"), _m("SOL", 0.002, 80, 0.04, quote="BTC"),
    _m("XRP", 0.000024, 30, 0.04, quote="BTC"), _m("BTC", 95_000, 4.0e8, 0.025, quote="USDC"),
    _m("ETH", 3_300, 2.0e8, 0.035, quote="USDC"), _m("SOL", 190, 5.0e7, 0.05, quote="USDC"),
    _m("BTC", 91_000, 5.0e7, 0.025, quote="EUR"),
)  # fmt: skip


# --- candles -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bars:
    """Columns of bars; `ts` are open times in epoch ms; `volume` is in base units."""

    ts: npt.NDArray[np.int64]
    open: Array
    high: Array
    low: Array
    close: Array
    volume: Array

    def __len__(self) -> int:
        return len(self.ts)

    def take(self, mask: npt.NDArray[np.bool_] | slice) -> Bars:
        return Bars(*(column[mask] for column in self.columns()))

    def columns(self) -> tuple[npt.NDArray[Any], ...]:
        return (self.ts, self.open, self.high, self.low, self.close, self.volume)


def _key(seed: int, symbol: str, step: int, part: int) -> list[int]:
    return [seed, zlib.crc32(symbol.encode()), step, part]


@lru_cache(maxsize=512)
def _coarse(seed: int, symbol: str, step: int, daily_volatility: float) -> tuple[Array, Array]:
    """Block end points of the log price (relative to the anchor) and each block's volatility regime."""
    blocks = (END_MS - ORIGIN_MS) // (step * BLOCK) + 1
    rng = np.random.default_rng(_key(seed, symbol, step, 0))
    smooth = np.convolve(rng.standard_normal(blocks + 7), np.ones(8) / math.sqrt(8), mode="valid")
    regime = np.clip(np.exp(0.45 * smooth), 0.35, 3.0)
    sigma_bar = daily_volatility * math.sqrt(step / DAY_MS)
    steps = sigma_bar * math.sqrt(BLOCK) * regime * rng.standard_normal(blocks)
    level = np.concatenate(([0.0], np.cumsum(steps)))
    anchor = (ANCHOR_MS - ORIGIN_MS) // (step * BLOCK)
    return level - level[anchor], regime


@lru_cache(maxsize=4096)
def _block(seed: int, market: PeerMarket, step: int, k: int) -> Bars:
    """The 1024 bars of block `k` for one market and bar length."""
    level, regime = _coarse(seed, market.id, step, market.daily_volatility)
    rng = np.random.default_rng(_key(seed, market.id, step, k + 1))
    sigma = market.daily_volatility * math.sqrt(step / DAY_MS) * regime[k]
    shocks = rng.standard_normal(BLOCK) * sigma
    jumps = (rng.random(BLOCK) < 0.003) * rng.standard_normal(BLOCK) * sigma * 6.0
    walk = np.cumsum(shocks + jumps)
    frac = np.arange(1, BLOCK + 1) / BLOCK
    bridge = walk - frac * walk[-1] + frac * (level[k + 1] - level[k])
    ts = ORIGIN_MS + (k * BLOCK + np.arange(BLOCK, dtype=np.int64)) * step
    log_close = math.log(market.price) + level[k] + bridge
    first_open = math.log(market.price) + level[k]
    if market.cycle is not None:  # the regime moves each bar's open and close instants
        log_close = log_close + market.cycle.offset(ts + step)
        first_open += float(market.cycle.offset(ts[:1])[0])
    log_open = np.concatenate(([first_open], log_close[:-1]))
    close, open_ = np.exp(log_close), np.exp(log_open)
    high = np.maximum(open_, close) * np.exp(np.abs(rng.standard_normal(BLOCK)) * sigma * 0.6)
    low = np.minimum(open_, close) * np.exp(-np.abs(rng.standard_normal(BLOCK)) * sigma * 0.6)
    hour = (ts % DAY_MS) / 3_600_000
    seasonal = 1.0 + 0.25 * np.cos(2 * np.pi * (hour - 14.0) / 24.0)
    activity = 1.0 + 0.5 * np.abs(log_close - log_open) / sigma
    per_bar = market.daily_quote_volume * step / DAY_MS
    quote_volume = per_bar * rng.lognormal(-0.08, 0.4, BLOCK) * seasonal * activity / 1.4 * regime[k] ** 0.2
    decimals = market.price_decimals
    return Bars(
        ts=ts,
        open=np.round(open_, decimals),
        high=np.round(high, decimals),
        low=np.round(low, decimals),
        close=np.round(close, decimals),
        volume=np.round(quote_volume / close, 4),
    )


def closed_bars(seed: int, market: PeerMarket, interval: str, start_ms: int, end_ms: int) -> Bars:
    """Every complete bar whose open time lies in [start_ms, end_ms], on the bar grid."""
    step = INTERVALS_MS[interval]
    first = max(-(-(max(start_ms, market.listed_ms) - ORIGIN_MS) // step), 0)
    last = min((end_ms - ORIGIN_MS) // step, (END_MS - ORIGIN_MS) // step - 1)
    if last < first:
        return _empty()
    blocks = [_block(seed, market, step, k) for k in range(first // BLOCK, last // BLOCK + 1)]
    joined = Bars(*(np.concatenate(parts) for parts in zip(*(b.columns() for b in blocks), strict=True)))
    offset = (first // BLOCK) * BLOCK
    return joined.take(slice(first - offset, last - offset + 1))


def _empty() -> Bars:
    nothing = np.empty(0)
    return Bars(np.empty(0, dtype=np.int64), nothing, nothing, nothing, nothing, nothing)


def forming_bar(seed: int, market: PeerMarket, interval: str, now_ms: int) -> Bars:
    """The bar still open at `now_ms`, as it looks so far."""
    step = INTERVALS_MS[interval]
    opened = ORIGIN_MS + (now_ms - ORIGIN_MS) // step * step
    full = closed_bars(seed, market, interval, opened, opened)
    if not len(full):
        return full
    frac = (now_ms - opened) / step
    open_ = full.open
    close = np.round(open_ + (full.close - open_) * frac, market.price_decimals)
    high = np.maximum(np.maximum(open_, close), open_ + (full.high - open_) * frac)
    low = np.minimum(np.minimum(open_, close), open_ + (full.low - open_) * frac)
    return Bars(full.ts, open_, high, low, close, np.round(full.volume * frac, 4))


def visible_bars(
    seed: int, market: PeerMarket, interval: str, start_ms: int, end_ms: int, now_ms: int
) -> Bars:
    """What the exchange shows for [start, end] at `now_ms`: closed bars plus the forming one."""
    step = INTERVALS_MS[interval]
    forming_open = ORIGIN_MS + (now_ms - ORIGIN_MS) // step * step
    closed = closed_bars(seed, market, interval, start_ms, min(end_ms, forming_open - step))
    if start_ms <= forming_open <= end_ms:
        forming = forming_bar(seed, market, interval, now_ms)
        return Bars(*(np.concatenate(pair) for pair in zip(closed.columns(), forming.columns(), strict=True)))
    return closed


# --- state and faults ----------------------------------------------------------------------------

FaultKind = Literal["rate_limit", "server_error", "timeout", "unknown_symbol"]


@dataclass
class Fault:
    """A scripted misbehaviour: after `skip` matching requests pass, the next `times` fail
    (`times=None`: every one until cleared)."""

    kind: FaultKind
    times: int | None = 1
    skip: int = 0
    path: str | None = None
    symbol: str | None = None
    retry_after: float = 0.05
    status: int = 503
    delay: float = 2.0

    def matches(self, path: str, symbol: str | None) -> bool:
        if self.times is not None and self.times <= 0:
            return False
        if self.path is not None and self.path not in path:
            return False
        return self.symbol is None or self.symbol.replace("/", "") == (symbol or "")


@dataclass(frozen=True)
class RequestRecord:
    path: str
    params: dict[str, str]
    status: int


class _GlobalClock:
    """Follows `myassistant.core.clock`, so a test's frozen clock drives the peer too."""

    def now(self) -> datetime:
        return clock_module.now()


@dataclass
class ExchangePeer:
    """The peer's world: markets, seed, clock, injected faults, missing candles and a request log."""

    seed: int = 7
    markets: Sequence[PeerMarket] = DEFAULT_MARKETS
    clock: Clock = field(default_factory=_GlobalClock)
    faults: list[Fault] = field(default_factory=list)
    holes: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    requests: list[RequestRecord] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self._by_id = {market.id: market for market in self.markets}

    def now(self) -> datetime:
        return self.clock.now()

    def now_ms(self) -> int:
        return int(self.now().timestamp() * 1000)

    def set_now(self, at: datetime) -> None:
        """Give the peer its own clock, detached from the product's."""
        self.clock = FrozenClock(at)

    def advance(self, delta: timedelta) -> None:
        if isinstance(self.clock, FrozenClock):
            self.clock.advance(delta)
        else:
            self.set_now(self.now() + delta)

    def market(self, market_id: str) -> PeerMarket | None:
        return self._by_id.get(market_id)

    def inject(self, kind: FaultKind, **options: Any) -> Fault:
        fault = Fault(kind=kind, **options)
        with self._lock:
            self.faults.append(fault)
        return fault

    def add_hole(self, symbol: str, start: datetime, end: datetime) -> None:
        """Candles of `symbol` opened in [start, end] are missing until `clear_holes`."""
        key = symbol.replace("/", "")
        span = (int(start.timestamp() * 1000), int(end.timestamp() * 1000))
        with self._lock:
            self.holes.setdefault(key, []).append(span)

    def reset(self) -> None:
        """Forget faults, holes and the request log; follow the product's clock again."""
        with self._lock:
            self.faults.clear()
            self.holes.clear()
            self.requests.clear()
        self.clock = _GlobalClock()

    def count(self, path_part: str) -> int:
        with self._lock:
            return sum(1 for record in self.requests if path_part in record.path)

    def take_fault(self, path: str, symbol: str | None) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.matches(path, symbol):
                    if fault.skip > 0:
                        fault.skip -= 1
                        return None
                    if fault.times is not None:
                        fault.times -= 1
                    return fault
        return None

    def record(self, path: str, params: dict[str, str], status: int) -> None:
        with self._lock:
            self.requests.append(RequestRecord(path, params, status))

    def bars(self, market: PeerMarket, interval: str, start_ms: int, end_ms: int) -> Bars:
        found = visible_bars(self.seed, market, interval, start_ms, end_ms, self.now_ms())
        with self._lock:
            holes = list(self.holes.get(market.id, ()))
        for lo, hi in holes:
            found = found.take((found.ts < lo) | (found.ts > hi))
        return found

    def ticker(self, market: PeerMarket) -> dict[str, float]:
        """24h statistics from the last 96 bars of the 15m series (the forming one included)."""
        now_ms = self.now_ms()
        bars = visible_bars(self.seed, market, TICKER_TIMEFRAME, now_ms - DAY_MS, now_ms, now_ms)
        if not len(bars):
            return {"last": 0.0, "open": 0.0, "high": 0.0, "low": 0.0, "volume": 0.0, "quote_volume": 0.0}
        return {
            "last": float(bars.close[-1]),
            "open": float(bars.open[0]),
            "high": float(bars.high.max()),
            "low": float(bars.low.min()),
            "volume": float(bars.volume.sum()),
            "quote_volume": float((bars.volume * bars.close).sum()),
        }


# --- wire formats --------------------------------------------------------------------------------


def _fmt(value: float, decimals: int) -> str:
    return f"{value:.{decimals}f}"


def _rows(bars: Bars, decimals: int) -> list[list[str]]:
    quote = bars.volume * bars.close
    return [
        [
            str(t),
            _fmt(o, decimals),
            _fmt(h, decimals),
            _fmt(lo, decimals),
            _fmt(c, decimals),
            f"{v:.4f}",
            f"{q:.4f}",
        ]
        for t, o, h, lo, c, v, q in zip(
            bars.ts.tolist(),
            bars.open.tolist(),
            bars.high.tolist(),
            bars.low.tolist(),
            bars.close.tolist(),
            bars.volume.tolist(),
            quote.tolist(),
            strict=True,
        )
    ]


def _kline_bars(
    peer: ExchangePeer, market: PeerMarket, interval: str, start: int | None, end: int | None, limit: int
) -> Bars:
    """A kline request's bars: the first `limit` from `start`, else the last `limit` up to `end`/now."""
    step = INTERVALS_MS[interval]
    hi = peer.now_ms() if end is None else min(end, peer.now_ms())
    if start is not None:
        return peer.bars(market, interval, start, min(hi, start + (limit - 1) * step)).take(slice(0, limit))
    bars = peer.bars(market, interval, hi - limit * step, hi)
    return bars.take(slice(max(len(bars) - limit, 0), None))


def _int_param(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    return int(raw) if raw not in (None, "") else None


class _BadParam(Exception):
    pass


def _limit(request: Request, default: int) -> int:
    try:
        value = _int_param(request, "limit")
    except ValueError:
        raise _BadParam("limit") from None
    return default if value is None else max(1, min(value, 1000))


# Bybit v5


def _bybit(result: Any, peer: ExchangePeer, code: int = 0, message: str = "OK") -> JSONResponse:
    return JSONResponse(
        {"retCode": code, "retMsg": message, "result": result, "retExtInfo": {}, "time": peer.now_ms()}
    )


def _bybit_instruments(peer: ExchangePeer, request: Request) -> Response:
    if request.query_params.get("category", "spot") != "spot":
        return _bybit({"category": request.query_params.get("category"), "list": []}, peer)
    rows = [
        {
            "symbol": m.id,
            "baseCoin": m.base,
            "quoteCoin": m.quote,
            "innovation": "0",
            "status": "Trading" if m.active else "Closed",
            "marginTrading": "none",
            "lotSizeFilter": {
                "basePrecision": "0.0001",
                "quotePrecision": _fmt(10.0**-m.price_decimals, m.price_decimals),
                "minOrderQty": "0.0001",
                "maxOrderQty": "1000000",
                "minOrderAmt": "1",
                "maxOrderAmt": "2000000",
            },
            "priceFilter": {"tickSize": _fmt(10.0**-m.price_decimals, m.price_decimals)},
        }
        for m in peer.markets
    ]
    return _bybit({"category": "spot", "list": rows, "nextPageCursor": ""}, peer)


def _bybit_kline(peer: ExchangePeer, request: Request) -> Response:
    market = peer.market(request.query_params.get("symbol", ""))
    if market is None:
        return _bybit({}, peer, 10001, "Not supported symbols")
    interval = BYBIT_INTERVALS.get(request.query_params.get("interval", ""))
    if interval is None:
        return _bybit({}, peer, 10001, "Invalid period!")
    try:
        start, end = _int_param(request, "start"), _int_param(request, "end")
        limit = _limit(request, 200)
    except (ValueError, _BadParam):
        return _bybit({}, peer, 10001, "params error")
    bars = _kline_bars(peer, market, interval, start, end, limit)
    rows = _rows(bars, market.price_decimals)[::-1]  # Bybit lists newest first
    return _bybit({"symbol": market.id, "category": "spot", "list": rows}, peer)


def _bybit_ticker_row(peer: ExchangePeer, market: PeerMarket) -> dict[str, str]:
    stats = peer.ticker(market)
    d = market.price_decimals
    change = stats["last"] / stats["open"] - 1 if stats["open"] else 0.0
    return {
        "symbol": market.id,
        "bid1Price": _fmt(stats["last"] - 10.0**-d, d),
        "bid1Size": "1.5",
        "ask1Price": _fmt(stats["last"] + 10.0**-d, d),
        "ask1Size": "1.2",
        "lastPrice": _fmt(stats["last"], d),
        "prevPrice24h": _fmt(stats["open"], d),
        "price24hPcnt": f"{change:.4f}",
        "highPrice24h": _fmt(stats["high"], d),
        "lowPrice24h": _fmt(stats["low"], d),
        "turnover24h": f"{stats['quote_volume']:.4f}",
        "volume24h": f"{stats['volume']:.4f}",
    }


def _bybit_tickers(peer: ExchangePeer, request: Request) -> Response:
    if request.query_params.get("category", "spot") != "spot":
        return _bybit({"category": request.query_params.get("category"), "list": []}, peer)
    wanted = request.query_params.get("symbol")
    if wanted is not None and peer.market(wanted) is None:
        return _bybit({}, peer, 10001, "Not supported symbols")
    markets = [peer.market(wanted)] if wanted else list(peer.markets)
    rows = [_bybit_ticker_row(peer, m) for m in markets if m is not None]
    return _bybit({"category": "spot", "list": rows}, peer)


def _bybit_time(peer: ExchangePeer, request: Request) -> Response:
    now_ms = peer.now_ms()
    return _bybit({"timeSecond": str(now_ms // 1000), "timeNano": str(now_ms * 1_000_000)}, peer)


# Binance spot


def _binance_error(code: int, message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"code": code, "msg": message}, status_code=status)


def _binance_exchange_info(peer: ExchangePeer, request: Request) -> Response:
    symbols = [
        {
            "symbol": m.id,
            "status": "TRADING" if m.active else "BREAK",
            "baseAsset": m.base,
            "baseAssetPrecision": 8,
            "quoteAsset": m.quote,
            "quotePrecision": 8,
            "quoteAssetPrecision": 8,
            "orderTypes": ["LIMIT", "MARKET"],
            "icebergAllowed": True,
            "ocoAllowed": True,
            "isSpotTradingAllowed": True,
            "isMarginTradingAllowed": False,
            "filters": [
                {
                    "filterType": "PRICE_FILTER",
                    "minPrice": _fmt(10.0**-m.price_decimals, m.price_decimals),
                    "maxPrice": "10000000",
                    "tickSize": _fmt(10.0**-m.price_decimals, m.price_decimals),
                },
                {"filterType": "LOT_SIZE", "minQty": "0.0001", "maxQty": "9000000", "stepSize": "0.0001"},
            ],
            "permissions": [],
            "permissionSets": [["SPOT"]],
        }
        for m in peer.markets
    ]
    return JSONResponse(
        {
            "timezone": "UTC",
            "serverTime": peer.now_ms(),
            "rateLimits": [],
            "exchangeFilters": [],
            "symbols": symbols,
        }
    )


def _binance_klines(peer: ExchangePeer, request: Request) -> Response:
    market = peer.market(request.query_params.get("symbol", ""))
    if market is None:
        return _binance_error(-1121, "Invalid symbol.")
    interval = BINANCE_INTERVALS.get(request.query_params.get("interval", ""))
    if interval is None:
        return _binance_error(-1120, "Invalid interval.")
    try:
        start, end = _int_param(request, "startTime"), _int_param(request, "endTime")
        limit = _limit(request, 500)
    except (ValueError, _BadParam):
        return _binance_error(-1100, "Illegal characters found in a parameter.")
    bars = _kline_bars(peer, market, interval, start, end, limit)
    step = INTERVALS_MS[interval]
    rows = [
        [int(r[0]), r[1], r[2], r[3], r[4], r[5], int(r[0]) + step - 1, r[6], 100, "0", "0", "0"]
        for r in _rows(bars, market.price_decimals)
    ]
    return JSONResponse(rows)


def _binance_ticker_row(peer: ExchangePeer, market: PeerMarket) -> dict[str, Any]:
    stats = peer.ticker(market)
    d = market.price_decimals
    now_ms = peer.now_ms()
    return {
        "symbol": market.id,
        "priceChange": _fmt(stats["last"] - stats["open"], d),
        "priceChangePercent": f"{(stats['last'] / stats['open'] - 1) * 100 if stats['open'] else 0:.3f}",
        "weightedAvgPrice": _fmt(stats["quote_volume"] / stats["volume"] if stats["volume"] else 0, d),
        "prevClosePrice": _fmt(stats["open"], d),
        "lastPrice": _fmt(stats["last"], d),
        "lastQty": "1.0",
        "bidPrice": _fmt(stats["last"] - 10.0**-d, d),
        "bidQty": "1.5",
        "askPrice": _fmt(stats["last"] + 10.0**-d, d),
        "askQty": "1.2",
        "openPrice": _fmt(stats["open"], d),
        "highPrice": _fmt(stats["high"], d),
        "lowPrice": _fmt(stats["low"], d),
        "volume": f"{stats['volume']:.4f}",
        "quoteVolume": f"{stats['quote_volume']:.4f}",
        "openTime": now_ms - DAY_MS,
        "closeTime": now_ms,
        "firstId": 1,
        "lastId": 1000,
        "count": 1000,
    }


def _binance_ticker_24hr(peer: ExchangePeer, request: Request) -> Response:
    single = request.query_params.get("symbol")
    if single is not None:
        market = peer.market(single)
        if market is None:
            return _binance_error(-1121, "Invalid symbol.")
        return JSONResponse(_binance_ticker_row(peer, market))
    wanted = request.query_params.get("symbols")
    try:
        ids = json.loads(wanted) if wanted else [m.id for m in peer.markets]
    except ValueError:
        return _binance_error(-1100, "Illegal characters found in parameter 'symbols'.")
    markets = [peer.market(str(i)) for i in ids]
    if any(m is None for m in markets):
        return _binance_error(-1121, "Invalid symbol.")
    return JSONResponse([_binance_ticker_row(peer, m) for m in markets if m is not None])


def _binance_time(peer: ExchangePeer, request: Request) -> Response:
    return JSONResponse({"serverTime": peer.now_ms()})


def _binance_ping(peer: ExchangePeer, request: Request) -> Response:
    return JSONResponse({})


# --- faults and the app --------------------------------------------------------------------------

Handler = Callable[[ExchangePeer, Request], Response]


def _is_binance(path: str) -> bool:
    return path.startswith("/api/")


def _fault_response(fault: Fault, path: str, symbol: str | None) -> Response | None:
    if fault.kind == "rate_limit":
        headers = {"Retry-After": f"{fault.retry_after:g}"}
        if _is_binance(path):
            body: dict[str, Any] = {"code": -1003, "msg": "Too many requests; please use the websocket."}
        else:
            body = {"retCode": 10006, "retMsg": "Too many visits!", "result": {}, "retExtInfo": {}}
        return JSONResponse(body, status_code=429, headers=headers)
    if fault.kind == "server_error":
        text = f"<html><body><h1>{fault.status} Service Temporarily Unavailable</h1></body></html>"
        return PlainTextResponse(text, status_code=fault.status, media_type="text/html")
    if fault.kind == "unknown_symbol":
        if _is_binance(path):
            return _binance_error(-1121, "Invalid symbol.")
        return JSONResponse(
            {"retCode": 10001, "retMsg": "Not supported symbols", "result": {}, "retExtInfo": {}, "time": 0}
        )
    return None  # timeout: answer normally, but late


def _endpoint(peer: ExchangePeer, handler: Handler) -> Callable[[Request], Any]:
    async def endpoint(request: Request) -> Response:
        path = request.url.path
        symbol = request.query_params.get("symbol")
        fault = peer.take_fault(path, symbol)
        response = _fault_response(fault, path, symbol) if fault else None
        if fault is not None and fault.kind == "timeout":
            await asyncio.sleep(fault.delay)
        if response is None:
            response = handler(peer, request)
        peer.record(path, dict(request.query_params), response.status_code)
        return response

    return endpoint


ROUTES: dict[str, Handler] = {
    "/v5/market/instruments-info": _bybit_instruments,
    "/v5/market/kline": _bybit_kline,
    "/v5/market/tickers": _bybit_tickers,
    "/v5/market/time": _bybit_time,
    "/api/v3/exchangeInfo": _binance_exchange_info,
    "/api/v3/klines": _binance_klines,
    "/api/v3/ticker/24hr": _binance_ticker_24hr,
    "/api/v3/time": _binance_time,
    "/api/v3/ping": _binance_ping,
}


def create_app(peer: ExchangePeer | None = None) -> Starlette:
    """The ASGI app for `peer` (a fresh default world when omitted); the peer is `app.state.peer`."""
    peer = peer or ExchangePeer()
    app = Starlette(routes=[Route(path, _endpoint(peer, handler)) for path, handler in ROUTES.items()])
    app.state.peer = peer
    return app
