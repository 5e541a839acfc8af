"""Vectorised long-only backtest of bar signals, with the shared fill/fee/slippage model.

Rules: a signal on bar i (known at its close) buys at open[i + 1]; the position is held
`horizon_steps` bars and sold at open[i + 1 + horizon_steps]; while a position is open new
signals are ignored, so the next signal taken is the first one on a bar >= the exit bar. A signal
whose exit would fall beyond the data is not taken. The whole equity is committed to each trade
(buy fee included), so trades compound.

Per-trade `return` is net profit over the entry notional (backtesting.py's `pl_pct`); equity
grows by `costs.round_trip_growth` per trade. Only the trade selection loops, over trades, not bars.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from myassistant.core.errors import InvalidInput
from myassistant.market.logic import bars_per_year
from myassistant.trading import costs
from myassistant.trading.costs import CostRates

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class BacktestMetrics:
    """Summary of one backtest; None where a figure is undefined (no trades, no losses, flat equity).

    `max_drawdown` is a positive fraction of peak equity; `expectancy` is the mean trade return
    in units of the mean losing trade (R multiple); `exposure` is the share of bars in a position;
    `buy_and_hold_return` buys the first bar's open and sells the last bar's close, costs included.
    """

    bars: int
    trades: int
    win_rate: float | None
    total_return: float
    mean_return: float | None
    cagr: float | None
    sharpe: float | None
    sortino: float | None
    calmar: float | None
    profit_factor: float | None
    expectancy: float | None
    max_drawdown: float
    exposure: float
    buy_and_hold_return: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class BacktestResult:
    metrics: BacktestMetrics
    signal_bars: IntArray  # bars whose signal was taken
    entry_bars: IntArray
    exit_bars: IntArray
    entry_prices: FloatArray  # fill prices, slippage included
    exit_prices: FloatArray
    returns: FloatArray  # net of both fees, over the entry notional
    equity: FloatArray  # per bar at its close, marked at what a sale would fetch; starts at 1.0


def select_signal_bars(signal: NDArray[np.bool_], horizon_steps: int) -> IntArray:
    """Bars whose signal opens a trade: greedy, no overlap, only trades that complete in the data."""
    step = horizon_steps + 1
    last = len(signal) - 1 - step
    if last < 0:
        return np.empty(0, dtype=np.int64)
    candidates = np.flatnonzero(signal[: last + 1]).astype(np.int64)
    if candidates.size < 2 or np.diff(candidates).min() >= step:
        return candidates
    # jump[k]: the next position after a trade taken at position k, where positions are bars
    # (dense signals) or indexes into `candidates` (sparse ones); the loop then runs once per trade.
    if candidates.size * 16 > last:
        marks = np.where(signal[: last + 1], np.arange(last + 1), last + 1)
        following = np.full(last + 2 + step, last + 1, dtype=np.int64)
        following[: last + 1] = np.minimum.accumulate(marks[::-1])[::-1]
        return _follow(following[step : last + 1 + step], int(following[0]), last + 1)
    jump = np.searchsorted(candidates, candidates + step).astype(np.int64)
    return candidates[_follow(jump, 0, len(candidates))]


def _follow(jump: IntArray, start: int, end: int) -> IntArray:
    """Positions visited from `start` by repeated `jump` until `end`: a loop over trades, not bars."""
    table = np.ascontiguousarray(jump).data  # a memoryview: yields Python ints, far faster than numpy scalars
    taken: list[int] = []
    position = start
    while position < end:
        taken.append(position)
        position = table[position]
    return np.asarray(taken, dtype=np.int64)


def run_backtest(
    open_: FloatArray,
    close: FloatArray,
    signal: NDArray[np.bool_],
    *,
    horizon_steps: int,
    rates: CostRates[Any],
    timeframe: str,
) -> BacktestResult:
    """Backtest `signal` (bool per bar) on aligned open/close arrays."""
    open_, close = np.asarray(open_, dtype=np.float64), np.asarray(close, dtype=np.float64)
    signal = np.asarray(signal, dtype=bool)
    if not len(open_) == len(close) == len(signal):
        raise InvalidInput("open, close and signal must have the same length")
    if horizon_steps < 1:
        raise InvalidInput("horizon_steps must be at least 1")
    signal_bars = select_signal_bars(signal, horizon_steps)
    entry_bars = signal_bars + 1
    exit_bars = entry_bars + horizon_steps
    entry_prices = costs.buy_fill_price(open_[entry_bars], rates)
    exit_prices = costs.sell_fill_price(open_[exit_bars], rates)
    returns = costs.round_trip_return(open_[entry_bars], open_[exit_bars], rates)
    growth = costs.round_trip_growth(open_[entry_bars], open_[exit_bars], rates)
    equity = _equity(close, entry_bars, exit_bars, entry_prices, growth, rates)
    metrics = _metrics(open_, close, returns, equity, horizon_steps, rates, bars_per_year(timeframe))
    return BacktestResult(
        metrics=metrics,
        signal_bars=signal_bars,
        entry_bars=entry_bars,
        exit_bars=exit_bars,
        entry_prices=entry_prices,
        exit_prices=exit_prices,
        returns=returns,
        equity=equity,
    )


def _equity(
    close: FloatArray,
    entry_bars: IntArray,
    exit_bars: IntArray,
    entry_prices: FloatArray,
    growth: FloatArray,
    rates: CostRates[Any],
) -> FloatArray:
    n, trades = len(close), len(entry_bars)
    if not trades:
        return np.ones(n)
    after = np.cumprod(growth)
    before = np.concatenate(([1.0], after[:-1]))
    # Piecewise: flat before each entry, units × sale value while in a position, flat after the exit.
    bounds = np.empty(2 * trades + 2, dtype=np.int64)
    bounds[0], bounds[1:-1:2], bounds[2:-1:2], bounds[-1] = 0, entry_bars, exit_bars, n
    scale = np.empty(2 * trades + 1)
    scale[0], scale[2::2] = 1.0, after
    scale[1::2] = before / (entry_prices * (1 + rates.fee))  # units bought per unit of sale price
    in_position = np.zeros(2 * trades + 1, dtype=bool)
    in_position[1::2] = True
    lengths = np.diff(bounds)
    liquidation = costs.sell_fill_price(close, rates) * (1 - rates.fee)
    factor = np.repeat(scale, lengths)
    return np.where(np.repeat(in_position, lengths), factor * liquidation, factor)


def _ratio(numerator: float, denominator: float) -> float | None:
    return float(numerator / denominator) if denominator > 0 and np.isfinite(denominator) else None


def _metrics(
    open_: FloatArray,
    close: FloatArray,
    returns: FloatArray,
    equity: FloatArray,
    horizon_steps: int,
    rates: CostRates[Any],
    annual_bars: float,
) -> BacktestMetrics:
    n, trades = len(close), len(returns)
    path = np.concatenate(([1.0], equity))
    bar_returns = path[1:] / path[:-1] - 1
    drawdown = float(np.max(1 - path / np.maximum.accumulate(path)))
    total = float(path[-1] - 1)
    years = n / annual_bars
    cagr = float(path[-1] ** (1 / years) - 1) if years > 0 else None
    mean_bar = float(bar_returns.mean()) if n else 0.0
    downside = float(np.sqrt(np.mean(np.minimum(bar_returns, 0) ** 2))) if n else 0.0
    std = float(bar_returns.std()) if n > 1 else 0.0
    root = float(np.sqrt(annual_bars))
    wins, losses = returns[returns > 0], returns[returns < 0]
    return BacktestMetrics(
        bars=n,
        trades=trades,
        win_rate=float(len(wins) / trades) if trades else None,
        total_return=total,
        mean_return=float(returns.mean()) if trades else None,
        cagr=cagr,
        sharpe=_scaled(_ratio(mean_bar, std), root),
        sortino=_scaled(_ratio(mean_bar, downside), root),
        calmar=_ratio(cagr, drawdown) if cagr is not None else None,
        profit_factor=_ratio(float(wins.sum()), float(-losses.sum())),
        expectancy=_ratio(float(returns.mean()), float(-losses.mean())) if len(losses) else None,
        max_drawdown=drawdown,
        exposure=float(trades * horizon_steps / n) if n else 0.0,
        buy_and_hold_return=float(costs.round_trip_growth(open_[0], close[-1], rates) - 1) if n else None,
    )


def _scaled(value: float | None, factor: float) -> float | None:
    return None if value is None else value * factor
