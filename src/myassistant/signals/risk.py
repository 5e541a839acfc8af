"""The risk policy: which BUY signals become orders. Pure functions of (inputs, policy, broker state).

Each filter returns a `BlockReason` naming its metric, value and limit, or None when it passes, so a
vetoed signal says exactly why, and each filter can be tested on its own.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Signal = Literal["buy", "flat"]


class RiskPolicy(BaseModel):
    """Stored as the `risk_policy` config doc; a limit of null switches its filter off."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    max_vol_norm: float | None = Field(default=3.0, gt=0, description="block when vol_norm is above")
    max_ret_std_24: float | None = Field(default=None, gt=0, description="block when ret_std_24 is above")
    min_prob_margin: float = Field(default=0.0, ge=0, le=1, description="prob must beat threshold by this")
    cooldown_minutes: int = Field(default=60, ge=0, le=60 * 24 * 30, description="since the pair's last BUY")
    max_open_positions: int | None = Field(default=5, ge=0, le=1000)
    max_position_pct: float | None = Field(default=25.0, gt=0, le=100, description="of equity, per symbol")
    blacklist: list[str] = Field(default_factory=list, max_length=500)

    @field_validator("blacklist")
    @classmethod
    def _normalise_symbols(cls, symbols: list[str]) -> list[str]:
        cleaned = []
        for symbol in symbols:
            symbol = symbol.strip().upper()
            if not symbol or len(symbol) > 32:
                raise ValueError(f"invalid symbol {symbol!r} in blacklist")
            if symbol not in cleaned:
                cleaned.append(symbol)
        return cleaned


@dataclass(frozen=True)
class RiskInputs:
    """What the policy needs to know about one prediction."""

    symbol: str
    raw_signal: Signal
    prob: float
    threshold: float
    bar_close: datetime
    vol_norm: float | None = None
    ret_std_24: float | None = None
    last_buy_bar_close: datetime | None = None


@dataclass(frozen=True)
class BrokerState:
    """The paper account as the policy sees it, all in the quote currency."""

    equity: float
    open_positions: int
    symbol_position_value: float
    order_notional: float


@dataclass(frozen=True)
class BlockReason:
    filter: str
    value: Any
    limit: Any
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"filter": self.filter, "value": self.value, "limit": self.limit, "message": self.message}


@dataclass(frozen=True)
class RiskDecision:
    raw_signal: Signal
    final_signal: Signal
    reasons: list[BlockReason] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)
    policy_enabled: bool = True

    @property
    def blocked(self) -> bool:
        return self.raw_signal == "buy" and self.final_signal != "buy"


def check_blacklist(inputs: RiskInputs, policy: RiskPolicy) -> BlockReason | None:
    symbol = inputs.symbol.upper()
    base = symbol.split("/")[0]
    if symbol in policy.blacklist or base in policy.blacklist:
        return BlockReason("blacklist", symbol, policy.blacklist, f"{symbol} is blacklisted")
    return None


def check_vol_norm(inputs: RiskInputs, policy: RiskPolicy) -> BlockReason | None:
    return _above_limit("max_vol_norm", "vol_norm", inputs.vol_norm, policy.max_vol_norm)


def check_ret_std_24(inputs: RiskInputs, policy: RiskPolicy) -> BlockReason | None:
    return _above_limit("max_ret_std_24", "ret_std_24", inputs.ret_std_24, policy.max_ret_std_24)


def check_prob_margin(inputs: RiskInputs, policy: RiskPolicy) -> BlockReason | None:
    margin = inputs.prob - inputs.threshold
    if margin < policy.min_prob_margin:
        return BlockReason(
            "min_prob_margin",
            round(margin, 6),
            policy.min_prob_margin,
            f"probability margin {margin:.4f} over the threshold is below {policy.min_prob_margin}",
        )
    return None


def check_cooldown(inputs: RiskInputs, policy: RiskPolicy) -> BlockReason | None:
    """Measured between bar closes of events, so replaying history gives the same verdicts."""
    if policy.cooldown_minutes == 0 or inputs.last_buy_bar_close is None:
        return None
    elapsed = inputs.bar_close - inputs.last_buy_bar_close
    if elapsed < timedelta(minutes=policy.cooldown_minutes):
        minutes = round(elapsed.total_seconds() / 60, 2)
        return BlockReason(
            "cooldown_minutes",
            minutes,
            policy.cooldown_minutes,
            f"last BUY for {inputs.symbol} was {minutes} min ago (cooldown {policy.cooldown_minutes} min)",
        )
    return None


def check_open_positions(_inputs: RiskInputs, policy: RiskPolicy, broker: BrokerState) -> BlockReason | None:
    limit = policy.max_open_positions
    adding_to_existing = broker.symbol_position_value > 0
    if limit is not None and not adding_to_existing and broker.open_positions >= limit:
        return BlockReason(
            "max_open_positions",
            broker.open_positions,
            limit,
            f"{broker.open_positions} positions open, the limit is {limit}",
        )
    return None


def check_position_size(inputs: RiskInputs, policy: RiskPolicy, broker: BrokerState) -> BlockReason | None:
    limit = policy.max_position_pct
    if limit is None or broker.equity <= 0:
        return None
    pct = (broker.symbol_position_value + broker.order_notional) / broker.equity * 100
    if pct > limit:
        return BlockReason(
            "max_position_pct",
            round(pct, 4),
            limit,
            f"{inputs.symbol} would be {pct:.2f}% of equity, the limit is {limit}%",
        )
    return None


SIGNAL_FILTERS: tuple[Callable[[RiskInputs, RiskPolicy], BlockReason | None], ...] = (
    check_blacklist,
    check_vol_norm,
    check_ret_std_24,
    check_prob_margin,
    check_cooldown,
)
BROKER_FILTERS: tuple[Callable[[RiskInputs, RiskPolicy, BrokerState], BlockReason | None], ...] = (
    check_open_positions,
    check_position_size,
)


def evaluate(inputs: RiskInputs, policy: RiskPolicy, broker: BrokerState | None = None) -> RiskDecision:
    """The final signal and every reason that blocked it; FLAT always passes."""
    metrics = {
        "prob": inputs.prob,
        "threshold": inputs.threshold,
        "prob_margin": inputs.prob - inputs.threshold,
        "vol_norm": inputs.vol_norm,
        "ret_std_24": inputs.ret_std_24,
    }
    if broker is not None:
        metrics |= {
            "equity": broker.equity,
            "open_positions": broker.open_positions,
            "symbol_position_value": broker.symbol_position_value,
            "order_notional": broker.order_notional,
        }
    if inputs.raw_signal != "buy" or not policy.enabled:
        return RiskDecision(inputs.raw_signal, inputs.raw_signal, [], metrics, policy.enabled)
    reasons = [reason for check in SIGNAL_FILTERS if (reason := check(inputs, policy))]
    if broker is not None:
        reasons += [reason for check in BROKER_FILTERS if (reason := check(inputs, policy, broker))]
    return RiskDecision("buy", "flat" if reasons else "buy", reasons, metrics, True)


def _above_limit(name: str, metric: str, value: float | None, limit: float | None) -> BlockReason | None:
    if limit is None:
        return None
    if value is None or math.isnan(value):
        # Unknown risk is not low risk: without the metric (too little history) the filter blocks.
        return BlockReason(name, None, limit, f"{metric} is unknown (not enough history)")
    if value > limit:
        return BlockReason(name, round(value, 6), limit, f"{metric} {value:.4f} is above {limit}")
    return None
