"""THE fill, fee and slippage model, shared by the vectorised backtest and the paper broker.

Every function is plain arithmetic over one number type, so the same code runs on numpy arrays
(backtest) and on `decimal.Decimal` (broker, exact money): build the rates in the caller's type
with `rates_from_bps` and pass prices of that type.

Conventions, per side: a buy fills at price × (1 + slippage), a sell at price × (1 − slippage);
the fee is notional × fee rate, where notional = quantity × fill price.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Generic, Literal, TypeVar, overload

import numpy as np
from numpy.typing import NDArray

DEFAULT_FEE_BPS = 10.0
DEFAULT_SLIPPAGE_BPS = 5.0
BPS = 10_000

# float, Decimal or a numpy float array: anything with +, -, *, / against itself and a rate.
Num = TypeVar("Num", float, Decimal, NDArray[np.float64])
Rate = TypeVar("Rate", float, Decimal)


@dataclass(frozen=True)
class CostRates(Generic[Rate]):
    """Fee and slippage as fractions (10 bps = 0.001), in the number type of the caller."""

    fee: Rate
    slippage: Rate


@overload
def rates_from_bps(
    fee_bps: float | str, slippage_bps: float | str, *, exact: Literal[False] = ...
) -> CostRates[float]: ...


@overload
def rates_from_bps(
    fee_bps: float | str | Decimal, slippage_bps: float | str | Decimal, *, exact: Literal[True]
) -> CostRates[Decimal]: ...


def rates_from_bps(
    fee_bps: float | str | Decimal, slippage_bps: float | str | Decimal, *, exact: bool = False
) -> CostRates[Any]:
    """Rates from basis points: floats for arrays, or exact `Decimal`s (from their string form)."""
    for name, value in (("fee_bps", fee_bps), ("slippage_bps", slippage_bps)):
        if not 0 <= float(value) < BPS:
            raise ValueError(f"{name} must be in [0, {BPS}) basis points, got {value}")
    if exact:
        return CostRates(fee=Decimal(str(fee_bps)) / BPS, slippage=Decimal(str(slippage_bps)) / BPS)
    return CostRates(fee=float(fee_bps) / BPS, slippage=float(slippage_bps) / BPS)


def buy_fill_price(price: Num, rates: CostRates[Any]) -> Num:
    """The price a buy actually pays."""
    return price * (1 + rates.slippage)  # type: ignore[no-any-return]


def sell_fill_price(price: Num, rates: CostRates[Any]) -> Num:
    """The price a sell actually receives."""
    return price * (1 - rates.slippage)  # type: ignore[no-any-return]


def fee(notional: Num, rates: CostRates[Any]) -> Num:
    """Exchange fee on a fill's notional (quantity × fill price)."""
    return notional * rates.fee  # type: ignore[no-any-return]


def notional_for_budget(budget: Num, rates: CostRates[Any]) -> Num:
    """The notional a cash budget buys when the buy fee must also come out of that budget."""
    return budget / (1 + rates.fee)  # type: ignore[no-any-return]


def round_trip_return(entry_price: Num, exit_price: Num, rates: CostRates[Any]) -> Num:
    """Net profit of buying at `entry_price` and selling at `exit_price`, over the entry notional.

    Both fees are included: (sell fill × (1 − fee) − buy fill × (1 + fee)) / buy fill.
    This is the per-trade return convention of backtesting.py (`Trade.pl_pct`).
    """
    buy = buy_fill_price(entry_price, rates)
    sell = sell_fill_price(exit_price, rates)
    return sell / buy * (1 - rates.fee) - 1 - rates.fee  # type: ignore[no-any-return]


def round_trip_growth(entry_price: Num, exit_price: Num, rates: CostRates[Any]) -> Num:
    """Cash after the round trip over cash before, when the whole budget (fee included) is spent."""
    buy = buy_fill_price(entry_price, rates)
    sell = sell_fill_price(exit_price, rates)
    return sell * (1 - rates.fee) / (buy * (1 + rates.fee))  # type: ignore[no-any-return]


def break_even_log_return(rates: CostRates[Any]) -> float:
    """The log price move a round trip needs to make any money: log of the cost factor."""
    slip, rate = float(rates.slippage), float(rates.fee)
    return float(np.log((1 + slip) * (1 + rate) / ((1 - slip) * (1 - rate))))
