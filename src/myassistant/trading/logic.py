"""Paper-broker arithmetic in exact decimals: plan fills, apply them, rebuild an account from its ledger.

Every fill goes through `myassistant.trading.costs`, the same fill/fee/slippage model the backtest
uses, so paper results and backtests price a trade identically.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import ROUND_DOWN, Context, Decimal, localcontext
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from myassistant.market import logic as market_logic
from myassistant.trading.costs import (
    CostRates,
    buy_fill_price,
    fee,
    notional_for_budget,
    rates_from_bps,
    sell_fill_price,
)

Side = Literal["buy", "sell"]
ZERO = Decimal(0)
# Stored precision (both backends keep 18 decimals); every stored amount is quantized to it.
# What the ledger's columns hold (NUMERIC(38, 18) on PostgreSQL): an order beyond it is refused rather
# than rounded or crashed; arithmetic runs with room to spare so quantizing never overflows first.
MAX_AMOUNT = Decimal("1e19")
WIDE = Context(prec=80)
QTY_STEP = Decimal("1e-12")
PRICE_STEP = Decimal("1e-12")
MONEY_STEP = Decimal("1e-10")


class BrokerSettings(BaseModel):
    """Stored as the `paper_broker` config doc."""

    model_config = ConfigDict(extra="forbid")

    initial_cash: Decimal = Field(
        default=Decimal("10000"), gt=0, le=Decimal("1e15"), max_digits=30, decimal_places=8
    )
    quote: str = Field(default="USDT", min_length=2, max_length=16, pattern=r"^[A-Z0-9]+$")
    position_pct: Decimal = Field(
        default=Decimal("10"), gt=0, le=100, description="% of current cash per BUY"
    )
    fee_bps: Decimal = Field(default=Decimal("10"), ge=0, lt=1000)
    slippage_bps: Decimal = Field(default=Decimal("5"), ge=0, lt=1000)
    exit_after_horizon: bool = Field(default=False, description="close after horizon_steps bars")
    take_profit_pct: Decimal | None = Field(default=None, gt=0, le=1000)
    stop_loss_pct: Decimal | None = Field(default=None, gt=0, lt=100)

    def rates(self) -> CostRates[Decimal]:
        return rates_from_bps(self.fee_bps, self.slippage_bps, exact=True)


@dataclass(frozen=True)
class Fill:
    """One order's effect on the account, all amounts in the quote currency."""

    side: Side
    qty: Decimal
    price: Decimal
    fill_price: Decimal
    notional: Decimal
    fee: Decimal
    cash_delta: Decimal
    realized_pnl: Decimal | None = None


@dataclass(frozen=True)
class Holding:
    qty: Decimal
    avg_price: Decimal
    cost_basis: Decimal


@dataclass(frozen=True)
class AccountState:
    """What the ledger folds into: cash, totals and open holdings by (exchange, symbol)."""

    cash: Decimal
    realized_pnl: Decimal = ZERO
    fees_paid: Decimal = ZERO
    holdings: dict[tuple[str, str], Holding] = field(default_factory=dict)


def money(value: Decimal) -> Decimal:
    return value.quantize(MONEY_STEP)


class AmountTooLarge(ValueError):
    """An order whose amounts the ledger cannot hold exactly."""


def _within_ledger(fill: Fill) -> Fill:
    for name in ("qty", "price", "fill_price", "notional", "fee", "cash_delta"):
        if abs(getattr(fill, name)) >= MAX_AMOUNT:
            raise AmountTooLarge(
                f"the order's {name} {getattr(fill, name):.6g} is beyond what the ledger holds"
            )
    return fill


def plan_buy(*, cash: Decimal, price: Decimal, settings: BrokerSettings) -> Fill:
    """Spend `position_pct` of cash, fee included, at the price plus slippage."""
    with localcontext(WIDE):
        return _within_ledger(_plan_buy(cash, price, settings))


def plan_sell(*, holding: Holding, price: Decimal, settings: BrokerSettings) -> Fill:
    """Sell the whole holding at the price minus slippage; PnL is net of every fee paid."""
    with localcontext(WIDE):
        return _within_ledger(_plan_sell(holding, price, settings))


def _plan_buy(cash: Decimal, price: Decimal, settings: BrokerSettings) -> Fill:
    if price <= 0:
        raise ValueError(f"price must be positive, got {price}")
    price = price.quantize(PRICE_STEP)
    rates = settings.rates()
    budget = cash * settings.position_pct / 100
    fill_price = buy_fill_price(price, rates).quantize(PRICE_STEP)
    qty = (notional_for_budget(budget, rates) / fill_price).quantize(QTY_STEP, rounding=ROUND_DOWN)
    notional = money(qty * fill_price)
    order_fee = money(fee(notional, rates))
    return Fill("buy", qty, price, fill_price, notional, order_fee, -(notional + order_fee))


def _plan_sell(holding: Holding, price: Decimal, settings: BrokerSettings) -> Fill:
    if price <= 0:
        raise ValueError(f"price must be positive, got {price}")
    price = price.quantize(PRICE_STEP)
    rates = settings.rates()
    fill_price = sell_fill_price(price, rates).quantize(PRICE_STEP)
    notional = money(holding.qty * fill_price)
    order_fee = money(fee(notional, rates))
    proceeds = notional - order_fee
    return Fill(
        "sell", holding.qty, price, fill_price, notional, order_fee, proceeds, proceeds - holding.cost_basis
    )


def apply_fill(state: AccountState, key: tuple[str, str], fill: Fill) -> AccountState:
    """The account after `fill`; raises when a buy would overdraw or a sell exceeds the holding."""
    cash = state.cash + fill.cash_delta
    if cash < 0:
        raise ValueError(f"fill would overdraw cash: {state.cash} + {fill.cash_delta}")
    holdings = dict(state.holdings)
    held = holdings.get(key)
    if fill.side == "buy":
        holdings[key] = add_to_holding(held, fill)
        realized = state.realized_pnl
    else:
        if held is None or fill.qty != held.qty:
            raise ValueError(f"sell of {fill.qty} does not match the holding {held}")
        del holdings[key]
        realized = state.realized_pnl + (fill.realized_pnl or ZERO)
    return replace(
        state, cash=cash, realized_pnl=realized, fees_paid=state.fees_paid + fill.fee, holdings=holdings
    )


def rebuild(initial_cash: Decimal, ledger: list[tuple[tuple[str, str], Fill]]) -> AccountState:
    """Fold the orders ledger, in order, into the account state."""
    state = AccountState(cash=initial_cash)
    for key, fill in ledger:
        state = apply_fill(state, key, fill)
    return state


def add_to_holding(held: Holding | None, fill: Fill) -> Holding:
    """A buy's effect on a holding: quantities add, the average fill price is quantity-weighted."""
    if held is None:
        return Holding(qty=fill.qty, avg_price=fill.fill_price, cost_basis=fill.notional + fill.fee)
    qty = held.qty + fill.qty
    avg_price = ((held.avg_price * held.qty + fill.fill_price * fill.qty) / qty).quantize(PRICE_STEP)
    return Holding(qty=qty, avg_price=avg_price, cost_basis=held.cost_basis + fill.notional + fill.fee)


@dataclass(frozen=True)
class ExitCheck:
    reason: str | None
    detail: str = ""


def exit_reason(
    *, holding: Holding, price: Decimal, bars_held: int, horizon_steps: int, settings: BrokerSettings
) -> ExitCheck:
    """Which optional exit (if any) closes the holding now; stop-loss first, it is the one that protects."""
    if settings.stop_loss_pct is not None:
        floor = holding.avg_price * (1 - settings.stop_loss_pct / 100)
        if price <= floor:
            return ExitCheck("stop_loss", f"close {price} <= {floor:.8f} (-{settings.stop_loss_pct}%)")
    if settings.take_profit_pct is not None:
        target = holding.avg_price * (1 + settings.take_profit_pct / 100)
        if price >= target:
            return ExitCheck("take_profit", f"close {price} >= {target:.8f} (+{settings.take_profit_pct}%)")
    if settings.exit_after_horizon and bars_held >= horizon_steps:
        return ExitCheck("exit_horizon", f"held {bars_held} bars >= horizon {horizon_steps}")
    return ExitCheck(None)


def exits_enabled(settings: BrokerSettings) -> bool:
    """Whether any optional exit is configured (otherwise positions are only closed by hand)."""
    return bool(settings.exit_after_horizon or settings.take_profit_pct or settings.stop_loss_pct)


def check_exit(
    *,
    holding: Holding,
    opened_bar_dt: datetime,
    quote_bar_dt: datetime,
    price: Decimal,
    timeframe: str,
    horizon_steps: int,
    settings: BrokerSettings,
) -> ExitCheck:
    """The exit check of a position opened on `opened_bar_dt`, priced at the close of `quote_bar_dt`."""
    return exit_reason(
        holding=holding,
        price=price,
        bars_held=bars_between(opened_bar_dt, quote_bar_dt, timeframe),
        horizon_steps=horizon_steps,
        settings=settings,
    )


def bars_between(start: datetime, end: datetime, timeframe: str) -> int:
    """Whole bars of `timeframe` from `start` to `end` (both bar open times)."""
    return int((end - start).total_seconds() // (market_logic.timeframe_ms(timeframe) // 1000))
