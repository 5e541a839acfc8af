from __future__ import annotations

import numpy as np
import pandas as pd

from myassistant.ml.backtest import run_backtest
from myassistant.ml.labels import forward_log_returns, make_labels
from myassistant.trading.costs import rates_from_bps
from tests.fixtures.ml import make_prices

RATES = rates_from_bps(10, 5)


def test_forward_return_runs_from_the_next_open_over_the_horizon() -> None:
    opens = np.array([100.0, 101, 102, 104, 103, 105])
    forward = forward_log_returns(opens, 2)
    np.testing.assert_allclose(forward[:3], np.log([104 / 101, 103 / 102, 105 / 104]))
    assert np.isnan(forward[3:]).all()


def test_label_is_one_exactly_when_the_backtest_trade_makes_money() -> None:
    prices = make_prices(600, seed=8)
    labels = make_labels(prices, horizon_steps=3, timeframe="15m", rates=RATES)
    for bar in np.random.default_rng(0).choice(len(prices) - 4, 50, replace=False):
        signal = np.zeros(len(prices), dtype=bool)
        signal[bar] = True
        trade = run_backtest(
            prices["open"].to_numpy(),
            prices["close"].to_numpy(),
            signal,
            horizon_steps=3,
            rates=RATES,
            timeframe="15m",
        )
        assert labels.iloc[bar] == float(trade.returns[0] > 0)
    assert labels.iloc[-4:].isna().all() and labels.iloc[:-4].notna().all()


def test_higher_costs_mean_fewer_positive_labels() -> None:
    prices = make_prices(2000, seed=8)
    cheap = make_labels(prices, horizon_steps=4, timeframe="15m", rates=rates_from_bps(0, 0)).mean()
    dear = make_labels(prices, horizon_steps=4, timeframe="15m", rates=rates_from_bps(50, 20)).mean()
    assert cheap > dear


def test_rows_whose_horizon_spans_a_gap_have_no_label() -> None:
    prices = make_prices(100, seed=8).drop(pd.Timestamp("2025-01-01 05:00", tz="UTC"))
    labels = make_labels(prices, horizon_steps=2, timeframe="15m", rates=RATES)
    gap = prices.index.get_loc(pd.Timestamp("2025-01-01 05:15", tz="UTC"))
    assert labels.iloc[gap - 3 : gap].isna().all()  # entry..exit rows straddle the missing bar
    assert labels.iloc[gap - 4] in (0.0, 1.0) and labels.iloc[gap] in (0.0, 1.0)
