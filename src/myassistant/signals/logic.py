"""Pure signal helpers: what a past signal's trade would have returned."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np
import pandas as pd

from myassistant.market.logic import timeframe_ms
from myassistant.trading.costs import CostRates, round_trip_return


def forward_returns(
    prices: pd.DataFrame,
    bars: Sequence[datetime],
    *,
    horizon_steps: int,
    timeframe: str,
    rates: CostRates[float],
) -> list[float | None]:
    """For each signal bar: enter at the next bar's open, exit at the open `horizon_steps` bars later.

    None where either bar is not stored yet (horizon not passed, or a gap), so it is filled later.
    """
    if prices.empty or not bars:
        return [None] * len(bars)
    step_ns = timeframe_ms(timeframe) * 1_000_000
    index = prices.index.as_unit("ns").asi8
    bar_ns = pd.DatetimeIndex(list(bars)).tz_convert("UTC").as_unit("ns").asi8
    entry_ns, exit_ns = bar_ns + step_ns, bar_ns + step_ns * (1 + horizon_steps)
    entry_pos, exit_pos = np.searchsorted(index, entry_ns), np.searchsorted(index, exit_ns)
    opens = prices["open"].to_numpy(dtype=np.float64)
    found = (entry_pos < len(index)) & (exit_pos < len(index))
    found[found] &= (index[entry_pos[found]] == entry_ns[found]) & (index[exit_pos[found]] == exit_ns[found])
    values = np.full(len(bars), np.nan)
    values[found] = round_trip_return(opens[entry_pos[found]], opens[exit_pos[found]], rates)
    return [None if np.isnan(v) else float(v) for v in values]
