"""Frames from the database: rows with their warm-up history, the news they need, the live row."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest

from myassistant.core.errors import PreconditionFailed
from myassistant.market.logic import Pair
from myassistant.ml import frames as service
from myassistant.ml.features import WARMUP_BARS, build_features
from myassistant.news import service as news_service
from myassistant.news.tables import Article
from tests.fixtures.ml import START, make_news, make_prices, pair_key, store_news, store_prices

HOUR = pd.Timedelta(hours=1)
BARS = 2500
PAIR = pair_key(timeframe="1h", horizon_steps=4)


@pytest.fixture
def stored_prices(session):
    """2500 hourly BTC/USDT bars."""
    prices = make_prices(BARS, seed=5, timeframe="1h")
    store_prices(session, prices, exchange="bybit", symbol="BTC/USDT", timeframe="1h")
    return prices


@pytest.fixture
def stored(session, stored_prices):
    """The bars, and 3000 annotated articles over the same span."""
    news = make_news(3000, seed=8, span_days=BARS / 24 + 1)
    store_news(session, news)
    return stored_prices, news


def test_news_history_starts_at_the_first_annotated_article(session) -> None:
    assert news_service.news_history_start(session) is None
    session.add(
        Article(
            url="https://news.test/unannotated",
            title="not analyzed yet",
            summary="",
            source="test",
            published_status="missing",
            first_seen_at=START - timedelta(days=30),
        )
    )
    store_news(session, make_news(5, seed=1))
    assert news_service.news_history_start(session) == make_news(5, seed=1)["first_seen_at"].min()


def test_the_last_bars_come_with_their_warm_up_history_and_only_the_news_they_need(
    session, settings, stored
) -> None:
    prices, news = stored
    frames = service.load_frames(session, pair=PAIR, bars=500)
    assert len(frames.prices) == 500 + WARMUP_BARS
    assert frames.prices.index[-1] == prices.index[-1] and frames.first_row == prices.index[-500]
    np.testing.assert_array_equal(frames.prices.to_numpy(), prices.iloc[-500 - WARMUP_BARS :].to_numpy())
    assert frames.news is not None
    seen = frames.news["first_seen_at"]
    first_close, last_close = frames.prices.index[0] + HOUR, frames.prices.index[-1] + HOUR
    in_reach = news["first_seen_at"].between(
        first_close - pd.Timedelta(hours=24), last_close, inclusive="left"
    )
    assert len(frames.news) == int(in_reach.sum()) > 0
    assert seen.min() >= first_close - pd.Timedelta(hours=24) and seen.max() < last_close
    assert frames.news_since == news["first_seen_at"].min()


def test_a_start_end_range_gets_warm_up_bars_before_start(session, settings, stored_prices) -> None:
    prices = stored_prices
    start, end = prices.index[2000], prices.index[2100]
    frames = service.load_frames(session, pair=PAIR, start=start, end=end)
    assert frames.first_row == start and frames.prices.index[-1] == end
    assert frames.prices.index[0] == start - WARMUP_BARS * HOUR


def test_rows_without_a_full_warm_up_behind_them_are_left_out(session, settings, stored_prices) -> None:
    prices = stored_prices
    frames = service.load_frames(session, pair=PAIR)
    assert len(frames.prices) == BARS and frames.first_row == prices.index[WARMUP_BARS]
    early = service.load_frames(session, pair=PAIR, start=prices.index[10], end=prices.index[-1])
    assert early.first_row == prices.index[WARMUP_BARS]


def test_missing_or_too_short_history_is_412_naming_the_pair_and_what_to_do(
    session, settings, stored_prices
) -> None:
    with pytest.raises(PreconditionFailed, match="no prices stored for bybit ETH/USDT 1h; fetch prices"):
        service.load_frames(session, pair=pair_key(symbol="ETH/USDT", timeframe="1h"))
    with pytest.raises(PreconditionFailed, match="too little history"):
        service.load_frames(session, pair=PAIR, end=stored_prices.index[WARMUP_BARS - 10])
    with pytest.raises(PreconditionFailed, match="no prices in that range"):
        service.load_frames(session, pair=PAIR, start=stored_prices.index[-1] + HOUR)


def test_the_live_row_equals_the_full_history_row_of_the_newest_bar(session, settings, stored) -> None:
    prices, news = stored
    live = service.live_feature_row(
        session,
        pair=Pair(exchange="bybit", symbol="BTC/USDT", timeframe="1h", horizon_steps=4),
    )
    assert live.bar_ts == prices.index[-1] and len(live.prices) == WARMUP_BARS and live.warmed_up
    assert list(live.features.index) == [prices.index[-1]]
    full = build_features(prices, news, symbol="BTC/USDT", timeframe="1h").iloc[-1]
    assert full.notna().all()
    np.testing.assert_allclose(live.features.iloc[0].to_numpy(), full.to_numpy(), rtol=1e-9, atol=1e-12)
    bar_ts, row, tail = live  # unpacks as (bar_ts, features, prices)
    assert bar_ts == live.bar_ts and row is live.features and tail is live.prices


def test_a_live_row_without_prices_is_412(session, settings) -> None:
    with pytest.raises(PreconditionFailed, match="no prices stored"):
        service.live_feature_row(session, pair=PAIR)


def test_the_live_row_of_an_earlier_bar_equals_its_full_history_row(session, settings, stored) -> None:
    prices, news = stored
    bar = prices.index[-30]
    live = service.live_feature_row(session, pair=PAIR, bar_ts=bar.to_pydatetime())
    assert live.bar_ts == bar and live.prices.index[-1] == bar
    full = build_features(prices, news, symbol="BTC/USDT", timeframe="1h").loc[bar]
    np.testing.assert_allclose(live.features.iloc[0].to_numpy(), full.to_numpy(), rtol=1e-9, atol=1e-12)
    with pytest.raises(PreconditionFailed, match="is not stored"):
        service.live_feature_row(session, pair=PAIR, bar_ts=(bar + HOUR / 2).to_pydatetime())


def test_pairs_sharing_a_news_memo_read_the_news_window_once_and_get_the_same_rows(
    session, settings, stored, monkeypatch
) -> None:
    prices, _news = stored
    store_prices(
        session,
        make_prices(BARS, seed=6, timeframe="1h"),
        exchange="bybit",
        symbol="ETH/USDT",
        timeframe="1h",
    )
    pairs = [pair_key(symbol=s, timeframe="1h", horizon_steps=4) for s in ("BTC/USDT", "ETH/USDT")]
    alone = [service.live_feature_row(session, pair=p).features for p in pairs]

    reads = []
    original = news_service.annotated_news_frame

    def recording(*args: Any, **kwargs: Any) -> pd.DataFrame:
        reads.append(kwargs)
        return original(*args, **kwargs)

    monkeypatch.setattr(news_service, "annotated_news_frame", recording)
    memo = service.NewsMemo()
    shared = [service.live_feature_row(session, pair=p, news=memo).features for p in pairs]
    assert len(reads) == 1
    for own, together in zip(alone, shared, strict=True):
        pd.testing.assert_frame_equal(own, together)
