"""Model benchmarks (SPEC §18): features, backtest, XGBoost training and one-row prediction.

Each figure is printed next to a reference measured in the same run, so ratios hold on a busy
machine. Run: `.venv/bin/python bench/ml_bench.py [--bars 1000000] [--slice 100000]`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fixtures.crosscheck import backtesting_py_trades  # noqa: E402

from myassistant.ml.backtest import run_backtest  # noqa: E402
from myassistant.ml.features import FEATURE_COLUMNS, build_features  # noqa: E402
from myassistant.ml.predictors import XGBoostPredictor  # noqa: E402
from myassistant.trading.costs import rates_from_bps  # noqa: E402

START = datetime(2000, 1, 1, tzinfo=UTC)
HORIZON = 12
RATES = rates_from_bps(10, 5)


def best_of(function: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    """Fastest wall time of `repeat` runs, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return min(times), result


def synthetic_prices(n: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.003, n)))
    open_ = np.concatenate(([100.0], close[:-1]))
    spread = np.abs(rng.normal(0, 0.001, (2, n)))
    index = pd.date_range(START, periods=n, freq="15min", tz="UTC", name="ts")
    return pd.DataFrame(
        {
            "open": open_,
            "high": np.maximum(open_, close) * (1 + spread[0]),
            "low": np.minimum(open_, close) * (1 - spread[1]),
            "close": close,
            "volume": rng.lognormal(3, 0.5, n),
        },
        index=index,
    )


def synthetic_news(n: int, prices: pd.DataFrame, seed: int = 2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    span = int((prices.index[-1] - prices.index[0]).total_seconds())
    seen = prices.index[0] + pd.to_timedelta(np.sort(rng.integers(0, span, n)), unit="s")
    coins = np.array([["BTC"], ["ETH"], ["BTC", "etf"], ["SOL"], []], dtype=object)
    compound = rng.uniform(-1, 1, n)
    return pd.DataFrame(
        {
            "article_id": np.arange(n, dtype=np.int64),
            "first_seen_at": seen,
            "compound": compound,
            "negative": compound < -0.05,
            "tags": list(coins[rng.integers(0, len(coins), n)]),
        }
    )


def bench_features(prices: pd.DataFrame, news: pd.DataFrame) -> None:
    seconds, frame = best_of(lambda: build_features(prices, news, symbol="BTC/USDT", timeframe="15m"))

    def reference() -> pd.DataFrame:  # a plain pandas pass: 21 rolling/shift columns over the same bars
        close = prices["close"]
        ret = np.log(close).diff()
        cols = {f"r{k}": np.log(close).diff(k) for k in (1, 2, 4, 8, 16, 32, 64, 96)}
        cols.update({f"s{w}": ret.rolling(w).std() for w in (12, 24, 48, 96)})
        cols.update({f"m{w}": ret.rolling(w).mean() for w in (12, 24, 48, 96)})
        cols.update({f"v{w}": prices["volume"].rolling(w).mean() for w in (12, 24, 48, 96, 192)})
        return pd.DataFrame(cols)

    ref_seconds, _ = best_of(reference)
    print(
        f"features: {len(prices):,} bars x {len(FEATURE_COLUMNS)} columns incl. {len(news):,} articles as-of"
    )
    print(f"  build_features        {seconds:7.3f} s   (target < 1 s)   rows out: {len(frame):,}")
    print(f"  reference: 21 plain pandas rolling/shift columns {ref_seconds:7.3f} s")


def raw_numpy_pass(open_: np.ndarray, signal: np.ndarray) -> float:
    """The reference: a position series from the signal, open-to-open returns, costs on changes, equity."""
    position = np.zeros(len(open_))
    position[1:] = signal[:-1]
    bar_returns = np.zeros(len(open_))
    bar_returns[:-1] = open_[1:] / open_[:-1] - 1
    changes = np.abs(np.diff(position, prepend=0.0))
    cost = changes * (RATES.fee + RATES.slippage)
    equity = np.cumprod(1 + position * bar_returns - cost)
    drawdown = 1 - equity / np.maximum.accumulate(equity)
    return float(drawdown.max())


def backtesting_py_seconds(prices: pd.DataFrame, signal: np.ndarray) -> tuple[float, int]:
    started = time.perf_counter()
    trades = backtesting_py_trades(prices, signal, horizon_steps=HORIZON, rates=RATES)
    return time.perf_counter() - started, len(trades)


def bench_backtest(prices: pd.DataFrame, slice_bars: int) -> None:
    open_, close = prices["open"].to_numpy(), prices["close"].to_numpy()
    signal = np.random.default_rng(3).random(len(prices)) < 0.05
    signal[0] = False

    def ours() -> Any:
        return run_backtest(open_, close, signal, horizon_steps=HORIZON, rates=RATES, timeframe="15m")

    seconds, result = best_of(ours)
    numpy_seconds, _ = best_of(lambda: raw_numpy_pass(open_, signal))
    part = prices.iloc[:slice_bars]
    bt_seconds, bt_trades = backtesting_py_seconds(part, signal[:slice_bars])
    ours_part = run_backtest(
        open_[:slice_bars],
        close[:slice_bars],
        signal[:slice_bars],
        horizon_steps=HORIZON,
        rates=RATES,
        timeframe="15m",
    )
    scale = len(prices) / slice_bars
    extrapolated = bt_seconds * scale
    trades = result.metrics.trades
    print(f"backtest: {len(prices):,} bars, {signal.sum():,} signals, {trades:,} trades, h={HORIZON}")
    print(f"  run_backtest          {seconds:7.3f} s")
    ratio = seconds / numpy_seconds
    print(f"  raw numpy pass        {numpy_seconds:7.3f} s   ratio {ratio:5.2f}x (target <= 2x)")
    print(
        f"  backtesting.py        {bt_seconds:7.3f} s on a {slice_bars:,}-bar slice, x{scale:g} linear "
        f"= {extrapolated:7.2f} s per {len(prices):,} bars"
    )
    print(f"  speed-up vs backtesting.py {extrapolated / seconds:6.1f}x (target >= 50x)")
    print(f"  same trades on the slice: {bt_trades} (backtesting.py) vs {ours_part.metrics.trades} (ours)")
    # The trade-selection loop runs once per trade, so dense signals are its worst case.
    for density in (0.5, 1.0):
        dense = np.random.default_rng(3).random(len(prices)) < density

        def dense_run(dense: np.ndarray = dense) -> Any:
            return run_backtest(open_, close, dense, horizon_steps=HORIZON, rates=RATES, timeframe="15m")

        dense_seconds, dense_result = best_of(dense_run)
        dense_numpy, _ = best_of(partial(raw_numpy_pass, open_, dense))
        print(
            f"  signals on {density:.0%} of bars ({dense_result.metrics.trades:,} trades): "
            f"{dense_seconds:6.3f} s vs raw numpy {dense_numpy:6.3f} s, "
            f"ratio {dense_seconds / dense_numpy:4.2f}x"
        )


def bench_xgboost(rows: int = 200_000, features: int = 20, trees: int = 200) -> XGBoostPredictor:
    import xgboost as xgb

    rng = np.random.default_rng(4)
    x = rng.normal(size=(rows, features))
    y = (x[:, 0] + 0.5 * x[:, 1] + rng.normal(size=rows) > 0).astype(int)
    model = xgb.XGBClassifier(
        n_estimators=trees, max_depth=4, learning_rate=0.05, tree_method="hist", n_jobs=2, random_state=1
    )
    started = time.perf_counter()
    model.fit(x, y, verbose=False)
    seconds = time.perf_counter() - started
    print(f"xgboost: train {rows:,} rows x {features} features, {trees} trees (hist, 2 threads)")
    print(f"  fit                   {seconds:7.3f} s   (SPEC reference on a like machine: 2.5 s)")
    return XGBoostPredictor(model.get_booster(), tuple(f"f{i}" for i in range(features)))


def bench_predict(predictor: XGBoostPredictor, calls: int = 3000) -> None:
    row = np.random.default_rng(5).normal(size=predictor.booster.num_features())
    booster = predictor.booster
    matrix = row.reshape(1, -1)

    def timed(function: Callable[[], Any]) -> list[float]:
        function()
        samples = []
        for _ in range(calls):
            started = time.perf_counter()
            function()
            samples.append(time.perf_counter() - started)
        return samples

    ours = timed(lambda: predictor.predict_proba(row))
    raw = timed(lambda: booster.inplace_predict(matrix))
    p99 = statistics.quantiles(ours, n=100)[98]
    print(f"predict: one row with the cached model, {calls} calls")
    print(
        f"  predictor.predict_proba  median {statistics.median(ours) * 1e3:6.3f} ms  p99 {p99 * 1e3:6.3f} ms"
        "   (target < 1 ms)"
    )
    print(f"  reference: Booster.inplace_predict median {statistics.median(raw) * 1e3:6.3f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--articles", type=int, default=200_000)
    parser.add_argument("--slice", type=int, default=100_000, help="bars for backtesting.py (extrapolated)")
    args = parser.parse_args()
    prices = synthetic_prices(args.bars)
    news = synthetic_news(args.articles, prices)
    bench_features(prices, news)
    bench_backtest(prices, min(args.slice, args.bars))
    predictor = bench_xgboost()
    bench_predict(predictor)


if __name__ == "__main__":
    main()
