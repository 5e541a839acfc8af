"""Point-in-time features per bar: prices up to the bar's close, news the system had seen before it.

One function, `build_features`, builds both the training rows and the live row, so they cannot
drift apart. Every column at bar `ts` depends only on bars with open time <= ts and on articles
with `first_seen_at < ts + timeframe`; the look-ahead tests alter everything later and check it.

News semantics: the news history starts at `news_since` (when the system began collecting news),
by default at the earliest article in the frame. A trailing window that starts before that is not
fully observed, so all its news features are NaN ("no history"). A fully observed window with no
article has count 0 and NaN mean sentiment and negative share (undefined, not neutral). Callers
that pass only a recent slice of the news (the live row) must pass `news_since`, or the slice's
first article would be taken as the start of history and early windows judged unobserved.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from myassistant.core.errors import InvalidInput
from myassistant.market.logic import timeframe_ms
from myassistant.news.lexicon import coin_tag_for_symbol

if TYPE_CHECKING:  # pandas loads with the first features built, not when the service starts
    import pandas as pd


PRICE_COLUMNS = ("open", "high", "low", "close", "volume")
NEWS_COLUMNS = ("first_seen_at", "compound", "negative", "tags")
RETURN_WINDOWS = (1, 4, 16, 96)
VOLUME_WINDOW = 96
RSI_PERIOD = 14
# vol_norm's long-run median: every VOL_NORM_STRIDE-th bar (epoch-aligned, so a live tail and the
# full history sample the same bars) over the last VOL_NORM_SAMPLES samples, about 960 bars.
VOL_NORM_STRIDE = 24
VOL_NORM_SAMPLES = 40
NEWS_WINDOWS_H = (6, 24)
NEWS_SCOPES = ("coin", "all")
NS_PER_S = 1_000_000_000
NS_PER_MS = 1_000_000
NS_PER_H = 3600 * NS_PER_S

PRICE_FEATURES: tuple[str, ...] = (
    *(f"ret_{k}" for k in RETURN_WINDOWS),
    "ret_std_24",
    "ret_std_96",
    "vol_norm",
    "rsi_14",
    "hl_range",
    "volume_z",
    "hour_sin",
    "hour_cos",
    "dow_sin",
    "dow_cos",
)
NEWS_FEATURES: tuple[str, ...] = tuple(
    f"news_{scope}_{stat}_{hours}h"
    for scope in NEWS_SCOPES
    for hours in NEWS_WINDOWS_H
    for stat in ("count", "sent", "neg")
)
FEATURE_COLUMNS: tuple[str, ...] = PRICE_FEATURES + NEWS_FEATURES
# Bars a caller must pass to get the same last row as the full history (RSI's exponential memory
# decays below 1e-12 well within this).
WARMUP_BARS = VOL_NORM_STRIDE * (VOL_NORM_SAMPLES + 1) + 600

FloatArray = NDArray[np.float64]


def build_features(
    prices: pd.DataFrame,
    news: pd.DataFrame | None,
    *,
    symbol: str,
    timeframe: str,
    news_since: datetime | None = None,
) -> pd.DataFrame:
    """Feature rows for every bar of `prices` (index `ts` = bar open time, UTC), in FEATURE_COLUMNS order.

    `news_since`: start of the system's news history (default: the earliest article in `news`).
    """
    import pandas as pd

    tf_ns = timeframe_ms(timeframe) * NS_PER_MS
    ts_ns = _validated_index_ns(prices, tf_ns)
    # Filled column by column in pandas' own block layout, so the frame wraps it without a copy.
    block = np.full((len(FEATURE_COLUMNS), len(ts_ns)), np.nan)
    if len(ts_ns):
        columns = _price_features(prices, ts_ns, tf_ns) | _news_features(
            news, ts_ns + tf_ns, coin_tag_for_symbol(symbol), _utc_ns(news_since)
        )
        for position, name in enumerate(FEATURE_COLUMNS):
            block[position] = columns[name]
    frame = pd.DataFrame(block.T, index=prices.index.copy(), columns=list(FEATURE_COLUMNS), copy=False)
    frame.index.name = "ts"
    return frame


def _validated_index_ns(prices: pd.DataFrame, tf_ns: int) -> NDArray[np.int64]:
    import pandas as pd

    missing = [c for c in PRICE_COLUMNS if c not in prices.columns]
    if missing:
        raise InvalidInput(f"prices lack columns {missing}")
    if not isinstance(prices.index, pd.DatetimeIndex) or prices.index.tz is None:
        raise InvalidInput("prices must be indexed by tz-aware bar open times")
    ts_ns = prices.index.tz_convert("UTC").as_unit("ns").asi8
    if len(ts_ns) > 1 and not (np.diff(ts_ns) > 0).all():
        raise InvalidInput("price bars must be strictly ascending with no duplicates")
    if len(ts_ns) and ((ts_ns - ts_ns[0]) % tf_ns).any():
        raise InvalidInput("price bars are not on a regular grid of the timeframe")
    ohlc = prices[["open", "high", "low", "close"]].to_numpy(dtype=np.float64)
    if not (np.isfinite(ohlc).all() and (ohlc > 0).all()):
        raise InvalidInput("prices must be finite and positive")
    return np.asarray(ts_ns, dtype=np.int64)


def _on_grid(values: pd.Series, slots: NDArray[np.int64], size: int) -> FloatArray:
    """Spread row values onto the full regular grid; missing bars are NaN."""
    grid = np.full(size, np.nan)
    grid[slots] = values.to_numpy(dtype=np.float64)
    return grid


def _lagged_diff(values: FloatArray, lag: int) -> FloatArray:
    out = np.full(values.shape, np.nan)
    out[lag:] = values[lag:] - values[:-lag]
    return out


def _price_features(prices: pd.DataFrame, ts_ns: NDArray[np.int64], tf_ns: int) -> dict[str, FloatArray]:
    # Computing on the full grid makes every window span real time, even across missing bars.
    import pandas as pd

    slots = (ts_ns - ts_ns[0]) // tf_ns
    size = int(slots[-1]) + 1
    high, low, close, volume = (_on_grid(prices[c], slots, size) for c in ("high", "low", "close", "volume"))
    grid_ns = ts_ns[0] + np.arange(size, dtype=np.int64) * tf_ns
    log_close = np.log(close)
    ret_1 = _lagged_diff(log_close, 1)
    out = {f"ret_{k}": _lagged_diff(log_close, k) for k in RETURN_WINDOWS}
    returns = pd.Series(ret_1)
    out["ret_std_24"] = returns.rolling(24, min_periods=12).std().to_numpy()
    out["ret_std_96"] = returns.rolling(96, min_periods=48).std().to_numpy()
    out["vol_norm"] = _vol_norm(out["ret_std_24"], grid_ns // tf_ns)
    out["rsi_14"] = _rsi(ret_1)
    out["hl_range"] = (high - low) / close
    out["volume_z"] = _zscore(np.log1p(volume), VOLUME_WINDOW)
    out.update(_calendar(grid_ns))
    if size == len(ts_ns):  # no missing bars: the grid is the rows
        return out
    return {name: values[slots] for name, values in out.items()}


def _vol_norm(vol: FloatArray, bar_numbers: NDArray[np.int64]) -> FloatArray:
    """Current volatility over its long-run rolling median (a full-sample median would leak)."""
    import pandas as pd

    sampled = np.flatnonzero(bar_numbers % VOL_NORM_STRIDE == 0)
    medians = pd.Series(vol[sampled]).rolling(VOL_NORM_SAMPLES, min_periods=4).median().to_numpy()
    baseline = np.full(vol.shape, np.nan)
    baseline[sampled] = medians
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio: FloatArray = vol / pd.Series(baseline).ffill().to_numpy(dtype=np.float64)
    ratio[~np.isfinite(ratio)] = np.nan
    return ratio


def _rsi(ret_1: FloatArray) -> FloatArray:
    """Wilder's RSI on log returns (same sign as price changes), 50 when the market did not move."""
    import pandas as pd

    gains = pd.Series(np.clip(ret_1, 0, None))
    losses = pd.Series(np.clip(-ret_1, 0, None))
    alpha = 1 / RSI_PERIOD
    avg_gain = gains.ewm(alpha=alpha, adjust=False, min_periods=RSI_PERIOD).mean().to_numpy()
    avg_loss = losses.ewm(alpha=alpha, adjust=False, min_periods=RSI_PERIOD).mean().to_numpy()
    total = avg_gain + avg_loss
    with np.errstate(divide="ignore", invalid="ignore"):
        rsi = np.where(total > 0, 100 * avg_gain / total, 50.0)
    rsi[np.isnan(total)] = np.nan
    return np.asarray(rsi, dtype=np.float64)


def _zscore(values: FloatArray, window: int) -> FloatArray:
    import pandas as pd

    series = pd.Series(values)
    rolling = series.rolling(window, min_periods=window // 2)
    std = rolling.std().to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (values - rolling.mean().to_numpy()) / std
    z[~np.isfinite(z)] = np.nan
    return np.asarray(z, dtype=np.float64)


_MINUTE_ANGLES = 2 * np.pi * np.arange(1440) / 1440
_WEEKDAY_ANGLES = 2 * np.pi * np.arange(7) / 7


def _calendar(open_ns: NDArray[np.int64]) -> dict[str, FloatArray]:
    minutes = (open_ns // (60 * NS_PER_S)) % 1440
    weekday = (open_ns // (86_400 * NS_PER_S) + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    return {
        "hour_sin": np.sin(_MINUTE_ANGLES)[minutes],
        "hour_cos": np.cos(_MINUTE_ANGLES)[minutes],
        "dow_sin": np.sin(_WEEKDAY_ANGLES)[weekday],
        "dow_cos": np.cos(_WEEKDAY_ANGLES)[weekday],
    }


def _utc_ns(moment: datetime | None) -> int | None:
    import pandas as pd

    if moment is None:
        return None
    stamp = pd.Timestamp(moment)
    stamp = stamp.tz_localize("UTC") if stamp.tz is None else stamp.tz_convert("UTC")
    return int(stamp.as_unit("ns").value)


def _sorted_articles(
    news: pd.DataFrame | None, coin: str
) -> tuple[NDArray[np.int64], FloatArray, NDArray[np.bool_], NDArray[np.bool_]]:
    """first_seen_at (ns), compound, negative and has-the-coin's-tag, sorted by first_seen_at."""
    import pandas as pd

    if news is None or news.empty:
        return np.empty(0, np.int64), np.empty(0), np.empty(0, bool), np.empty(0, bool)
    missing = [c for c in NEWS_COLUMNS if c not in news.columns]
    if missing:
        raise InvalidInput(f"news lacks columns {missing}")
    seen_ns = pd.DatetimeIndex(pd.to_datetime(news["first_seen_at"], utc=True)).as_unit("ns").asi8
    order = np.argsort(seen_ns, kind="stable")
    return (
        np.asarray(seen_ns[order], dtype=np.int64),
        news["compound"].to_numpy(dtype=np.float64)[order],
        news["negative"].to_numpy(dtype=bool)[order],
        _has_tag(news["tags"], coin)[order],
    )


def _news_features(
    news: pd.DataFrame | None, close_ns: NDArray[np.int64], coin: str, news_since_ns: int | None
) -> dict[str, FloatArray]:
    seen_ns, compound, negative, tagged = _sorted_articles(news, coin)
    history_start = (
        news_since_ns if news_since_ns is not None else (int(seen_ns[0]) if len(seen_ns) else None)
    )
    if history_start is None:
        return {name: np.full(close_ns.shape, np.nan) for name in NEWS_FEATURES}
    out: dict[str, FloatArray] = {}
    for scope, mask in (("coin", tagged), ("all", np.ones(len(seen_ns), dtype=bool))):
        sums = _WindowSums(seen_ns[mask], compound[mask], negative[mask])
        hi = sums.seen_before(close_ns)
        for hours in NEWS_WINDOWS_H:
            count, sentiment, share_negative = sums.window(close_ns, hi, hours)
            unobserved = close_ns - hours * NS_PER_H < history_start
            for stat, values in (("count", count), ("sent", sentiment), ("neg", share_negative)):
                values[unobserved] = np.nan
                out[f"news_{scope}_{stat}_{hours}h"] = values
    return out


def _has_tag(tags: pd.Series, tag: str) -> NDArray[np.bool_]:
    # A loop over articles (not bars); tags may be lists or arrays (parquet), or missing.
    flags: Iterable[bool] = (
        value is not None and not isinstance(value, float) and tag in value for value in tags
    )
    return np.fromiter(flags, dtype=bool, count=len(tags))


class _WindowSums:
    """Prefix sums over articles sorted by first_seen_at, for O(log n) window aggregates."""

    def __init__(self, seen_ns: NDArray[np.int64], compound: FloatArray, negative: NDArray[np.bool_]) -> None:
        self.seen_ns = seen_ns
        has_sentiment = ~np.isnan(compound)
        self.sent_sum = np.concatenate(([0.0], np.cumsum(np.where(has_sentiment, compound, 0.0))))
        self.sent_count = np.concatenate(([0], np.cumsum(has_sentiment)))
        self.neg_count = np.concatenate(([0], np.cumsum(negative)))

    def seen_before(self, close_ns: NDArray[np.int64], lag_ns: int = 0) -> NDArray[np.int64]:
        """Per bar, how many articles were seen strictly before its close minus `lag_ns`.

        Same as searchsorted(seen, close - lag, "left"), but searches the (fewer) articles among
        the (ascending) closes and counts, which is several times faster for many bars.
        """
        first_bar = np.searchsorted(close_ns, self.seen_ns + lag_ns, side="right")
        return np.cumsum(np.bincount(first_bar, minlength=len(close_ns) + 1)[:-1])

    def window(
        self, close_ns: NDArray[np.int64], hi: NDArray[np.int64], hours: int
    ) -> tuple[FloatArray, ...]:
        """Count, mean sentiment and negative share of articles seen in [close - hours, close)."""
        lo = self.seen_before(close_ns, hours * NS_PER_H)
        count = (hi - lo).astype(np.float64)
        rated = (self.sent_count[hi] - self.sent_count[lo]).astype(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            sentiment = (self.sent_sum[hi] - self.sent_sum[lo]) / rated
            share_negative = (self.neg_count[hi] - self.neg_count[lo]) / count
        sentiment[rated == 0] = np.nan
        share_negative[count == 0] = np.nan
        return count, sentiment, share_negative
