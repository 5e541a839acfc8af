"""The report's arithmetic on plain data: the equity curve, what vetoes earned, each pair's day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from myassistant.reports import logic
from myassistant.reports.schemas import ReplayHeadline, ReplayRow, ReplaysSection, SummarySection
from myassistant.trading.logic import Fill, Side

DAY = datetime(2026, 1, 14, tzinfo=UTC)
KEY = ("bybit", "BTC/USDT", "15m")


def _entry(order_id: int, at: datetime, side: Side, qty: str, price: str, cash: str) -> logic.LedgerEntry:
    fill = Fill(
        side,
        Decimal(qty),
        Decimal(price),
        Decimal(price),
        Decimal(qty) * Decimal(price),
        Decimal(0),
        Decimal(cash),
    )
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


def _replay(replay_id: int, status: str, metrics: dict, **params: object) -> ReplayRow:
    return logic.replay_row(
        replay_id=replay_id,
        status=status,
        mode="fixed",
        params={"pairs": [{"symbol": "BTC/USDT", "timeframe": "1h"}], "run_id": 7, **params},
        metrics=metrics,
        error="boom" if status == "failed" else None,
        created_at=DAY,
        finished_at=None if status == "queued" else DAY + timedelta(hours=replay_id),
    )


FIGURES = {
    "total_return": 0.012,
    "buy_and_hold_return": -0.03,
    "sharpe": 1.4,
    "max_drawdown": 0.02,
    "win_rate": None,
    "trades": 0,
    "exposure": 0.0,
    "oos_auc": 0.55,
    "orders": 0,
}


def test_a_replay_row_shows_each_sides_figures_and_none_until_it_succeeds() -> None:
    what_if = {**FIGURES, "total_return": -0.01}
    done = _replay(2, "succeeded", {**FIGURES, "what_if": {"b": what_if}}, compare={"broker": {}})
    assert done.figures is not None and done.what_if is not None
    assert (done.figures.total_return, done.figures.trades, done.figures.win_rate) == (0.012, 0, None)
    assert done.what_if.total_return == -0.01 and done.what_if_changes == ["broker"]
    assert _replay(4, "succeeded", {**FIGURES, "what_if": {"b": what_if}}).what_if_changes == []
    assert (done.run_id, done.pairs, done.start) == (7, ["BTC/USDT 1h"], None)
    queued, failed = _replay(1, "queued", {}), _replay(3, "failed", {})
    assert queued.figures is None and queued.what_if is None and queued.error is None
    assert failed.figures is None and failed.error == "boom"

    section = ReplaysSection(count=4, failed=1, replays=[queued, done, failed], more=1)
    assert logic.latest_replay(section) == ReplayHeadline(id=2, total_return=0.012, buy_and_hold_return=-0.03)
    summary = SummarySection(replays=4, failed_replays=1, latest_replay=logic.latest_replay(section))
    assert logic.summary_lines(summary, "en")[-1] == (
        "Replays 4 · failed 1 · #2: +1.20% after costs vs buy-and-hold -3.00%"
    )
    assert logic.summary_lines(SummarySection(replays=1), "en")[-1] == "Replays 1"
    assert not logic.summary_lines(SummarySection(), "en")[-1].startswith("Replays")
