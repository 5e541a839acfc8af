"""Prices and news from the database as the frames features are built from: training frames for a
window, and the live row of a pair's newest closed bar, built exactly as training rows are."""

from __future__ import annotations

import functools
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, NamedTuple

from sqlalchemy.orm import Session

from myassistant.core.config import Settings
from myassistant.core.db import Database
from myassistant.core.errors import InvalidInput, PreconditionFailed
from myassistant.market import service as market
from myassistant.market.logic import Pair, timeframe_delta
from myassistant.market.schemas import checked_pair
from myassistant.ml.dataset import Frames
from myassistant.ml.features import NEWS_WINDOWS_H, WARMUP_BARS, build_features
from myassistant.news import service as news_service

if TYPE_CHECKING:  # pandas loads with the first features built, not when the service starts
    import pandas as pd


NEWS_LOOKBACK = timedelta(hours=max(NEWS_WINDOWS_H))


def _no_prices(
    pair: Pair, detail: str = "no prices stored", fix: str = "fetch prices first"
) -> PreconditionFailed:
    return PreconditionFailed(
        f"{detail} for {pair.exchange} {pair.symbol} {pair.timeframe}; {fix} "
        "(POST /prices/fetch, `myassistant fetch-prices`, or train with fetch=true)"
    )


def _news_for(session: Session, prices: pd.DataFrame, timeframe: str) -> pd.DataFrame:
    """The annotated articles the bars' news windows see: from the first window's start to the last close."""
    first_close = prices.index[0] + timeframe_delta(timeframe)
    last_close = prices.index[-1] + timeframe_delta(timeframe)
    return news_service.annotated_news_frame(
        session, since=(first_close - NEWS_LOOKBACK).to_pydatetime(), until=last_close.to_pydatetime()
    )


def load_frames(
    session: Session,
    *,
    pair: Pair,
    start: datetime | None = None,
    end: datetime | None = None,
    bars: int | None = None,
) -> Frames:
    """Stored prices and news for dataset rows `start..end`, or the last `bars` rows up to `end`.

    Each row gets WARMUP_BARS bars of history before it (loaded too, marked by `first_row`), so its
    features equal what the live row computes; rows without that much stored history are left out.
    `end` defaults to the newest stored bar; neither `start` nor `bars` means every stored bar.
    News: only the window the bars need, plus the start of the news history (`news_since`).
    PreconditionFailed (412) when nothing or too little is stored.
    """
    import pandas as pd

    key = checked_pair(pair)
    if start is not None and bars is not None:
        raise InvalidInput("give start (with an optional end) or bars, not both")
    step = timeframe_delta(key.timeframe)
    read = functools.partial(
        market.load_prices, session, exchange=key.exchange, symbol=key.symbol, timeframe=key.timeframe
    )
    if start is not None:
        prices = read(start=start - WARMUP_BARS * step, end=end)
        wanted_first = pd.Timestamp(start)
    else:
        prices = read(end=end, limit=bars + WARMUP_BARS if bars is not None else None)
        wanted_first = prices.index[-bars] if bars is not None and len(prices) >= bars else None
    if prices.empty or (wanted_first is not None and wanted_first > prices.index[-1]):
        raise _no_prices(
            key, "no prices stored" if start is None and end is None else "no prices in that range"
        )
    warmed = prices.index[0] + WARMUP_BARS * step
    first_row = warmed if wanted_first is None else max(warmed, wanted_first)
    if first_row > prices.index[-1]:
        raise _no_prices(
            key,
            f"too little history: {len(prices)} bars stored up to {prices.index[-1].isoformat()}, and a "
            f"dataset row needs {WARMUP_BARS} bars ({WARMUP_BARS * step}) of history before it",
            "fetch older history (with `since`)",
        )
    return Frames(
        prices=prices,
        news=_news_for(session, prices, key.timeframe),
        news_since=news_service.news_history_start(session),
        first_row=first_row.to_pydatetime(),
    )


def trailing_frames(
    prices: pd.DataFrame,
    news: pd.DataFrame | None,
    *,
    timeframe: str,
    bars: int,
    before: datetime,
    news_since: datetime | None,
) -> Frames | None:
    """`load_frames(bars=...)` over frames already in memory: the last `bars` rows closed by `before`.

    The same rows, warm-up and news window as a training run started at `before` would read from
    the database (the replay's walk-forward trains this way); None when nothing had closed by then.
    """
    import pandas as pd

    step = timeframe_delta(timeframe)
    end = int(prices.index.searchsorted(pd.Timestamp(before) - step, side="right"))
    window = prices.iloc[max(0, end - bars - WARMUP_BARS) : end]
    if window.empty:
        return None
    first_row = max(window.index[0] + WARMUP_BARS * step, window.index[max(0, len(window) - bars)])
    if first_row > window.index[-1]:
        return None
    seen = news
    if news is not None and not news.empty:
        first_close, last_close = window.index[0] + step, window.index[-1] + step
        moments = news["first_seen_at"]
        seen = news[(moments >= first_close - NEWS_LOOKBACK) & (moments < last_close)]
    return Frames(prices=window, news=seen, news_since=news_since, first_row=first_row.to_pydatetime())


class LiveRow(NamedTuple):
    """The feature row of the newest stored (closed) bar, built exactly as training rows are."""

    bar_ts: datetime  # open time of that bar, UTC
    features: pd.DataFrame  # one row, index `ts`, columns FEATURE_COLUMNS (select a model's own features)
    prices: pd.DataFrame  # the bars used, oldest first; the last one is `bar_ts`

    @property
    def warmed_up(self) -> bool:
        """False when fewer than WARMUP_BARS bars were stored: the row may differ from a training row."""
        return len(self.prices) >= WARMUP_BARS


class NewsMemo:
    """News reads shared by the live rows of one pass over the watchlist.

    Every pair of a timeframe sees the same news window at the same bar, so a scan reads it (and
    the news history start) once instead of once per pair. Frames are read-only to their users.
    """

    def __init__(self) -> None:

        self._frames: dict[tuple[pd.Timestamp, str], pd.DataFrame] = {}
        self._history_read = False
        self._history_start: datetime | None = None

    def frame(self, session: Session, bar: pd.DataFrame, timeframe: str) -> pd.DataFrame:
        """The articles the news windows of `bar` (a one-row price frame) see."""
        key = (bar.index[-1], timeframe)
        if key not in self._frames:
            self._frames[key] = _news_for(session, bar, timeframe)
        return self._frames[key]

    def history_start(self, session: Session) -> datetime | None:
        if not self._history_read:
            self._history_start, self._history_read = news_service.news_history_start(session), True
        return self._history_start


def live_feature_row(
    session: Session,
    *,
    pair: Pair,
    bar_ts: datetime | None = None,
    news: NewsMemo | None = None,
) -> LiveRow:
    """The features of the pair's newest stored bar (or of `bar_ts`), from WARMUP_BARS bars of history.

    For the decision loop: stable signature. Stored bars are closed bars, so by default `bar_ts` is
    the last closed bar the store knows; comparing it with the clock (is it the latest?) is the
    caller's call. PreconditionFailed (412) when no prices are stored (or not the bar asked for).
    `news` shares news reads across the pairs of one scan.
    """
    import pandas as pd

    news = news or NewsMemo()
    key = checked_pair(pair)
    prices = market.load_prices(
        session,
        exchange=key.exchange,
        symbol=key.symbol,
        timeframe=key.timeframe,
        end=bar_ts,
        limit=WARMUP_BARS,
    )
    if prices.empty:
        raise _no_prices(key)
    if bar_ts is not None and prices.index[-1] != pd.Timestamp(bar_ts):
        raise _no_prices(key, f"the bar of {bar_ts.isoformat()} is not stored")
    features = build_features(
        prices,
        news.frame(session, prices.iloc[-1:], key.timeframe),
        symbol=key.symbol,
        timeframe=key.timeframe,
        news_since=news.history_start(session),
    )
    return LiveRow(bar_ts=prices.index[-1].to_pydatetime(), features=features.iloc[-1:], prices=prices)


def training_frames(settings: Settings, pair: Pair, *, bars: int) -> Frames:
    """Frames for training `pair`, read in a worker process through its own connection."""
    database = Database(settings.database_url, pool_size=1)
    try:
        with database.session(write=False) as session:
            return load_frames(session, pair=pair, bars=bars)
    finally:
        database.dispose()
