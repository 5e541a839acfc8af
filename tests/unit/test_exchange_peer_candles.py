"""The peer's candles: a deterministic, realistic random walk, and the learnable regime of a few pairs."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import numpy as np
import pytest

from myassistant.peers.exchange import (
    CYCLE_AMPLITUDE,
    CYCLE_BASES,
    DEFAULT_MARKETS,
    ORIGIN_MS,
    PeerMarket,
    closed_bars,
    forming_bar,
)

BTC = next(m for m in DEFAULT_MARKETS if m.symbol == "BTC/USDT")
M15 = 900_000
START = int(datetime(2025, 6, 1, tzinfo=UTC).timestamp() * 1000)


def test_a_bar_is_the_same_whichever_window_asks_for_it() -> None:
    wide = closed_bars(7, BTC, "15m", START, START + 5000 * M15)
    narrow = closed_bars(7, BTC, "15m", START + 2047 * M15, START + 2049 * M15)
    assert narrow.close.tolist() == wide.close[2047:2050].tolist()
    assert narrow.volume.tolist() == wide.volume[2047:2050].tolist()


def test_seeds_and_symbols_give_different_paths() -> None:
    eth = next(m for m in DEFAULT_MARKETS if m.symbol == "ETH/USDT")
    a = closed_bars(7, BTC, "1h", START, START + 100 * 3_600_000)
    b = closed_bars(8, BTC, "1h", START, START + 100 * 3_600_000)
    c = closed_bars(7, eth, "1h", START, START + 100 * 3_600_000)
    assert not np.array_equal(a.close, b.close)
    assert not np.allclose(np.diff(np.log(a.close)), np.diff(np.log(c.close)))


def test_bars_are_consistent_ohlc_on_the_grid() -> None:
    bars = closed_bars(7, BTC, "15m", START, START + 20_000 * M15)
    assert len(bars) == 20_001
    assert (np.diff(bars.ts) == M15).all() and ((bars.ts - ORIGIN_MS) % M15 == 0).all()
    assert (bars.high >= np.maximum(bars.open, bars.close)).all()
    assert (bars.low <= np.minimum(bars.open, bars.close)).all()
    assert (bars.low > 0).all() and (bars.volume > 0).all()
    assert np.array_equal(bars.open[1:], bars.close[:-1])


def test_volatility_changes_regime_and_prices_jump() -> None:
    bars = closed_bars(7, BTC, "15m", START, START + 1024 * 40 * M15)
    returns = np.diff(np.log(bars.close))
    per_block = returns[: 1024 * 39].reshape(39, 1024).std(axis=1)
    assert per_block.max() / per_block.min() > 1.8
    assert (np.abs(returns) > 6 * np.median(np.abs(returns)) * 1.4826).sum() >= 5


def test_24h_volume_is_near_the_market_profile() -> None:
    day = closed_bars(7, BTC, "15m", START, START + 95 * M15)
    quote_volume = float((day.volume * day.close).sum())
    assert 0.5 * BTC.daily_quote_volume < quote_volume < 2 * BTC.daily_quote_volume


def test_the_forming_bar_grows_towards_the_final_one() -> None:
    opened = START + 10 * M15
    final = closed_bars(7, BTC, "15m", opened, opened)
    early = forming_bar(7, BTC, "15m", opened + M15 // 3)
    assert early.ts[0] == opened and early.open[0] == final.open[0]
    assert 0 < early.volume[0] < final.volume[0]
    assert early.low[0] >= final.low[0] and early.high[0] <= final.high[0]


def test_nothing_exists_before_a_listing() -> None:
    new = next(m for m in DEFAULT_MARKETS if m.base == "NEWCOIN")
    bars = closed_bars(7, new, "1h", START, int(datetime(2026, 1, 10, 5, tzinfo=UTC).timestamp() * 1000))
    assert len(bars) == 6


def test_fifty_symbols_of_a_thousand_bars_are_generated_in_one_go() -> None:
    end = START + 999 * M15
    answers = [closed_bars(3, market, "15m", START, end) for market in DEFAULT_MARKETS[:50]]
    assert all(len(bars) == 1000 for bars in answers)


def test_the_learnable_regime_is_a_log_price_offset_on_its_markets_only() -> None:
    learnable = {m.base for m in DEFAULT_MARKETS if m.cycle is not None}
    assert learnable == set(CYCLE_BASES) == {"SOL", "XRP", "DOGE"}
    assert all(m.quote == "USDT" for m in DEFAULT_MARKETS if m.cycle is not None)
    sol = next(m for m in DEFAULT_MARKETS if m.symbol == "SOL/USDT")
    walk = replace(sol, cycle=None)
    with_cycle = closed_bars(7, sol, "15m", START, START + 3000 * M15)
    without = closed_bars(7, walk, "15m", START, START + 3000 * M15)
    assert sol.cycle is not None
    offset = sol.cycle.offset(with_cycle.ts + M15)
    relative = 10.0**-sol.price_decimals / with_cycle.close  # the rounding of both prices
    assert np.abs(np.log(with_cycle.close) - np.log(without.close) - offset).max() < 2 * relative.max()
    assert np.abs(offset).max() == pytest.approx(CYCLE_AMPLITUDE * sol.daily_volatility, rel=1e-3)


def test_the_regime_predicts_the_forward_return_and_the_walk_does_not() -> None:
    """The known phase ranks the 12-bar forward returns of a learnable pair well (AUC far above the
    model policy's 0.55); on a random-walk pair the same score ranks nothing."""

    def auc_of_phase(market: PeerMarket) -> float:
        bars = closed_bars(7, market, "15m", START, START + 35_000 * M15)
        forward = np.log(bars.close[12:] / bars.close[:-12])
        cycle = market.cycle or next(m for m in DEFAULT_MARKETS if m.symbol == "SOL/USDT").cycle
        assert cycle is not None
        score = cycle.offset(bars.ts[:-12] + 13 * M15) - cycle.offset(bars.ts[:-12] + M15)
        labels = forward > 0.003  # beats round-trip costs
        ranks = score.argsort().argsort()
        positives = labels.sum()
        return float((ranks[labels].sum() - positives * (positives - 1) / 2) / (positives * (~labels).sum()))

    assert auc_of_phase(next(m for m in DEFAULT_MARKETS if m.symbol == "XRP/USDT")) > 0.75
    assert abs(auc_of_phase(BTC) - 0.5) < 0.03
