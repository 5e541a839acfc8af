"""backtesting.py (a dev extra) run on our signals with its fills configured to match ours exactly.

Used by the equivalence test and the benchmark, so both check the same configuration:
- trade_on_close=False: an order placed in next() on bar i fills at open[i + 1], like our entries;
  the close order is placed on bar entry + h - 1, so it fills at open[entry + h], like our exits.
- backtesting.py applies `spread` once, on entry (exits fill at the raw price), and charges
  `commission` on both sides' notional; with spread = (1 + s) / (1 - s) - 1 and commission = fee,
  its `ReturnPct` equals ours algebraically: (sell fill / buy fill)(1 - fee) - 1 - fee.
- It first calls next() on bar 1, so a signal on bar 0 is never seen: callers keep bar 0 silent.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from myassistant.trading.costs import CostRates


def backtesting_py_trades(
    prices: pd.DataFrame, signal: NDArray[np.bool_], *, horizon_steps: int, rates: CostRates[Any]
) -> pd.DataFrame:
    """backtesting.py's trades table (EntryBar, ExitBar, ReturnPct, ...) for our signal rules."""
    from backtesting import Backtest, Strategy

    n = len(prices)

    class Signals(Strategy):  # type: ignore[misc]
        def init(self) -> None:
            pass

        def next(self) -> None:
            i = len(self.data) - 1
            if self.position:
                if i - self.trades[0].entry_bar >= horizon_steps - 1:
                    self.position.close()
            elif signal[i] and i <= n - 2 - horizon_steps:
                self.buy(size=0.99)

    data = prices.rename(columns=str.capitalize).tz_localize(None)
    spread = (1 + rates.slippage) / (1 - rates.slippage) - 1
    with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):  # its progress bar
        warnings.simplefilter("ignore")
        backtest = Backtest(data, Signals, cash=1e12, commission=rates.fee, spread=spread)
        stats = backtest.run()
    trades: pd.DataFrame = stats._trades
    return trades
