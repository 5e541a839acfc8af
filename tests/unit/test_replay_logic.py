"""The replay's pure arithmetic that the dashboard draws: buy-and-hold at every bar close."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from myassistant.market.logic import Pair
from myassistant.replay.logic import PairSeries, buy_and_hold, buy_and_hold_curve
from myassistant.trading import costs
from myassistant.trading.logic import BrokerSettings

QUARTER_NS = 15 * 60 * 1_000_000_000
START_NS = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp()) * 1_000_000_000


def _series(symbol: str, first_bar: int, closes: list[float], opened_at: float) -> PairSeries:
    n = len(closes)
    nothing = np.full(n, np.nan)
    return PairSeries(
        pair=Pair("bybit", symbol, "15m", 4),
        bar_ns=START_NS + QUARTER_NS * np.arange(first_bar, first_bar + n, dtype=np.int64),
        open=np.array([opened_at, *closes[:-1]]),
        close=np.array(closes),
        prob=nothing,
        threshold=nothing,
        model=np.full(n, -1, dtype=np.int64),
        vol_norm=nothing,
        ret_std_24=nothing,
        forward_return=nothing,
        label=nothing,
    )


def test_buy_and_hold_curve_marks_each_pair_at_its_latest_close_and_ends_at_buy_and_hold() -> None:
    broker = BrokerSettings(initial_cash=1000, fee_bps=10, slippage_bps=5)
    rates = costs.rates_from_bps(10, 5)
    early = _series("BTC/USDT", 0, [101.0, 99.0, 104.0], opened_at=100.0)
    late = _series("ETH/USDT", 2, [12.0], opened_at=10.0)  # its one bar closes with BTC's last
    moments = START_NS + QUARTER_NS * np.array([1, 2, 3], dtype=np.int64)  # closes of bars 0, 1, 2
    curve = buy_and_hold_curve([early, late], moments, broker)
    growth_btc = [costs.round_trip_growth(100.0, close, rates) for close in (101.0, 99.0, 104.0)]
    growth_eth = costs.round_trip_growth(10.0, 12.0, rates)
    assert curve.tolist() == pytest.approx(
        [
            1000 * (growth_btc[0] + 1) / 2,  # ETH has closed no bar yet: still cash
            1000 * (growth_btc[1] + 1) / 2,
            1000 * (growth_btc[2] + growth_eth) / 2,
        ]
    )
    held = buy_and_hold([early, late], broker)
    assert held is not None and curve[-1] == pytest.approx(1000 * (1 + held))


def test_buy_and_hold_curve_without_bars_is_the_initial_cash() -> None:
    broker = BrokerSettings(initial_cash=500)
    moments = np.array([START_NS], dtype=np.int64)
    assert buy_and_hold_curve([], moments, broker).tolist() == [500.0]
