"""Pure signal logic: one bar's decision (raw signal, risk policy on the account's state) and what a
past signal's trade would have returned. make_signal and the replay both decide through `decide`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np

from myassistant.market.logic import timeframe_ms
from myassistant.signals.risk import BrokerState, RiskDecision, RiskInputs, RiskPolicy, Signal, evaluate
from myassistant.trading.costs import CostRates, round_trip_return
from myassistant.trading.logic import BrokerSettings, plan_buy

if TYPE_CHECKING:  # pandas loads with the first features built, not when the service starts
    import pandas as pd


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
    import pandas as pd

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


# --- the per-bar decision, shared by make_signal (state from the DB) and the replay (in memory) ---


def raw_signal(prob: float, threshold: float) -> Signal:
    """The model's own verdict, before the risk policy."""
    return "buy" if prob >= threshold else "flat"


def consults_broker(prob: float, threshold: float, policy: RiskPolicy) -> bool:
    """Whether the policy looks at the account for this prediction: only an enabled policy, on a BUY."""
    return policy.enabled and raw_signal(prob, threshold) == "buy"


def finite(value: Any) -> float | None:
    """A feature value as the risk policy takes it: NaN and infinities are unknown (None)."""
    number = float(value)
    return number if np.isfinite(number) else None


def broker_state(
    *,
    cash: Decimal,
    equity: Decimal,
    open_positions: int,
    symbol_position_value: Decimal,
    price: float,
    settings: BrokerSettings,
) -> BrokerState:
    """The account as the risk policy sees it, with the order a BUY at `price` would place."""
    order = plan_buy(cash=cash, price=Decimal(repr(price)), settings=settings)
    return BrokerState(
        equity=float(equity),
        open_positions=open_positions,
        symbol_position_value=float(symbol_position_value),
        order_notional=float(order.notional + order.fee),
    )


def decide(
    *,
    symbol: str,
    prob: float,
    threshold: float,
    bar_close: datetime,
    vol_norm: float | None,
    ret_std_24: float | None,
    last_buy_bar_close: datetime | None,
    policy: RiskPolicy,
    broker: BrokerState | None,
) -> RiskDecision:
    """One bar's decision: the raw signal from the probability, then the risk policy on the account.

    `broker` may be None when the policy cannot consult it (a FLAT signal, or the policy off): the
    verdict is then the raw signal whatever the account holds.
    """
    inputs = RiskInputs(
        symbol=symbol,
        raw_signal=raw_signal(prob, threshold),
        prob=prob,
        threshold=threshold,
        bar_close=bar_close,
        vol_norm=vol_norm,
        ret_std_24=ret_std_24,
        last_buy_bar_close=last_buy_bar_close,
    )
    return evaluate(inputs, policy, broker)
