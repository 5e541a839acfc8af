from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from myassistant.trading import costs
from myassistant.trading.costs import rates_from_bps


def test_buy_pays_slippage_up_and_sell_receives_slippage_down() -> None:
    rates = rates_from_bps(10, 5)
    assert costs.buy_fill_price(100.0, rates) == pytest.approx(100.05)
    assert costs.sell_fill_price(100.0, rates) == pytest.approx(99.95)
    assert costs.fee(10_000.0, rates) == pytest.approx(10.0)


def test_decimal_rates_give_exact_money() -> None:
    rates = rates_from_bps(10, 5, exact=True)
    assert rates.fee == Decimal("0.001") and rates.slippage == Decimal("0.0005")
    assert costs.buy_fill_price(Decimal("100"), rates) == Decimal("100.0500")
    assert costs.sell_fill_price(Decimal("100"), rates) == Decimal("99.9500")
    assert costs.fee(Decimal("1234.56"), rates) == Decimal("1.23456")


def test_numpy_arrays_and_decimals_give_the_same_numbers() -> None:
    entry = ["100", "250.5", "0.0312", "64000"]
    exit_ = ["103", "240.25", "0.0330", "64000"]
    float_rates, exact_rates = rates_from_bps(10, 5), rates_from_bps(10, 5, exact=True)
    entry_array, exit_array = np.array(entry, dtype=float), np.array(exit_, dtype=float)
    for function in (costs.round_trip_return, costs.round_trip_growth):
        vectorised = function(entry_array, exit_array, float_rates)
        exact = [function(Decimal(a), Decimal(b), exact_rates) for a, b in zip(entry, exit_, strict=True)]
        np.testing.assert_allclose(vectorised, [float(v) for v in exact], rtol=0, atol=1e-15)
    for one_price in (costs.buy_fill_price, costs.sell_fill_price, costs.fee, costs.notional_for_budget):
        vectorised = one_price(entry_array, float_rates)
        exact_floats = [float(one_price(Decimal(a), exact_rates)) for a in entry]
        np.testing.assert_allclose(vectorised, exact_floats, rtol=1e-15)


def test_round_trip_return_counts_both_fees_and_both_slippages() -> None:
    rates = rates_from_bps(10, 5)
    expected = (110 * 0.9995 * (1 - 0.001) - 100 * 1.0005 * (1 + 0.001)) / (100 * 1.0005)
    assert costs.round_trip_return(100.0, 110.0, rates) == pytest.approx(expected, abs=1e-15)
    growth = costs.round_trip_growth(100.0, 110.0, rates)
    assert growth == pytest.approx(110 * 0.9995 * 0.999 / (100 * 1.0005 * 1.001), abs=1e-15)
    # the return over the notional and the growth of the budget agree in sign: r = (1 + fee)(g - 1)
    assert costs.round_trip_return(100.0, 110.0, rates) == pytest.approx((1.001) * (growth - 1), abs=1e-15)


def test_flat_price_loses_exactly_the_break_even_move() -> None:
    rates = rates_from_bps(10, 5)
    up = 100 * np.exp(costs.break_even_log_return(rates))
    assert costs.round_trip_growth(100.0, up, rates) == pytest.approx(1.0, abs=1e-12)
    assert costs.round_trip_growth(100.0, 100.0, rates) < 1


def test_zero_costs_are_allowed_and_change_nothing() -> None:
    rates = rates_from_bps(0, 0)
    assert costs.round_trip_return(100.0, 105.0, rates) == pytest.approx(0.05)
    assert costs.break_even_log_return(rates) == 0.0


@pytest.mark.parametrize("fee, slippage", [(-1, 5), (10, -0.5), (10_000, 0)])
def test_rates_outside_the_sane_range_are_refused(fee: float, slippage: float) -> None:
    with pytest.raises(ValueError, match="basis points"):
        rates_from_bps(fee, slippage)
