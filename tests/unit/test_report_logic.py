"""The report's arithmetic on plain data: the equity curve, what vetoes earned, each pair's day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from myassistant.reports import logic
from myassistant.trading.logic import Fill

DAY = datetime(2026, 1, 14, tzinfo=UTC)
KEY = ("bybit", "BTC/USDT", "15m")


def _entry(order_id: int, at: datetime, side: str, qty: str, price: str, cash: str) -> logic.LedgerEntry:
    fill = Fill(
        side,
        Decimal(qty),
        Decimal(price),
        Decimal(price),
        Decimal(qty) * Decimal(price),
        Decimal(0),
        Decimal(cash),
    )  # type: ignore[arg-type]
    return logic.LedgerEntry(order_id, at, *KEY, side, "signal", fill)


def test_the_equity_curve_marks_holdings_at_each_close_and_counts_cash_from_each_order() -> None:
    closes = pd.Series(
        [100.0, 110.0, 120.0, 90.0],
        index=pd.DatetimeIndex([DAY + timedelta(hours=h) for h in (1, 2, 3, 4)]),
    )
    ledger = [
        _entry(1, DAY - timedelta(days=1), "buy", "1", "80", "-80"),  # held before the day began
        _entry(2, DAY + timedelta(hours=2, seconds=5), "buy", "2", "110", "-220"),
        _entry(3, DAY + timedelta(hours=3, seconds=5), "sell", "3", "120", "360"),
    ]
    grid = pd.DatetimeIndex([DAY + timedelta(hours=h) for h in range(6)])
    curve = logic.equity_curve(1000.0, ledger, {KEY: closes}, grid)
    # 00:00 marked at the last fill (80); 01:00 at 100; 02:00 still 1 unit at 110; 03:00 3 units at 120
    # (the buy at 02:00:05 counts from 03:00); from 04:00 everything is sold.
    assert curve.tolist() == [1000.0, 1020.0, 1030.0, 1060.0, 1060.0, 1060.0]


def test_the_paper_figures_agree_with_the_curve_at_the_days_end() -> None:
    closes = pd.Series(
        [100.0, 105.0], index=pd.DatetimeIndex([DAY + timedelta(hours=1), DAY + timedelta(hours=23)])
    )
    ledger = [_entry(1, DAY + timedelta(hours=1, seconds=5), "buy", "2", "100", "-200")]
    account = logic.AccountInfo(account_id=1, quote="USDT", initial_cash=Decimal(1000))
    paper = logic.paper_figures(account, ledger, {KEY: closes}, day_start=DAY)
    assert (paper.equity_start, paper.equity_end, paper.change) == (1000.0, 1010.0, 10.0)
    assert paper.curve[-1].equity == paper.equity_end and len(paper.curve) == 97
    assert [(p.qty, p.last_price, p.unrealized_pnl) for p in paper.positions] == [(2.0, 105.0, 10.0)]


@pytest.mark.parametrize(
    ("returns", "verdict", "total"),
    [([-0.02, 0.005, None], "saved", -0.015), ([0.03, -0.01], "cost", 0.02), ([None], "unknown", None)],
)
def test_what_the_vetoes_earned_says_whether_the_policy_saved_or_cost_money(returns, verdict, total) -> None:
    frame = pd.DataFrame(
        {
            "forward_return": [np.nan if r is None else r for r in returns],
            "filters": [["max_vol_norm"]] + [["max_vol_norm", "cooldown_minutes"]] * (len(returns) - 1),
        }
    )
    outcome = logic.veto_outcome(frame, since=DAY, until=DAY + timedelta(days=1))
    assert outcome.verdict == verdict and outcome.vetoed == len(returns)
    assert outcome.total_return == (pytest.approx(total) if total is not None else None)
    assert outcome.by_filter[0].filter == "max_vol_norm" and outcome.by_filter[0].vetoed == len(returns)


def test_a_pairs_day_against_the_close_24_hours_before() -> None:
    index = pd.date_range(DAY - timedelta(minutes=15), periods=97, freq="15min")
    closes = np.linspace(100.0, 110.0, 97)
    day = logic.pair_market(
        pd.DataFrame({"close": closes}, index=index),
        exchange="bybit",
        symbol="BTC/USDT",
        timeframe="15m",
        day_start=DAY,
    )
    assert day.bars == 96 and day.close == pytest.approx(110.0)
    assert day.change_pct == pytest.approx(10.0)
    assert day.volatility_pct == pytest.approx(np.sqrt(np.sum(np.diff(np.log(closes)) ** 2)) * 100)
    assert len(day.sparkline) == logic.SPARKLINE_POINTS and day.sparkline[-1] == pytest.approx(110.0)
    empty = logic.pair_market(
        pd.DataFrame({"close": []}, index=pd.DatetimeIndex([], tz=UTC)),
        exchange="bybit",
        symbol="X/USDT",
        timeframe="15m",
        day_start=DAY,
    )
    assert (empty.bars, empty.close, empty.change_pct) == (0, None, None)


def test_only_web_links_become_links() -> None:
    assert logic.web_link("https://news.test/a") and logic.web_link("HTTP://news.test/a")
    assert not logic.web_link("javascript:alert(1)") and not logic.web_link("data:text/html,x")
