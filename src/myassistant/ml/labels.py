"""The label: does a trade entered at the next bar's open and held `horizon_steps` bars make money?

Entry at open[i + 1], exit at open[i + 1 + horizon_steps] (the backtest's exact fills), so label 1
means the round trip beats both fees and slippage on both sides. NaN where that future is unknown
(end of the data) or where a gap means the bars do not span the horizon in time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from myassistant.core.errors import InvalidInput
from myassistant.market.logic import timeframe_ms
from myassistant.trading.costs import CostRates, break_even_log_return

if TYPE_CHECKING:  # pandas loads with the first features built, not when the service starts
    import pandas as pd


NS_PER_MS = 1_000_000


def forward_log_returns(open_: NDArray[np.float64], horizon_steps: int) -> NDArray[np.float64]:
    """log(open[i + 1 + h] / open[i + 1]) per row; NaN for the last h + 1 rows."""
    if horizon_steps < 1:
        raise InvalidInput("horizon_steps must be at least 1")
    out = np.full(len(open_), np.nan)
    span = horizon_steps + 1
    if len(open_) > span:
        log_open = np.log(open_)
        out[:-span] = log_open[span:] - log_open[1:-horizon_steps]
    return out


def make_labels(
    prices: pd.DataFrame, *, horizon_steps: int, timeframe: str, rates: CostRates[Any]
) -> pd.Series:
    """1.0 when the next-open-to-open round trip over `horizon_steps` bars is profitable after costs."""
    import pandas as pd

    forward = forward_log_returns(prices["open"].to_numpy(dtype=np.float64), horizon_steps)
    forward[~_spans_horizon(prices.index, horizon_steps, timeframe)] = np.nan
    labels = np.where(np.isnan(forward), np.nan, (forward > break_even_log_return(rates)).astype(np.float64))
    return pd.Series(labels, index=prices.index, name="label")


def _spans_horizon(index: pd.Index, horizon_steps: int, timeframe: str) -> NDArray[np.bool_]:
    """True where rows i..i+1+h are consecutive bars with no gap."""
    import pandas as pd

    ts_ns = pd.DatetimeIndex(index).as_unit("ns").asi8
    span = horizon_steps + 1
    ok = np.zeros(len(ts_ns), dtype=bool)
    if len(ts_ns) > span:
        ok[:-span] = (ts_ns[span:] - ts_ns[:-span]) == span * timeframe_ms(timeframe) * NS_PER_MS
    return ok
