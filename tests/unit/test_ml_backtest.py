from __future__ import annotations

import numpy as np
import pytest

from myassistant.core.errors import InvalidInput
from myassistant.ml.backtest import run_backtest, select_signal_bars
from myassistant.trading.costs import rates_from_bps
from tests.fixtures.crosscheck import backtesting_py_trades
from tests.fixtures.ml import make_prices

FEE, SLIP = 0.001, 0.0005
RATES = rates_from_bps(10, 5)
OPENS = np.array([100, 101, 100, 102, 110, 108, 100, 95, 90, 91], dtype=float)
CLOSES = np.append(OPENS[1:], 92.0)  # each close is the next open


def _hand_return(entry_open: float, exit_open: float) -> float:
    buy, sell = entry_open * (1 + SLIP), exit_open * (1 - SLIP)
    return (sell * (1 - FEE) - buy * (1 + FEE)) / buy


def _hand_growth(entry_open: float, exit_open: float) -> float:
    return exit_open * (1 - SLIP) * (1 - FEE) / (entry_open * (1 + SLIP) * (1 + FEE))


def test_hand_made_series_gives_the_hand_computed_trades() -> None:
    signal = np.zeros(10, dtype=bool)
    signal[[1, 2, 5, 7]] = True  # 2 falls inside the first trade; 7's exit would be past the data
    result = run_backtest(OPENS, CLOSES, signal, horizon_steps=2, rates=RATES, timeframe="1h")
    assert result.signal_bars.tolist() == [1, 5]
    assert result.entry_bars.tolist() == [2, 6] and result.exit_bars.tolist() == [4, 8]
    np.testing.assert_allclose(result.entry_prices, [100.05, 100.05])
    np.testing.assert_allclose(result.exit_prices, [109.945, 89.955])
    first, second = _hand_return(100, 110), _hand_return(100, 90)
    assert first == pytest.approx(0.0968016492, abs=1e-10)  # (109.945 * 0.999 - 100.05 * 1.001) / 100.05
    assert second == pytest.approx(-0.1027986507, abs=1e-10)  # (89.955 * 0.999 - 100.05 * 1.001) / 100.05
    np.testing.assert_allclose(result.returns, [first, second], rtol=0, atol=1e-15)

    metrics = result.metrics
    total = _hand_growth(100, 110) * _hand_growth(100, 90) - 1
    assert metrics.trades == 2 and metrics.win_rate == 0.5
    assert metrics.total_return == pytest.approx(total, abs=1e-15)
    assert metrics.mean_return == pytest.approx((first + second) / 2)
    assert metrics.profit_factor == pytest.approx(first / -second)
    assert metrics.expectancy == pytest.approx(((first + second) / 2) / -second)
    assert metrics.exposure == pytest.approx(2 * 2 / 10)
    assert metrics.buy_and_hold_return == pytest.approx(_hand_growth(100, 92) - 1)


def test_equity_is_flat_outside_trades_and_marked_at_the_sale_value_inside() -> None:
    signal = np.zeros(10, dtype=bool)
    signal[[1, 5]] = True
    result = run_backtest(OPENS, CLOSES, signal, horizon_steps=2, rates=RATES, timeframe="1h")
    g1 = _hand_growth(100, 110)
    marked_bar_2 = CLOSES[2] * (1 - SLIP) * (1 - FEE) / (100 * (1 + SLIP) * (1 + FEE))
    marked_bar_7 = g1 * CLOSES[7] * (1 - SLIP) * (1 - FEE) / (100 * (1 + SLIP) * (1 + FEE))
    expected = [1, 1, marked_bar_2, None, g1, g1, None, marked_bar_7, None, None]
    for bar, value in enumerate(expected):
        if value is not None:
            assert result.equity[bar] == pytest.approx(value, abs=1e-15), bar
    assert result.equity[-1] == pytest.approx(g1 * _hand_growth(100, 90), abs=1e-15)
    path = np.concatenate(([1.0], result.equity))
    assert result.metrics.max_drawdown == pytest.approx(np.max(1 - path / np.maximum.accumulate(path)))
    assert result.metrics.max_drawdown > 0.1


def test_no_signal_means_no_trades_and_flat_equity() -> None:
    result = run_backtest(
        OPENS, CLOSES, np.zeros(10, dtype=bool), horizon_steps=2, rates=RATES, timeframe="1h"
    )
    assert result.metrics.trades == 0 and result.metrics.total_return == 0
    assert result.metrics.win_rate is None and result.metrics.sharpe is None
    assert (result.equity == 1).all() and result.metrics.max_drawdown == 0


def test_greedy_selection_skips_signals_until_the_position_is_closed() -> None:
    signal = np.ones(40, dtype=bool)
    assert select_signal_bars(signal, 3).tolist() == [0, 4, 8, 12, 16, 20, 24, 28, 32]
    sparse = np.zeros(40, dtype=bool)
    sparse[[3, 5, 9, 10, 35]] = True
    assert select_signal_bars(sparse, 5).tolist() == [3, 9]  # 35 would exit past the data


def test_mismatched_inputs_are_refused() -> None:
    with pytest.raises(InvalidInput, match="same length"):
        run_backtest(
            OPENS, CLOSES[:-1], np.zeros(10, dtype=bool), horizon_steps=2, rates=RATES, timeframe="1h"
        )


# --- equivalence with backtesting.py -------------------------------------------------------------


@pytest.mark.parametrize(
    "seed, horizon_steps, density, fee_bps, slippage_bps",
    [(1, 12, 0.1, 10, 5), (2, 1, 0.5, 10, 5), (3, 4, 0.02, 0, 0), (4, 30, 0.9, 25, 10)],
)
def test_trades_match_backtesting_py_on_the_same_signals(
    seed: int, horizon_steps: int, density: float, fee_bps: float, slippage_bps: float
) -> None:
    prices = make_prices(1200, seed=seed)
    signal = np.random.default_rng(seed).random(len(prices)) < density
    signal[0] = False
    rates = rates_from_bps(fee_bps, slippage_bps)
    ours = run_backtest(
        prices["open"].to_numpy(),
        prices["close"].to_numpy(),
        signal,
        horizon_steps=horizon_steps,
        rates=rates,
        timeframe="15m",
    )
    theirs = backtesting_py_trades(prices, signal, horizon_steps=horizon_steps, rates=rates)
    assert len(theirs) == ours.metrics.trades > 0
    assert theirs["EntryBar"].tolist() == ours.entry_bars.tolist()
    assert theirs["ExitBar"].tolist() == ours.exit_bars.tolist()
    np.testing.assert_allclose(theirs["ReturnPct"].to_numpy(), ours.returns, rtol=0, atol=1e-9)
