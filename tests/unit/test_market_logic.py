"""Pure market logic: timeframes, closed bars, gaps, fetch plans, discovery filters."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from myassistant.market import logic
from myassistant.market.logic import Gap, MarketInfo

M15 = 15 * 60_000
NOON = logic.to_ms(datetime(2026, 1, 15, 12, 0, tzinfo=UTC))


def test_unknown_timeframe_lists_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="valid: 1m, 3m, 5m, 15m, 30m, 1h, 2h, 4h, 6h, 12h, 1d, 1w"):
        logic.timeframe_ms("7m")


def test_weekly_bars_open_on_monday() -> None:
    wednesday = logic.to_ms(datetime(2026, 1, 14, 15, 0, tzinfo=UTC))
    assert logic.from_ms(logic.bar_open(wednesday, "1w")) == datetime(2026, 1, 12, tzinfo=UTC)
    assert logic.from_ms(logic.bar_open(wednesday, "4h")) == datetime(2026, 1, 14, 12, tzinfo=UTC)


def test_a_bar_is_closed_exactly_when_its_end_has_passed() -> None:
    assert logic.last_closed_open(NOON, "15m") == NOON - M15
    assert logic.last_closed_open(NOON - 1, "15m") == NOON - 2 * M15
    ts = np.array([NOON - 2 * M15, NOON - M15, NOON], dtype=np.int64)
    assert logic.closed_mask(ts, "15m", NOON).tolist() == [True, True, False]


def test_find_gaps_locates_each_hole() -> None:
    ts = np.array([0, 1, 2, 5, 6, 9], dtype=np.int64) * M15
    assert logic.find_gaps(ts, "15m") == [Gap(3 * M15, 4 * M15), Gap(7 * M15, 8 * M15)]
    assert Gap(3 * M15, 4 * M15).bars("15m") == 2
    assert logic.find_gaps(np.array([0], dtype=np.int64), "15m") == []


def test_first_fetch_plans_the_default_history_up_to_the_last_closed_bar() -> None:
    plan = logic.plan_fetch(timeframe="15m", now_ms=NOON + 60_000, last_stored=None)
    assert plan.tail == (NOON - 1000 * M15, NOON - M15) and plan.gap_ranges == ()


def test_fetch_resumes_after_the_last_stored_bar_and_backfills_gaps_first() -> None:
    gap = Gap(NOON - 50 * M15, NOON - 45 * M15)
    plan = logic.plan_fetch(timeframe="15m", now_ms=NOON, last_stored=NOON - 10 * M15, gaps=[gap])
    assert plan.ranges == ((gap.start, gap.end), (NOON - 9 * M15, NOON - M15))


def test_nothing_to_fetch_when_up_to_date() -> None:
    plan = logic.plan_fetch(timeframe="15m", now_ms=NOON + 1, last_stored=NOON - M15)
    assert plan.ranges == ()


def test_since_and_limit_bound_the_tail() -> None:
    since = NOON - 100 * M15 + 1  # mid-bar: starts at the next bar open
    plan = logic.plan_fetch(timeframe="15m", now_ms=NOON, last_stored=None, since_ms=since, limit=10)
    assert plan.tail == (NOON - 99 * M15, NOON - 90 * M15)


def test_gaps_covered_by_the_tail_are_not_fetched_twice() -> None:
    gap = Gap(NOON - 50 * M15, NOON - 45 * M15)
    plan = logic.plan_fetch(
        timeframe="15m", now_ms=NOON, last_stored=NOON - M15, gaps=[gap], since_ms=NOON - 60 * M15
    )
    assert plan.ranges == ((NOON - 60 * M15, NOON - M15),)


def test_pages_never_exceed_the_page_size() -> None:
    pages = logic.page_ranges(0, 2499 * M15, "15m", 1000)
    assert pages == [(0, 999 * M15), (1000 * M15, 1999 * M15), (2000 * M15, 2499 * M15)]


@pytest.mark.parametrize("symbol", [" btc/usdt ", "BTC/USDT", "1000PEPE/USDT"])
def test_symbols_are_normalised(symbol: str) -> None:
    assert logic.normalise_symbol(symbol) == symbol.strip().upper()


@pytest.mark.parametrize("symbol", ["BTCUSDT", "BTC/", "/USDT", "BTC/USDT/X", "BT C/USDT", "BTC-USDT", ""])
def test_malformed_symbols_are_refused(symbol: str) -> None:
    with pytest.raises(ValueError, match="BASE/QUOTE"):
        logic.normalise_symbol(symbol)


@pytest.mark.parametrize(
    ("base", "leveraged"),
    [
        ("BTC3L", True), ("ETH3S", True), ("ETHUP", True), ("ETHDOWN", True), ("XRPBULL", True),
        ("EOSBEAR", True), ("SOL2L", True), ("DOGE5S", True), ("JUP", False), ("BTC", False),
        ("SUPER", False), ("ARB", False),
    ],
)  # fmt: skip
def test_leveraged_tokens_are_recognised(base: str, leveraged: bool) -> None:
    assert logic.is_leveraged_token(base) is leveraged


def test_pegged_bases_are_recognised() -> None:
    assert all(logic.is_stable_base(b) for b in ("USDC", "FDUSD", "DAI", "TUSD", "EUR", "usde"))
    assert not any(logic.is_stable_base(b) for b in ("BTC", "USUAL", "ETH"))


def _market(symbol: str, *, spot: bool = True, active: bool = True) -> MarketInfo:
    base, quote = symbol.split("/")
    return MarketInfo(symbol=symbol, base=base, quote=quote, spot=spot, active=active)


def test_discovery_filters_ranks_and_cuts() -> None:
    markets = [
        _market("BTC/USDT"), _market("ETH/USDT"), _market("AAA/USDT"), _market("BBB/USDT"),
        _market("BTC3L/USDT"), _market("USDC/USDT"), _market("OLD/USDT", active=False),
        _market("ETH/BTC"), _market("PERP/USDT", spot=False), _market("TINY/USDT"), _market("NOTICK/USDT"),
    ]  # fmt: skip
    volumes = {
        "BTC/USDT": 100.0, "ETH/USDT": 50.0, "AAA/USDT": 20.0, "BBB/USDT": 20.0, "BTC3L/USDT": 500.0,
        "USDC/USDT": 900.0, "OLD/USDT": 800.0, "ETH/BTC": 999.0, "PERP/USDT": 999.0, "TINY/USDT": 1.0,
    }  # fmt: skip
    outcome = logic.select_discovered(markets, volumes, quote="USDT", top_n=3, min_quote_volume=5)
    assert [c.symbol for c in outcome.selected] == ["BTC/USDT", "ETH/USDT", "AAA/USDT"]  # ties by symbol
    assert outcome.excluded == {
        "leveraged": 1, "stablecoin": 1, "inactive": 1, "other_quote": 1, "not_spot": 1,
        "below_min_volume": 1, "no_ticker": 1, "beyond_top_n": 1,
    }  # fmt: skip
    assert outcome.considered == len(markets)


def test_merge_discovery_never_drops_manual_entries() -> None:
    current = [("BTC/USDT", "manual"), ("OLD/USDT", "discover"), ("ETH/USDT", "discover")]
    added, removed = logic.merge_discovery(current, ["ETH/USDT", "SOL/USDT", "BTC/USDT"])
    assert added == ["SOL/USDT"] and removed == ["OLD/USDT"]


def test_one_fetch_is_capped_and_the_next_resumes() -> None:
    since = NOON - 2_000_000 * M15
    plan = logic.plan_fetch(timeframe="15m", now_ms=NOON, last_stored=None, since_ms=since, max_bars=1000)
    assert plan.tail == (since, since + 999 * M15)
