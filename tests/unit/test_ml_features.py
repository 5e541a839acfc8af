from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from myassistant.core.errors import InvalidInput
from myassistant.ml.features import (
    FEATURE_COLUMNS,
    NEWS_FEATURES,
    PRICE_FEATURES,
    WARMUP_BARS,
    build_features,
)
from myassistant.ml.labels import make_labels
from myassistant.news.lexicon import coin_tag_for_symbol as coin_tag
from myassistant.trading.costs import rates_from_bps
from tests.fixtures.ml import make_news, make_prices

BASE = datetime(2025, 1, 1, tzinfo=UTC)
PRICES = make_prices(1500, seed=3)
NEWS = make_news(300, seed=5, span_days=16)
FEATURES = build_features(PRICES, NEWS, symbol="BTC/USDT", timeframe="15m")
TF = pd.Timedelta(minutes=15)


def _ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def test_one_row_per_bar_with_the_declared_columns() -> None:
    assert list(FEATURES.columns) == list(FEATURE_COLUMNS)
    assert FEATURES.index.equals(PRICES.index)
    assert FEATURES.index.name == "ts"
    assert (FEATURES.dtypes == np.float64).all()


def test_log_returns_use_closes_k_bars_back() -> None:
    log_close = np.log(PRICES["close"])
    for k in (1, 4, 16, 96):
        expected = (log_close - log_close.shift(k)).to_numpy()
        np.testing.assert_allclose(FEATURES[f"ret_{k}"].to_numpy(), expected, rtol=1e-12, equal_nan=True)


def test_rsi_is_100_on_a_rising_market_and_50_on_a_flat_one() -> None:
    index = pd.date_range(BASE, periods=60, freq=TF, name="ts")
    rising = pd.DataFrame(
        {c: np.linspace(100, 160, 60) for c in ("open", "high", "low", "close")}, index=index
    )
    flat = pd.DataFrame({c: np.full(60, 100.0) for c in ("open", "high", "low", "close")}, index=index)
    for frame in (rising, flat):
        frame["volume"] = 1.0
    assert build_features(rising, None, symbol="BTC/USDT", timeframe="15m")["rsi_14"].iloc[-1] == 100
    assert build_features(flat, None, symbol="BTC/USDT", timeframe="15m")["rsi_14"].iloc[-1] == 50
    assert np.isnan(build_features(flat, None, symbol="BTC/USDT", timeframe="15m")["rsi_14"].iloc[5])


def test_vol_norm_is_current_volatility_over_its_past_median() -> None:
    calm = make_prices(3000, seed=1, volatility=0.002)
    storm = make_prices(3000, seed=1, volatility=0.002)
    storm.iloc[-50:] = make_prices(3000, seed=2, volatility=0.02).iloc[-50:].to_numpy()
    calm_row = build_features(calm, None, symbol="BTC/USDT", timeframe="15m")["vol_norm"].iloc[-1]
    storm_row = build_features(storm, None, symbol="BTC/USDT", timeframe="15m")["vol_norm"].iloc[-1]
    assert 0.5 < calm_row < 2
    assert storm_row > 4


def test_calendar_features_encode_the_bar_open_time() -> None:
    row = FEATURES.loc[_ts("2025-01-01 06:00")]  # a Wednesday, a quarter of the day
    assert row["hour_sin"] == pytest.approx(1.0) and row["hour_cos"] == pytest.approx(0.0, abs=1e-12)
    assert row["dow_sin"] == pytest.approx(np.sin(2 * np.pi * 2 / 7))


def test_missing_bars_leave_the_windows_spanning_real_time() -> None:
    gapped = PRICES.drop(PRICES.index[200])
    features = build_features(gapped, None, symbol="BTC/USDT", timeframe="15m")
    assert np.isnan(features.loc[PRICES.index[201], "ret_1"])
    assert np.isnan(features.loc[PRICES.index[204], "ret_4"])
    expected = np.log(PRICES["close"].iloc[205] / PRICES["close"].iloc[201])
    assert features.loc[PRICES.index[205], "ret_4"] == pytest.approx(expected)


def _hourly(n: int = 48) -> pd.DataFrame:
    return make_prices(n, seed=9, timeframe="60m", start=BASE)


def _articles(rows: list[tuple[str, float, bool, list[str]]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "article_id": np.arange(len(rows), dtype=np.int64),
            "first_seen_at": pd.to_datetime([r[0] for r in rows], utc=True, format="ISO8601"),
            "compound": [r[1] for r in rows],
            "negative": [r[2] for r in rows],
            "tags": [r[3] for r in rows],
        }
    )


NEWS_BY_HAND = _articles(
    [
        ("2025-01-01 00:30", 0.5, False, ["BTC"]),
        ("2025-01-01 09:00", -0.6, True, ["ETH"]),
        ("2025-01-01 10:59:59", np.nan, False, ["BTC", "etf"]),
        ("2025-01-01 11:00", 0.9, False, ["BTC"]),
    ]
)


def test_news_counts_only_articles_seen_strictly_before_the_bar_close() -> None:
    features = build_features(_hourly(), NEWS_BY_HAND, symbol="BTC/USDT", timeframe="1h")
    bar = features.loc[_ts("2025-01-01 10:00")]  # closes at 11:00: the 11:00 article is not known yet
    assert bar["news_all_count_6h"] == 2 and bar["news_coin_count_6h"] == 1
    assert bar["news_all_sent_6h"] == pytest.approx(-0.6)  # the unrated article does not count as neutral
    assert np.isnan(bar["news_coin_sent_6h"])
    assert bar["news_all_neg_6h"] == pytest.approx(0.5) and bar["news_coin_neg_6h"] == 0
    next_bar = features.loc[_ts("2025-01-01 11:00")]
    assert next_bar["news_coin_count_6h"] == 2 and next_bar["news_coin_sent_6h"] == pytest.approx(0.9)


def test_news_windows_before_the_history_starts_are_nan_and_empty_covered_windows_count_zero() -> None:
    features = build_features(_hourly(), NEWS_BY_HAND, symbol="BTC/USDT", timeframe="1h")
    uncovered = features.loc[_ts("2025-01-01 05:00")]  # window 00:00-06:00 starts before 00:30
    assert uncovered[[c for c in NEWS_FEATURES if c.endswith("6h")]].isna().all()
    empty = features.loc[_ts("2025-01-01 06:00")]  # window 01:00-07:00: observed, nothing in it
    assert empty["news_all_count_6h"] == 0 and empty["news_coin_count_6h"] == 0
    assert np.isnan(empty["news_all_sent_6h"]) and np.isnan(empty["news_all_neg_6h"])
    assert np.isnan(features.loc[_ts("2025-01-01 23:00"), "news_all_count_24h"])
    assert features.loc[_ts("2025-01-02 00:00"), "news_all_count_24h"] == 3  # 00:30 fell out


def test_no_news_at_all_means_nan_news_features() -> None:
    empty = NEWS_BY_HAND.iloc[0:0]
    for news in (None, empty):
        features = build_features(_hourly(), news, symbol="BTC/USDT", timeframe="1h")
        assert features[list(NEWS_FEATURES)].isna().all().all()


def test_a_renamed_base_counts_the_articles_tagged_with_its_new_ticker() -> None:
    polygon = _articles(
        [("2025-01-01 00:30", 0.5, False, ["BTC"]), ("2025-01-01 09:00", 0.4, False, ["POL"])]
    )
    features = build_features(_hourly(), polygon, symbol="MATIC/USDT", timeframe="1h")
    bar = features.loc[_ts("2025-01-01 10:00")]
    assert bar["news_coin_count_6h"] == 1 and bar["news_coin_sent_6h"] == pytest.approx(0.4)


def test_coin_tag_is_the_pair_base() -> None:
    assert coin_tag("btc/usdt") == "BTC"
    assert coin_tag("ETH/USDT:USDT") == "ETH"


def test_live_row_from_a_warmup_tail_equals_the_full_history_row() -> None:
    prices = make_prices(WARMUP_BARS + 800, seed=4)
    news = make_news(500, seed=2, span_days=25)
    full = build_features(prices, news, symbol="BTC/USDT", timeframe="15m").iloc[-1]
    live = build_features(prices.iloc[-WARMUP_BARS:], news, symbol="BTC/USDT", timeframe="15m").iloc[-1]
    np.testing.assert_allclose(live.to_numpy(), full.to_numpy(), rtol=1e-9, atol=1e-12)
    assert full[list(PRICE_FEATURES)].notna().all() and full[list(NEWS_FEATURES)].notna().sum() > 6


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda p: p.iloc[::-1], "strictly ascending"),
        (lambda p: p.tz_localize(None), "tz-aware"),
        (lambda p: p.set_axis(p.index.insert(1, p.index[0] + pd.Timedelta(minutes=1))[:-1]), "grid"),
        (lambda p: p.assign(close=-p["close"]), "positive"),
        (lambda p: p.drop(columns="volume"), "volume"),
    ],
)
def test_bad_price_frames_are_refused(mutate, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        build_features(mutate(PRICES.iloc[:50]), None, symbol="BTC/USDT", timeframe="15m")


def test_unsupported_timeframe_is_refused() -> None:
    with pytest.raises(InvalidInput, match="timeframe"):
        build_features(PRICES.iloc[:10], None, symbol="BTC/USDT", timeframe="1M")


# --- look-ahead: nothing after bar t may change any feature at or before t -----------------------


def _mutate_future(t: int, kind: str, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    prices, news = PRICES.copy(), NEWS.copy()
    after = slice(t + 1, None)
    future_news = news["first_seen_at"] >= PRICES.index[t] + TF
    if kind == "scale_prices":
        prices.iloc[after] = prices.iloc[after].to_numpy() * rng.uniform(0.5, 2.0, (len(prices) - t - 1, 1))
    elif kind == "shuffle_prices":
        prices.iloc[after] = prices.iloc[after].to_numpy()[rng.permutation(len(prices) - t - 1)]
    elif kind == "truncate_prices":
        prices = prices.iloc[: t + 1]
    elif kind == "alter_news":
        count = int(future_news.sum())
        news.loc[future_news, "compound"] = rng.uniform(-1, 1, count)
        news.loc[future_news, "negative"] = rng.random(count) < 0.5
        news.loc[future_news, "tags"] = pd.Series([["BTC"]] * count, index=news.index[future_news])
        delays = pd.to_timedelta(rng.integers(0, 10 * 86_400, count), unit="s")
        news.loc[future_news, "first_seen_at"] = news.loc[future_news, "first_seen_at"] + delays
    elif kind == "drop_news":
        news = news.loc[~future_news]
    elif kind == "add_news":
        extra = make_news(50, seed=seed, start=(PRICES.index[t] + TF).to_pydatetime(), span_days=5)
        news = pd.concat([news, extra], ignore_index=True).sample(frac=1.0, random_state=seed)
    return prices, news


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    t=st.integers(min_value=0, max_value=len(PRICES) - 2),
    kind=st.sampled_from(
        ["scale_prices", "shuffle_prices", "truncate_prices", "alter_news", "drop_news", "add_news"]
    ),
    seed=st.integers(min_value=0, max_value=2**16),
)
def test_altering_anything_after_bar_t_leaves_every_feature_up_to_t_unchanged(
    t: int, kind: str, seed: int
) -> None:
    prices, news = _mutate_future(t, kind, seed)
    altered = build_features(prices, news, symbol="BTC/USDT", timeframe="15m")
    before = FEATURES.iloc[: t + 1].to_numpy()
    after = altered.iloc[: t + 1].to_numpy()
    assert np.array_equal(before, after, equal_nan=True), f"{kind} after bar {t} changed features up to it"


def test_the_label_is_the_only_column_that_looks_forward() -> None:
    rates, t = rates_from_bps(10, 5), 700
    prices, _ = _mutate_future(t, "scale_prices", seed=1)
    labels_before = make_labels(PRICES, horizon_steps=4, timeframe="15m", rates=rates)
    labels_after = make_labels(prices, horizon_steps=4, timeframe="15m", rates=rates)
    assert not labels_before.iloc[t - 4 : t + 1].equals(labels_after.iloc[t - 4 : t + 1])
    assert labels_before.iloc[: t - 4].equals(labels_after.iloc[: t - 4])
