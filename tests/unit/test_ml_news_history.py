"""Point-in-time news history (`news_since`) and warm-up rows: the live row equals the training row."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from myassistant.ml.dataset import build_dataset
from myassistant.ml.features import NEWS_FEATURES, PRICE_FEATURES, WARMUP_BARS, build_features
from myassistant.trading.costs import rates_from_bps
from tests.fixtures.ml import START, make_news, make_prices

TF = pd.Timedelta(minutes=15)
PRICES = make_prices(WARMUP_BARS + 800, seed=4)
# News over the whole span, dense enough that the last bar's 6h and 24h windows hold articles.
NEWS = make_news(3000, seed=2, span_days=(len(PRICES) + 4) * 15 / 1440)
HISTORY_START = NEWS["first_seen_at"].min()


def _live_slice(prices: pd.DataFrame, news: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """What the live path reads: WARMUP_BARS bars, and only the news the last bar's windows can see."""
    tail = prices.iloc[-WARMUP_BARS:]
    close = tail.index[-1] + TF
    seen = news["first_seen_at"]
    return tail, news.loc[(seen >= close - pd.Timedelta(hours=24)) & (seen < close)]


def test_last_bar_from_a_recent_slice_with_news_since_equals_the_full_history_row() -> None:
    full = build_features(PRICES, NEWS, symbol="BTC/USDT", timeframe="15m").iloc[-1]
    tail, recent_news = _live_slice(PRICES, NEWS)
    assert recent_news["first_seen_at"].min() > HISTORY_START + pd.Timedelta(days=10)
    live = build_features(
        tail, recent_news, symbol="BTC/USDT", timeframe="15m", news_since=HISTORY_START
    ).iloc[-1]
    news_columns = list(NEWS_FEATURES)
    assert full[news_columns].notna().all() and (full[[c for c in news_columns if "count" in c]] > 0).all()
    assert live[news_columns].to_dict() == pytest.approx(full[news_columns].to_dict(), rel=1e-12, abs=1e-12)
    counts = [c for c in news_columns if "count" in c]
    assert live[counts].to_list() == full[counts].to_list()
    np.testing.assert_allclose(
        live[list(PRICE_FEATURES)].to_numpy(), full[list(PRICE_FEATURES)].to_numpy(), rtol=1e-9, atol=1e-12
    )


def test_without_news_since_a_recent_slice_is_judged_unobserved_which_is_the_drift_it_prevents() -> None:
    tail, recent_news = _live_slice(PRICES, NEWS)
    drifted = build_features(tail, recent_news, symbol="BTC/USDT", timeframe="15m").iloc[-1]
    assert drifted[[c for c in NEWS_FEATURES if c.endswith("24h")]].isna().all()


def test_news_since_with_no_article_in_reach_counts_zero_for_observed_windows() -> None:
    prices = make_prices(200, seed=1)
    features = build_features(
        prices, NEWS.iloc[0:0], symbol="BTC/USDT", timeframe="15m", news_since=START - pd.Timedelta(days=2)
    )
    assert (features["news_all_count_24h"] == 0).all() and (features["news_coin_count_6h"] == 0).all()
    assert features["news_all_sent_24h"].isna().all() and features["news_coin_neg_6h"].isna().all()


def test_windows_starting_before_news_since_are_nan_even_when_articles_exist() -> None:
    prices = make_prices(300, seed=1)
    since = START + pd.Timedelta(days=1)
    features = build_features(prices, make_news(400), symbol="BTC/USDT", timeframe="15m", news_since=since)
    close = features.index + TF
    observed = close - pd.Timedelta(hours=6) >= since
    assert features.loc[~observed, "news_all_count_6h"].isna().all()
    assert features.loc[observed, "news_all_count_6h"].notna().all()


def test_naive_news_since_is_taken_as_utc() -> None:
    aware = build_features(PRICES.iloc[-300:], NEWS, symbol="BTC/USDT", timeframe="15m", news_since=START)
    naive = build_features(
        PRICES.iloc[-300:], NEWS, symbol="BTC/USDT", timeframe="15m", news_since=START.replace(tzinfo=None)
    )
    pd.testing.assert_frame_equal(aware, naive)


def test_dataset_rows_start_at_first_row_and_keep_the_warmed_up_values() -> None:
    rates = rates_from_bps(10, 5)
    whole = build_dataset(PRICES, NEWS, symbol="BTC/USDT", timeframe="15m", horizon_steps=4, rates=rates)
    first_row = PRICES.index[WARMUP_BARS]
    trimmed = build_dataset(
        PRICES, NEWS, symbol="BTC/USDT", timeframe="15m", horizon_steps=4, rates=rates, first_row=first_row
    )
    assert trimmed.features.index[0] == first_row and len(trimmed.features) == len(PRICES) - WARMUP_BARS
    pd.testing.assert_frame_equal(trimmed.features, whole.features.loc[first_row:])
    pd.testing.assert_series_equal(trimmed.labels, whole.labels.loc[first_row:])
    pd.testing.assert_frame_equal(trimmed.prices, whole.prices.loc[first_row:])
