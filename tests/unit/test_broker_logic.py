"""Broker arithmetic on a hand-computed sequence: buy, add, close, with fees and slippage."""

from __future__ import annotations

from decimal import Decimal

import pytest

from myassistant.trading import logic
from myassistant.trading.logic import AccountState, BrokerSettings, Holding

SETTINGS = BrokerSettings()  # 10,000 USDT, 10% of cash per buy, fee 10 bps, slippage 5 bps
KEY = ("bybit", "BTC/USDT")


def cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"))


def test_buy_spends_position_pct_of_cash_including_the_fee() -> None:
    fill = logic.plan_buy(cash=Decimal(10_000), price=Decimal(100), settings=SETTINGS)
    assert fill.fill_price == Decimal("100.05")  # +5 bps slippage
    assert cents(fill.notional) == Decimal("999.00")  # 1000 / 1.001
    assert cents(fill.fee) == Decimal("1.00")  # 10 bps of the notional
    assert cents(fill.cash_delta) == Decimal("-1000.00")
    assert fill.qty == Decimal("9.985017481269")  # 999.000999 / 100.05, rounded down


def test_buy_add_close_sequence_matches_hand_computation() -> None:
    state = AccountState(cash=Decimal(10_000))
    first = logic.plan_buy(cash=state.cash, price=Decimal(100), settings=SETTINGS)
    state = logic.apply_fill(state, KEY, first)
    second = logic.plan_buy(cash=state.cash, price=Decimal(110), settings=SETTINGS)
    assert second.fill_price == Decimal("110.055")
    state = logic.apply_fill(state, KEY, second)
    held = state.holdings[KEY]
    assert cents(state.cash) == Decimal("8100.00")
    assert held.qty == Decimal("18.154577238671")  # 9.985017481269 + 8.169559757402
    assert cents(held.avg_price) == Decimal("104.55")  # quantity-weighted fill price
    assert cents(held.cost_basis) == Decimal("1900.00")  # both budgets, fees included

    close = logic.plan_sell(holding=held, price=Decimal(120), settings=SETTINGS)
    assert close.fill_price == Decimal("119.94")  # -5 bps slippage
    assert cents(close.notional) == Decimal("2177.46")
    assert cents(close.fee) == Decimal("2.18")
    assert cents(close.realized_pnl or Decimal(0)) == Decimal("275.28")  # 2175.28 proceeds - 1900 cost
    state = logic.apply_fill(state, KEY, close)
    assert state.holdings == {}
    assert cents(state.cash) == Decimal("10275.28")
    assert cents(state.realized_pnl) == Decimal("275.28")
    assert cents(state.fees_paid) == Decimal("4.08")  # 1.00 + 0.90 + 2.18


def test_zero_fee_and_slippage_trade_at_the_close() -> None:
    free = BrokerSettings(fee_bps=Decimal(0), slippage_bps=Decimal(0))
    fill = logic.plan_buy(cash=Decimal(1000), price=Decimal(50), settings=free)
    assert (fill.fill_price, fill.fee, fill.notional, fill.qty) == (
        Decimal(50),
        Decimal(0),
        Decimal(100),
        Decimal(2),
    )
    sell = logic.plan_sell(
        holding=Holding(Decimal(2), Decimal(50), Decimal(100)), price=Decimal(50), settings=free
    )
    assert sell.realized_pnl == 0


def test_rebuild_from_ledger_equals_incremental_state() -> None:
    state = AccountState(cash=Decimal(10_000))
    ledger = []
    for price in (Decimal(100), Decimal(95), Decimal("97.5")):
        fill = logic.plan_buy(cash=state.cash, price=price, settings=SETTINGS)
        state = logic.apply_fill(state, KEY, fill)
        ledger.append((KEY, fill))
    close = logic.plan_sell(holding=state.holdings[KEY], price=Decimal(101), settings=SETTINGS)
    state = logic.apply_fill(state, KEY, close)
    ledger.append((KEY, close))
    assert logic.rebuild(Decimal(10_000), ledger) == state


def test_overdraw_and_mismatched_sells_are_refused() -> None:
    state = AccountState(cash=Decimal(10))
    big = logic.plan_buy(cash=Decimal(10_000), price=Decimal(100), settings=SETTINGS)
    with pytest.raises(ValueError, match="overdraw"):
        logic.apply_fill(state, KEY, big)
    sell = logic.plan_sell(
        holding=Holding(Decimal(1), Decimal(1), Decimal(1)), price=Decimal(1), settings=SETTINGS
    )
    with pytest.raises(ValueError, match="does not match"):
        logic.apply_fill(state, KEY, sell)


@pytest.mark.parametrize(
    ("price", "bars", "settings", "expected"),
    [
        (Decimal(94), 1, BrokerSettings(stop_loss_pct=Decimal(5)), "stop_loss"),
        (Decimal(96), 1, BrokerSettings(stop_loss_pct=Decimal(5)), None),
        (Decimal(111), 1, BrokerSettings(take_profit_pct=Decimal(10)), "take_profit"),
        (Decimal(109), 1, BrokerSettings(take_profit_pct=Decimal(10)), None),
        (Decimal(100), 12, BrokerSettings(exit_after_horizon=True), "exit_horizon"),
        (Decimal(100), 11, BrokerSettings(exit_after_horizon=True), None),
        (Decimal(100), 99, BrokerSettings(), None),
    ],
)
def test_optional_exits(price: Decimal, bars: int, settings: BrokerSettings, expected: str | None) -> None:
    holding = Holding(qty=Decimal(1), avg_price=Decimal(100), cost_basis=Decimal(100))
    check = logic.exit_reason(
        holding=holding, price=price, bars_held=bars, horizon_steps=12, settings=settings
    )
    assert check.reason == expected


def test_an_order_beyond_what_the_ledger_holds_is_refused_not_crashed() -> None:
    """Found by the ledger property test: cash grown past 1e20 made quantize raise InvalidOperation."""
    settings = logic.BrokerSettings()
    with pytest.raises(logic.AmountTooLarge, match="beyond what the ledger holds"):
        logic.plan_buy(cash=Decimal("1e24"), price=Decimal("0.01"), settings=settings)
    holding = logic.Holding(qty=Decimal("1e15"), avg_price=Decimal("0.01"), cost_basis=Decimal("1e13"))
    with pytest.raises(logic.AmountTooLarge):
        logic.plan_sell(holding=holding, price=Decimal("100000"), settings=settings)
