"""The replay's decision loop over history: pure, in memory, on a separate replay account.

For every closed bar, in time order across pairs, exactly what a make_signals cycle does at that
bar's close: every pair's new close is known first (the cycle refreshes prices), then each pair in
order decides through `signals.logic.decide` on the replay account's own state (cooldown since its
last BUY, open positions, position size, the order `plan_buy` would place), a final BUY fills
through `trading.logic.plan_buy`, and after all pairs the optional exits (`trading.logic.check_exit`)
sell through `plan_sell`. Money is exact (Decimal) as in the paper broker; nothing here reads a
clock, a file or the database.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from myassistant.market.logic import Pair, bars_per_year, timeframe_ms
from myassistant.signals import logic as signals_logic
from myassistant.signals.risk import BrokerState, RiskDecision, RiskPolicy
from myassistant.trading import costs
from myassistant.trading.logic import (
    ZERO,
    BrokerSettings,
    Fill,
    Holding,
    add_to_holding,
    check_exit,
    exits_enabled,
    plan_buy,
    plan_sell,
)

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
NS_PER_MS = 1_000_000
NO_MODEL = -1


@dataclass(frozen=True)
class ModelUsed:
    """A model that decided some bars: a recorded run (fixed) or one trained by the walk-forward."""

    id: str
    kind: str
    threshold: float
    trained_at: datetime | None  # the moment it was trained (walk-forward) or recorded (a run)
    data_start: datetime | None
    data_end: datetime | None
    run_id: int | None = None
    test_auc: float | None = None
    test_return: float | None = None
    promoted: bool = True
    reason: str = ""
    duration_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            key: value.isoformat() if isinstance(value, datetime) else value
            for key, value in asdict(self).items()
        }


@dataclass(frozen=True)
class PairSeries:
    """One pair's window bars with everything decided on them beforehand (arrays aligned by bar).

    `prob`/`threshold`/`model`: the model the system would have had at the bar (NaN / -1: none);
    `forward_return`: what a BUY on the bar earns after costs (for vetoes; NaN when not yet known);
    `label`: the training label of the bar (for the out-of-sample AUC only, never for a decision).
    """

    pair: Pair
    bar_ns: IntArray
    open: FloatArray
    close: FloatArray
    prob: FloatArray
    threshold: FloatArray
    model: IntArray
    vol_norm: FloatArray
    ret_std_24: FloatArray
    forward_return: FloatArray
    label: FloatArray
    models: tuple[ModelUsed, ...] = ()
    failures: tuple[dict[str, Any], ...] = ()  # walk-forward trainings that failed, with why

    def __len__(self) -> int:
        return len(self.bar_ns)


@dataclass
class _Position:
    pair: int
    holding: Holding
    opened_bar: int  # bar index (in its pair's series) of the first BUY
    opened_bar_dt: datetime
    entry_fill_price: Decimal
    entry_notional: Decimal
    buys: int = 1


@dataclass
class _Account:
    """The replay account: the paper broker's arithmetic on in-memory state."""

    cash: Decimal
    realized_pnl: Decimal = ZERO
    fees_paid: Decimal = ZERO
    positions: dict[tuple[str, str], _Position] = field(default_factory=dict)
    marks: dict[int, Decimal] = field(default_factory=dict)  # pair → its latest close

    def position_value(self, position: _Position) -> Decimal:
        return position.holding.qty * self.marks[position.pair]

    def equity(self) -> Decimal:
        return self.cash + sum((self.position_value(p) for p in self.positions.values()), ZERO)

    def broker_state(self, key: tuple[str, str], price: float, settings: BrokerSettings) -> BrokerState:
        held = self.positions.get(key)
        return signals_logic.broker_state(
            cash=self.cash,
            equity=self.equity(),
            open_positions=len(self.positions),
            symbol_position_value=self.position_value(held) if held is not None else ZERO,
            price=price,
            settings=settings,
        )

    def book(self, fill: Fill) -> None:
        self.cash += fill.cash_delta
        self.fees_paid += fill.fee
        self.realized_pnl += fill.realized_pnl or ZERO


@dataclass(frozen=True)
class ReplayOutcome:
    """What one pass of the loop did: every decision, order, round trip, veto and the equity curve."""

    decisions: pd.DataFrame
    orders: pd.DataFrame
    trades: pd.DataFrame
    vetoes: pd.DataFrame
    curve: pd.DataFrame
    open_positions: list[dict[str, Any]]
    metrics: dict[str, Any]


@dataclass
class _Log:
    decisions: list[tuple[Any, ...]] = field(default_factory=list)
    orders: list[dict[str, Any]] = field(default_factory=list)
    trades: list[dict[str, Any]] = field(default_factory=list)
    vetoes: list[dict[str, Any]] = field(default_factory=list)
    curve: list[tuple[int, float, float, int]] = field(default_factory=list)


DECISION_COLUMNS = (
    "pair",
    "symbol",
    "bar_dt",
    "prob",
    "threshold",
    "raw_signal",
    "final_signal",
    "blocked",
    "reasons",
    "model",
    "ordered",
)


def run(series: Sequence[PairSeries], *, policy: RiskPolicy, broker: BrokerSettings) -> ReplayOutcome:
    """Replay the decision loop over `series` (in the watchlist's pair order) with one policy and broker."""
    account = _Account(cash=broker.initial_cash)
    log = _Log()
    last_buy: dict[int, datetime] = {}
    closes_dt = [_datetimes(s.bar_ns + timeframe_ms(s.pair.timeframe) * NS_PER_MS) for s in series]
    bars_dt = [_datetimes(s.bar_ns) for s in series]
    for moment, batch in _events(series):
        for p, i in batch:  # the cycle refreshes every pair's prices before any decision
            account.marks[p] = Decimal(repr(float(series[p].close[i])))
        for p, i in batch:
            _decide_bar(series, p, i, account, log, last_buy, closes_dt, bars_dt, policy, broker)
        if exits_enabled(broker):
            _apply_exits(series, {p: i for p, i in batch}, account, log, bars_dt, broker)
        log.curve.append((moment, float(account.equity()), float(account.cash), len(account.positions)))
    return _outcome(series, account, log, broker)


def _events(series: Sequence[PairSeries]) -> list[tuple[int, list[tuple[int, int]]]]:
    """Bar closes in time order; at each moment the pairs that close a bar then, in pair order."""
    if not series:
        return []
    close_ns = np.concatenate([s.bar_ns + timeframe_ms(s.pair.timeframe) * NS_PER_MS for s in series])
    pair = np.concatenate([np.full(len(s), p, dtype=np.int64) for p, s in enumerate(series)])
    bar = np.concatenate([np.arange(len(s), dtype=np.int64) for s in series])
    order = np.lexsort((pair, close_ns))
    close_ns, pair, bar = close_ns[order], pair[order], bar[order]
    bounds = np.flatnonzero(np.diff(close_ns)) + 1
    starts = np.concatenate(([0], bounds)).tolist()
    stops = np.concatenate((bounds, [len(close_ns)])).tolist()
    pairs, bars, moments = pair.tolist(), bar.tolist(), close_ns.tolist()
    return [
        (moments[a], list(zip(pairs[a:b], bars[a:b], strict=True)))
        for a, b in zip(starts, stops, strict=True)
    ]


def _datetimes(ns: IntArray) -> list[datetime]:
    return list(pd.DatetimeIndex(ns.astype("datetime64[ns]")).tz_localize("UTC").to_pydatetime())


def _decide_bar(
    series: Sequence[PairSeries],
    p: int,
    i: int,
    account: _Account,
    log: _Log,
    last_buy: dict[int, datetime],
    closes_dt: list[list[datetime]],
    bars_dt: list[list[datetime]],
    policy: RiskPolicy,
    broker: BrokerSettings,
) -> None:
    data = series[p]
    prob = float(data.prob[i])
    if math.isnan(prob):  # no model yet: the live loop answers 412 and stores nothing
        return
    pair = data.pair
    key = (pair.exchange, pair.symbol)
    price, threshold = float(data.close[i]), float(data.threshold[i])
    # The account is priced only when the policy will look at it (live notes record it always).
    state = (
        account.broker_state(key, price, broker)
        if signals_logic.consults_broker(prob, threshold, policy)
        else None
    )
    decision = signals_logic.decide(
        symbol=pair.symbol,
        prob=prob,
        threshold=threshold,
        bar_close=closes_dt[p][i],
        vol_norm=signals_logic.finite(data.vol_norm[i]),
        ret_std_24=signals_logic.finite(data.ret_std_24[i]),
        last_buy_bar_close=last_buy.get(p),
        policy=policy,
        broker=state,
    )
    ordered = False
    if decision.final_signal == "buy":
        last_buy[p] = closes_dt[p][i]
        ordered = _buy(series, p, i, account, log, bars_dt, broker)
    elif decision.blocked:
        log.vetoes.append(_veto(data, i, bars_dt[p][i], decision))
    log.decisions.append(_decision_row(data, p, i, bars_dt[p][i], decision, ordered))


def _decision_row(
    data: PairSeries, p: int, i: int, bar_dt: datetime, decision: RiskDecision, ordered: bool
) -> tuple[Any, ...]:
    reasons = json.dumps([r.as_dict() for r in decision.reasons]) if decision.reasons else ""
    model = int(data.model[i])
    return (
        p,
        data.pair.symbol,
        bar_dt,
        float(data.prob[i]),
        float(data.threshold[i]),
        decision.raw_signal,
        decision.final_signal,
        decision.blocked,
        reasons,
        data.models[model].id if 0 <= model < len(data.models) else "",
        ordered,
    )


def _veto(data: PairSeries, i: int, bar_dt: datetime, decision: RiskDecision) -> dict[str, Any]:
    forward = float(data.forward_return[i])
    return {
        "symbol": data.pair.symbol,
        "bar_dt": bar_dt,
        "prob": float(data.prob[i]),
        "threshold": float(data.threshold[i]),
        "filters": ",".join(r.filter for r in decision.reasons),
        "reasons": json.dumps([r.as_dict() for r in decision.reasons]),
        "forward_return": None if math.isnan(forward) else forward,
    }


def _buy(
    series: Sequence[PairSeries],
    p: int,
    i: int,
    account: _Account,
    log: _Log,
    bars_dt: list[list[datetime]],
    broker: BrokerSettings,
) -> bool:
    """The paper broker's BUY for a final BUY signal; False when the cash left buys nothing."""
    data = series[p]
    fill = plan_buy(cash=account.cash, price=account.marks[p], settings=broker)
    if fill.qty <= 0:
        return False
    key = (data.pair.exchange, data.pair.symbol)
    account.book(fill)
    held = account.positions.get(key)
    if held is None:
        account.positions[key] = _Position(
            pair=p,
            holding=add_to_holding(None, fill),
            opened_bar=i,
            opened_bar_dt=bars_dt[p][i],
            entry_fill_price=fill.fill_price,
            entry_notional=fill.notional,
        )
    else:
        held.holding = add_to_holding(held.holding, fill)
        held.entry_notional += fill.notional
        held.buys += 1
    log.orders.append(_order_row(data, bars_dt[p][i], fill, "signal"))
    return True


def _apply_exits(
    series: Sequence[PairSeries],
    new_bars: dict[int, int],
    account: _Account,
    log: _Log,
    bars_dt: list[list[datetime]],
    broker: BrokerSettings,
) -> None:
    """Close every position whose series closed a bar now and an exit says so (symbol order, as live)."""
    for key in sorted(account.positions, key=lambda k: k[1]):
        position = account.positions[key]
        i = new_bars.get(position.pair)
        if i is None:
            continue
        pair = series[position.pair].pair
        check = check_exit(
            holding=position.holding,
            opened_bar_dt=position.opened_bar_dt,
            quote_bar_dt=bars_dt[position.pair][i],
            price=account.marks[position.pair],
            timeframe=pair.timeframe,
            horizon_steps=pair.horizon_steps,
            settings=broker,
        )
        if check.reason is None:
            continue
        fill = plan_sell(holding=position.holding, price=account.marks[position.pair], settings=broker)
        account.book(fill)
        del account.positions[key]
        log.orders.append(_order_row(series[position.pair], bars_dt[position.pair][i], fill, check.reason))
        log.trades.append(_trade_row(series[position.pair], position, i, bars_dt, fill, check.reason))


def _order_row(data: PairSeries, bar_dt: datetime, fill: Fill, reason: str) -> dict[str, Any]:
    return {
        "symbol": data.pair.symbol,
        "bar_dt": bar_dt,
        "side": fill.side,
        "reason": reason,
        "qty": str(fill.qty),
        "price": str(fill.price),
        "fill_price": str(fill.fill_price),
        "notional": str(fill.notional),
        "fee": str(fill.fee),
        "cash_delta": str(fill.cash_delta),
        "realized_pnl": None if fill.realized_pnl is None else str(fill.realized_pnl),
    }


def _trade_row(
    data: PairSeries,
    position: _Position,
    exit_bar: int,
    bars_dt: list[list[datetime]],
    fill: Fill,
    reason: str,
) -> dict[str, Any]:
    """A round trip: BUY at the close of `entry_bar_dt`, SELL at the close of `exit_bar_dt`.

    `return` is the net profit over the entry notional (the backtest's per-trade return).
    """
    pnl = fill.realized_pnl or ZERO
    return {
        "symbol": data.pair.symbol,
        "entry_bar_dt": position.opened_bar_dt,
        "exit_bar_dt": bars_dt[position.pair][exit_bar],
        "bars_held": exit_bar - position.opened_bar,
        "entry_price": float(position.entry_fill_price),
        "exit_price": float(fill.fill_price),
        "qty": float(position.holding.qty),
        "pnl": float(pnl),
        "return": float(pnl / position.entry_notional),
        "buys": position.buys,
        "exit_reason": reason,
    }


def _outcome(
    series: Sequence[PairSeries], account: _Account, log: _Log, broker: BrokerSettings
) -> ReplayOutcome:
    decisions = pd.DataFrame.from_records(log.decisions, columns=list(DECISION_COLUMNS))
    curve = pd.DataFrame.from_records(log.curve, columns=["close_ns", "equity", "cash", "open_positions"])
    curve["buy_and_hold"] = buy_and_hold_curve(series, curve["close_ns"].to_numpy(np.int64), broker)
    curve.insert(0, "time", pd.to_datetime(curve.pop("close_ns"), unit="ns", utc=True))
    trades = pd.DataFrame.from_records(log.trades, columns=list(TRADE_COLUMNS))
    vetoes = pd.DataFrame.from_records(log.vetoes, columns=list(VETO_COLUMNS))
    orders = pd.DataFrame.from_records(log.orders, columns=list(ORDER_COLUMNS))
    open_positions = [
        {
            "symbol": series[p.pair].pair.symbol,
            "opened_bar_dt": p.opened_bar_dt.isoformat(),
            "qty": str(p.holding.qty),
            "avg_price": str(p.holding.avg_price),
            "cost_basis": str(p.holding.cost_basis),
            "market_value": float(account.position_value(p)),
        }
        for p in account.positions.values()
    ]
    metrics = summarise(series, curve, trades, vetoes, decisions, broker) | {
        "orders": len(orders),
        "fees_paid": float(account.fees_paid),
        "realized_pnl": float(account.realized_pnl),
        "open_positions": len(open_positions),
    }
    return ReplayOutcome(decisions, orders, trades, vetoes, curve, open_positions, metrics)


TRADE_COLUMNS = (
    "symbol",
    "entry_bar_dt",
    "exit_bar_dt",
    "bars_held",
    "entry_price",
    "exit_price",
    "qty",
    "pnl",
    "return",
    "buys",
    "exit_reason",
)
VETO_COLUMNS = ("symbol", "bar_dt", "prob", "threshold", "filters", "reasons", "forward_return")
ORDER_COLUMNS = (
    "symbol",
    "bar_dt",
    "side",
    "reason",
    "qty",
    "price",
    "fill_price",
    "notional",
    "fee",
    "cash_delta",
    "realized_pnl",
)


def summarise(
    series: Sequence[PairSeries],
    curve: pd.DataFrame,
    trades: pd.DataFrame,
    vetoes: pd.DataFrame,
    decisions: pd.DataFrame,
    broker: BrokerSettings,
) -> dict[str, Any]:
    """Total return after costs, Sharpe, max drawdown, win rate, exposure, buy-and-hold, out-of-sample AUC."""
    initial = float(broker.initial_cash)
    equity = curve["equity"].to_numpy(dtype=np.float64)
    path = np.concatenate(([initial], equity))
    bar_returns = path[1:] / path[:-1] - 1
    std = float(bar_returns.std()) if len(bar_returns) > 1 else 0.0
    annual = max((bars_per_year(s.pair.timeframe) for s in series), default=1.0)
    returns = trades["return"].to_numpy(dtype=np.float64)
    forward = pd.to_numeric(vetoes["forward_return"], errors="coerce").dropna()
    return {
        "initial_equity": initial,
        "final_equity": float(path[-1]),
        "total_return": float(path[-1] / initial - 1),
        "sharpe": float(bar_returns.mean() / std * math.sqrt(annual)) if std > 0 else None,
        "max_drawdown": float(np.max(1 - path / np.maximum.accumulate(path))),
        "trades": len(trades),
        "win_rate": float((returns > 0).mean()) if len(returns) else None,
        "mean_trade_return": float(returns.mean()) if len(returns) else None,
        "exposure": float((curve["open_positions"] > 0).mean()) if len(curve) else 0.0,
        "buy_and_hold_return": buy_and_hold(series, broker),
        "decisions": len(decisions),
        "buys": int((decisions["final_signal"] == "buy").sum()) if len(decisions) else 0,
        "vetoes": len(vetoes),
        "vetoes_mean_forward_return": float(forward.mean()) if len(forward) else None,
        "vetoes_total_forward_return": float(forward.sum()) if len(forward) else None,
        "oos_auc": out_of_sample_auc(series),
    }


def buy_and_hold(series: Sequence[PairSeries], broker: BrokerSettings) -> float | None:
    """Equal weights in every pair: buy the window's first open, sell its last close, costs included."""
    rates = costs.rates_from_bps(float(broker.fee_bps), float(broker.slippage_bps))
    growth = [
        float(costs.round_trip_growth(float(s.open[0]), float(s.close[-1]), rates)) for s in series if len(s)
    ]
    return float(np.mean(growth) - 1) if growth else None


def buy_and_hold_curve(
    series: Sequence[PairSeries], moments_ns: IntArray, broker: BrokerSettings
) -> FloatArray:
    """What `buy_and_hold` would be worth at each moment (bar close, epoch ns): the initial cash in equal
    parts, each pair bought at the window's first open and sold at its latest close by then, costs
    included; a pair that has closed no bar yet is still cash. Its last value is `buy_and_hold`'s."""
    rates = costs.rates_from_bps(float(broker.fee_bps), float(broker.slippage_bps))
    held = [s for s in series if len(s)]
    if not held:
        return np.full(len(moments_ns), float(broker.initial_cash))
    parts = np.empty((len(held), len(moments_ns)))
    for row, s in enumerate(held):
        entry = np.full(len(s), float(s.open[0]))
        growth: FloatArray = costs.round_trip_growth(entry, s.close.astype(np.float64), rates)
        closes_ns = s.bar_ns + timeframe_ms(s.pair.timeframe) * NS_PER_MS
        latest = np.searchsorted(closes_ns, moments_ns, side="right") - 1
        parts[row] = np.where(latest >= 0, growth[np.maximum(latest, 0)], 1.0)
    worth: FloatArray = float(broker.initial_cash) * parts.mean(axis=0)
    return worth


def out_of_sample_auc(series: Sequence[PairSeries]) -> float | None:
    """AUC of every prediction the replay made against the bars' labels, over the whole window."""
    probs = np.concatenate([s.prob for s in series]) if series else np.empty(0)
    labels = np.concatenate([s.label for s in series]) if series else np.empty(0)
    known = ~(np.isnan(probs) | np.isnan(labels))
    return rank_auc(probs[known], labels[known] == 1)


def rank_auc(scores: FloatArray, positive: NDArray[np.bool_]) -> float | None:
    """ROC AUC by the rank-sum formula (ties share their average rank); None with one class only."""
    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    ranks = pd.Series(scores).rank(method="average").to_numpy()
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def compare(a: ReplayOutcome, b: ReplayOutcome) -> dict[str, Any]:
    """Two policies over the same predictions: the BUYs only one of them blocked, and what they earned.

    A BUY blocked only by A had `forward_return` (after costs) under B: a negative sum means A's
    filters saved that much per unit traded, a positive one that they cost it.
    """
    keys = ["pair", "bar_dt"]
    left = a.decisions.loc[a.decisions["raw_signal"] == "buy", [*keys, "symbol", "final_signal", "reasons"]]
    right = b.decisions.loc[b.decisions["raw_signal"] == "buy", [*keys, "final_signal", "reasons"]]
    both = left.merge(right, on=keys, suffixes=("_a", "_b"), how="inner")
    forward = _forward_by_bar(a, b)
    only_a = both[(both["final_signal_a"] != "buy") & (both["final_signal_b"] == "buy")]
    only_b = both[(both["final_signal_b"] != "buy") & (both["final_signal_a"] == "buy")]
    return {
        "a": a.metrics,
        "b": b.metrics,
        "blocked_only_by_a": _blocked(only_a, "reasons_a", forward),
        "blocked_only_by_b": _blocked(only_b, "reasons_b", forward),
        "total_return_difference": a.metrics["total_return"] - b.metrics["total_return"],
    }


def _forward_by_bar(a: ReplayOutcome, b: ReplayOutcome) -> dict[tuple[str, Any], float | None]:
    found: dict[tuple[str, Any], float | None] = {}
    for outcome in (a, b):
        for symbol, bar, value in zip(
            outcome.vetoes["symbol"], outcome.vetoes["bar_dt"], outcome.vetoes["forward_return"], strict=True
        ):
            found[(symbol, bar)] = None if value is None or pd.isna(value) else float(value)
    return found


def _blocked(
    rows: pd.DataFrame, reasons: str, forward: dict[tuple[str, Any], float | None]
) -> dict[str, Any]:
    listed = [
        {
            "symbol": symbol,
            "bar_dt": bar.isoformat(),
            "filters": [r["filter"] for r in json.loads(why)] if why else [],
            "forward_return": forward.get((symbol, bar)),
        }
        for symbol, bar, why in zip(rows["symbol"], rows["bar_dt"], rows[reasons], strict=True)
    ]
    known = [row["forward_return"] for row in listed if row["forward_return"] is not None]
    return {
        "count": len(listed),
        "forward_return_sum": float(sum(known)) if known else 0.0,
        "forward_return_mean": float(np.mean(known)) if known else None,
        "buys": listed,
    }
