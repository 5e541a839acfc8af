"""The one place ccxt clients are built and called: timeouts, rate limits, retries, error mapping.

Clients are pooled per (exchange, base URL): each borrowed client serves one thread at a time (ccxt
keeps per-request state such as the last response headers on the instance), and every client of a
pool shares the markets the first one loaded, since `load_markets` is the expensive call.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from difflib import get_close_matches
from typing import Any, TypeVar
from urllib.parse import urlsplit

import numpy as np
import numpy.typing as npt

from myassistant.core.config import Settings
from myassistant.core.errors import DomainError, InvalidInput, UpstreamError, UpstreamUnavailable
from myassistant.core.retry import RetryPolicy, retry_after_seconds
from myassistant.market.logic import MarketInfo, page_ranges, timeframe_ms

logger = logging.getLogger("myassistant.market.exchange")

T = TypeVar("T")
PAGE_SIZE = 1000  # both Bybit and Binance serve at most 1000 candles per request


@dataclass(frozen=True)
class ClientOptions:
    timeout_s: float = 10.0
    retry: RetryPolicy = field(default_factory=lambda: RetryPolicy(jitter=0.25))
    markets_ttl_s: float = 3600.0
    workers: int = 4
    burst_s: float = 5.0  # see _Pool.throttle


@dataclass
class _Pool:
    idle: list[Any] = field(default_factory=list)
    source: Any = None  # the client whose markets the others share
    loaded_at: float = -math.inf
    lock: threading.Lock = field(default_factory=threading.Lock)
    markets_lock: threading.Lock = field(default_factory=threading.Lock)
    theoretical_arrival: float = 0.0
    burst_s: float = 5.0

    def throttle(self, interval_ms: float, cost: float | None) -> None:
        """One bucket for the whole pool (GCRA): on average ccxt's rate for the endpoint, with bursts
        of up to `burst_s` seconds' worth of requests (a watchlist cycle), as exchanges' windows allow."""
        charge = interval_ms * (1 if cost is None else cost) / 1000
        with self.lock:
            now = time.monotonic()
            arrival = max(self.theoretical_arrival, now)
            start = max(now, arrival - self.burst_s)
            self.theoretical_arrival = arrival + charge
        if start > now:
            time.sleep(start - now)


def rewrite_urls(urls: Any, base: str) -> Any:
    """Point every URL in ccxt's `urls['api']` (nested dicts too) at `base`, keeping each path."""
    if isinstance(urls, dict):
        return {key: rewrite_urls(value, base) for key, value in urls.items()}
    if isinstance(urls, str):
        return base.rstrip("/") + urlsplit(urls).path
    return urls


def build_client(exchange: str, *, override: str | None, timeout_s: float) -> Any:
    """A ccxt client for spot markets with rate limiting and timeouts, aimed at `override` if set."""
    import ccxt  # loaded on first use, not when the service starts (~0.5 s, ~30 MB)

    if exchange not in ccxt.exchanges:
        close = get_close_matches(exchange, ccxt.exchanges, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise InvalidInput(f"unknown exchange {exchange!r}: not a ccxt exchange id{hint}")
    client = getattr(ccxt, exchange)({"enableRateLimit": True, "timeout": int(timeout_s * 1000)})
    fetch_markets = client.options.get("fetchMarkets")
    base_options = fetch_markets if isinstance(fetch_markets, dict) else {}
    client.options["fetchMarkets"] = {**base_options, "types": ["spot"]}
    client.options["defaultType"] = "spot"
    if override:
        client.urls["api"] = rewrite_urls(client.urls["api"], override)
    return client


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 300 else text[:297] + "..."


class ExchangeClients:
    """Process-wide pools of ccxt clients with shared markets; `call` retries and maps errors."""

    def __init__(self, options: ClientOptions | None = None) -> None:
        self.options = options or ClientOptions()
        self._pools: dict[tuple[str, str | None], _Pool] = {}
        self._lock = threading.Lock()
        self.sleep: Callable[[float], None] = time.sleep

    def configure(self, options: ClientOptions) -> ClientOptions:
        """Replace the options (timeouts, retries) and drop every pooled client; returns the old ones."""
        previous, self.options = self.options, options
        self.reset()
        return previous

    def reset(self) -> None:
        with self._lock:
            self._pools.clear()

    def _pool(self, key: tuple[str, str | None]) -> _Pool:
        with self._lock:
            return self._pools.setdefault(key, _Pool(burst_s=self.options.burst_s))

    @contextmanager
    def borrow(self, exchange: str, override: str | None) -> Iterator[Any]:
        pool = self._pool((exchange, override))
        with pool.lock:
            client = pool.idle.pop() if pool.idle else None
        if client is None:
            client = build_client(exchange, override=override, timeout_s=self.options.timeout_s)
            # ccxt throttles per instance; pooled clients share the pool's bucket instead.
            client.throttle = lambda cost=None, c=client: pool.throttle(c.rateLimit, cost)
        try:
            yield client
        finally:
            with pool.lock:
                pool.idle.append(client)

    def call(self, exchange: str, override: str | None, what: str, action: Callable[[Any], T]) -> T:
        """Run `action(client)` with markets loaded; retry transient failures, map ccxt errors to ours."""
        import ccxt

        policy = self.options.retry
        attempt = 0
        while True:
            attempt += 1
            with self.borrow(exchange, override) as client:
                try:
                    self._ensure_markets(exchange, override, client)
                    return action(client)
                except ccxt.NetworkError as exc:
                    delay = self._retry_delay(exc, client, attempt, policy, exchange, what)
                    reason = _short(exc)
                except ccxt.BaseError as exc:
                    raise _permanent(exc, exchange, what) from exc
                except DomainError:
                    raise
                except Exception as exc:  # ccxt choking on a malformed answer is the exchange's fault
                    logger.exception("%s %s: unexpected failure", exchange, what)
                    raise UpstreamError(
                        f"{exchange} {what}: unexpected answer ({type(exc).__name__})"
                    ) from exc
            logger.warning("%s %s failed (%s); retry %d in %.2fs", exchange, what, reason, attempt, delay)
            self.sleep(delay)

    def _retry_delay(
        self, exc: Exception, client: Any, attempt: int, policy: RetryPolicy, exchange: str, what: str
    ) -> float:
        import ccxt

        limited = isinstance(exc, ccxt.RateLimitExceeded | ccxt.DDoSProtection)
        retry_after = retry_after_seconds(client.last_response_headers) if limited else None
        if retry_after is not None and retry_after > policy.max_retry_after_s:
            raise UpstreamUnavailable(
                f"{exchange} rate-limited {what} and asks to wait {retry_after:.0f}s; try again later",
                retry_after=retry_after,
            ) from exc
        if attempt >= policy.attempts:
            kind = (
                "rate limit"
                if limited
                else "timeout"
                if isinstance(exc, ccxt.RequestTimeout)
                else "unavailable"
            )
            raise UpstreamUnavailable(
                f"{exchange} {what} failed after {attempt} attempts ({kind}): {_short(exc)}"
            ) from exc
        return policy.delay(attempt, retry_after)

    def _ensure_markets(self, exchange: str, override: str | None, client: Any) -> None:
        pool = self._pool((exchange, override))
        with pool.markets_lock:
            fresh = time.monotonic() - pool.loaded_at < self.options.markets_ttl_s
            if pool.source is None or not fresh:
                client.load_markets(reload=True)
                pool.source, pool.loaded_at = client, time.monotonic()
            elif client is not pool.source and client.markets is not pool.source.markets:
                client.set_markets_from_exchange(pool.source)

    # --- operations the service uses -------------------------------------------------------------

    def markets(self, settings: Settings, exchange: str) -> dict[str, Any]:
        markets: dict[str, Any] = self.call(
            exchange, settings.exchange_api_override, "load_markets", lambda c: c.markets
        )
        return markets

    def check_pair(self, settings: Settings, exchange: str, symbol: str, timeframe: str) -> None:
        """InvalidInput naming the symbol (or timeframe) when the exchange does not list it."""
        override = settings.exchange_api_override

        def check(client: Any) -> None:
            if symbol not in client.markets:
                spot = [s for s, m in client.markets.items() if m.get("spot")]
                close = get_close_matches(symbol, spot, n=3, cutoff=0.7)
                hint = f"; did you mean {', '.join(close)}?" if close else ""
                raise InvalidInput(f"unknown symbol {symbol!r} on {exchange}{hint}", symbol=symbol)
            if client.timeframes and timeframe not in client.timeframes:
                raise InvalidInput(
                    f"{exchange} has no {timeframe!r} candles; it offers {', '.join(client.timeframes)}"
                )

        self.call(exchange, override, "load_markets", check)

    def ohlcv_pages(
        self,
        settings: Settings,
        *,
        exchange: str,
        symbol: str,
        timeframe: str,
        ranges: Sequence[tuple[int, int]],
        page_size: int = PAGE_SIZE,
    ) -> Iterator[npt.NDArray[np.float64]]:
        """Candles for each [start, end] range of open times, one (n, 6) array per request."""
        step_ranges = [page for lo, hi in ranges for page in page_ranges(lo, hi, timeframe, page_size)]
        for lo, hi in step_ranges:
            count = (hi - lo) // timeframe_ms(timeframe) + 1

            def fetch(client: Any, lo: int = lo, hi: int = hi, count: int = count) -> list[list[Any]]:
                rows: list[list[Any]] = client.fetch_ohlcv(
                    symbol, timeframe, since=lo, limit=count, params={"until": hi}
                )
                return rows

            rows = self.call(
                exchange, settings.exchange_api_override, f"fetch_ohlcv {symbol} {timeframe}", fetch
            )
            yield _as_array(rows, lo, hi)

    def market_infos(self, settings: Settings, exchange: str) -> list[MarketInfo]:
        return [
            MarketInfo(
                symbol=symbol,
                base=str(m.get("base") or ""),
                quote=str(m.get("quote") or ""),
                spot=bool(m.get("spot")),
                active=m.get("active") is not False,
            )
            for symbol, m in self.markets(settings, exchange).items()
        ]

    def quote_volumes(self, settings: Settings, exchange: str) -> dict[str, float | None]:
        """24h volume in the quote currency per symbol (computed from base volume × last when missing)."""
        tickers: dict[str, Any] = self.call(
            exchange, settings.exchange_api_override, "fetch_tickers", lambda c: c.fetch_tickers()
        )
        volumes: dict[str, float | None] = {}
        for symbol, ticker in tickers.items():
            quote_volume = ticker.get("quoteVolume")
            if quote_volume is None and ticker.get("baseVolume") is not None and ticker.get("last"):
                quote_volume = float(ticker["baseVolume"]) * float(ticker["last"])
            volumes[symbol] = None if quote_volume is None else float(quote_volume)
        return volumes


def _as_array(rows: Sequence[Sequence[Any]], lo: int, hi: int) -> npt.NDArray[np.float64]:
    """ccxt's candle lists as an (n, 6) float array, sorted, deduplicated and clipped to [lo, hi]."""
    if not rows:
        return np.empty((0, 6))
    array = np.asarray(rows, dtype=np.float64).reshape(-1, 6)
    array = array[(array[:, 0] >= lo) & (array[:, 0] <= hi) & np.isfinite(array).all(axis=1)]
    _, first = np.unique(array[:, 0], return_index=True)
    return array[first]


def _permanent(exc: Exception, exchange: str, what: str) -> Exception:
    import ccxt

    if isinstance(exc, ccxt.BadSymbol):
        return InvalidInput(f"{exchange} rejected the symbol in {what}: {_short(exc)}")
    if isinstance(exc, ccxt.NotSupported):
        return InvalidInput(f"{exchange} does not support {what}: {_short(exc)}")
    if isinstance(exc, ccxt.AuthenticationError | ccxt.PermissionDenied):
        return UpstreamError(f"{exchange} refused {what} (authentication or permission): {_short(exc)}")
    return UpstreamError(f"{exchange} {what} failed: {type(exc).__name__}: {_short(exc)}")


CLIENTS = ExchangeClients()
