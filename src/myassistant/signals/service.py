"""The decision loop: the last closed bar → prediction → risk policy → stored event → paper order.

One function, `make_signal`, serves the endpoint, the scheduler and the actions. An event is stored
once per (exchange, symbol, timeframe, bar): a second call for the same bar returns the stored event
with `created=False` and triggers nothing downstream, so retries and concurrent calls are safe.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray
from pydantic_core import to_json
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from myassistant.core import clock
from myassistant.core.config import Settings
from myassistant.core.db import Database, insert_ignoring_conflicts
from myassistant.core.errors import DomainError, PreconditionFailed
from myassistant.market import logic as market_logic
from myassistant.market import service as market
from myassistant.market.logic import Pair, Series
from myassistant.market.schemas import checked_pair
from myassistant.ml.features import FEATURE_COLUMNS, WARMUP_BARS
from myassistant.ml.frames import NewsMemo, live_feature_row
from myassistant.ml.history import ensure_history
from myassistant.ml.predictors import top_contributions
from myassistant.ml.registry import LoadedModel, load_model_for
from myassistant.news import service as news
from myassistant.news.lexicon import coin_tag_for_symbol
from myassistant.notify import service as notify
from myassistant.signals import logic, policy, risk
from myassistant.signals.schemas import ScanResult, SignalEventRead, SignalOutcome
from myassistant.signals.tables import SignalEvent
from myassistant.trading import service as broker
from myassistant.trading.costs import rates_from_bps

if TYPE_CHECKING:  # pandas loads with the first features built, not when the service starts
    import pandas as pd


HEADLINES_IN_NOTE = 3
CONTRIBUTIONS_IN_NOTE = 5


def make_signal(
    session: Session,
    *,
    settings: Settings,
    pair: Pair,
    source: str,
    trade: bool = False,
    refresh_error: str | None = None,
    news: NewsMemo | None = None,
) -> SignalOutcome:
    """Predict on the last closed bar, apply the risk policy, store the event once, then act on it.

    A new event (and its paper order) is committed before Telegram is asked, so a failing
    notification never loses the signal; a stored one neither trades nor notifies again.
    `refresh_error`: the caller already tried to refresh the pair's prices and this is why it
    failed; the exchange is not asked again. `news`: news reads shared with the other pairs of a scan.
    """
    bar_dt = _last_closed_bar(session, settings, pair, refresh_error=refresh_error)
    stored = event_for_bar(session, pair, bar_dt)
    if stored is not None:
        return SignalOutcome(created=False, event=SignalEventRead.model_validate(stored))
    model = load_model_for(
        session,
        settings=settings,
        exchange=pair.exchange,
        symbol=pair.symbol,
        timeframe=pair.timeframe,
        horizon_steps=pair.horizon_steps,
    )
    live = live_feature_row(session, pair=pair, bar_ts=bar_dt, news=news)
    prices, row = live.prices, live.features.iloc[0]
    price = float(prices["close"].iloc[-1])
    prob = float(model.predict(_model_input(row, model))[0])
    decision = _risk_decision(session, pair, bar_dt, prob, model.threshold, row, price)
    note = _note(session, pair, bar_dt, model, row, decision)
    note["features_warmed_up"] = live.warmed_up  # False: fewer bars stored than training used
    event, created = _store_event(session, pair, bar_dt, price, prob, model, decision, source, note)
    outcome = SignalOutcome(created=created, event=SignalEventRead.model_validate(event))
    if created and trade and event.final_signal == "buy":
        _trade(session, event, outcome)
    if created:
        outcome.notification = notify.maybe_send_signal_notification(
            session, settings=settings, event=event, source=source
        )
    return outcome


def event_for_bar(session: Session, pair: Pair, bar_dt: datetime) -> SignalEvent | None:
    query = select(SignalEvent).where(
        SignalEvent.exchange == pair.exchange,
        SignalEvent.symbol == pair.symbol,
        SignalEvent.timeframe == pair.timeframe,
        SignalEvent.bar_dt == bar_dt,
    )
    return session.scalars(query).one_or_none()


def recent(
    session: Session,
    *,
    limit: int = 50,
    exchange: str | None = None,
    symbol: str | None = None,
    final_signal: str | None = None,
    since: datetime | None = None,
    blocked: bool | None = None,
) -> Sequence[SignalEvent]:
    """Newest events first, filtered."""
    query = _recent_query(select(SignalEvent), limit, exchange, symbol, final_signal, since, blocked)
    return session.scalars(query).all()


def recent_json(
    session: Session,
    *,
    limit: int = 50,
    exchange: str | None = None,
    symbol: str | None = None,
    final_signal: str | None = None,
    since: datetime | None = None,
    blocked: bool | None = None,
) -> bytes:
    """`recent` as a JSON array of `SignalEventRead`, from plain rows.

    The dashboard's hot read: the columns already have the API's types, so rows go straight to
    pydantic-core's serialiser, without ORM objects or model instances (a test checks the output
    equals the models').
    """
    columns = [SignalEvent.__table__.c[name] for name in SignalEventRead.model_fields]
    query = _recent_query(select(*columns), limit, exchange, symbol, final_signal, since, blocked)
    result = session.connection().execute(query)  # Core: no ORM loading machinery for plain columns
    names = list(result.keys())
    return to_json([dict(zip(names, row, strict=True)) for row in result])


def _recent_query(
    query: Select[Any],
    limit: int,
    exchange: str | None,
    symbol: str | None,
    final_signal: str | None,
    since: datetime | None,
    blocked: bool | None,
) -> Select[Any]:
    query = query.order_by(SignalEvent.id.desc()).limit(limit)
    if exchange:
        query = query.where(SignalEvent.exchange == exchange.lower())
    if symbol:
        query = query.where(SignalEvent.symbol == symbol.upper())
    if final_signal:
        query = query.where(SignalEvent.final_signal == final_signal)
    if since is not None:
        query = query.where(SignalEvent.created_at >= since)
    if blocked is not None:
        query = query.where(SignalEvent.blocked.is_(blocked))
    return query


def _last_closed_bar(
    session: Session, settings: Settings, pair: Pair, *, refresh_error: str | None
) -> datetime:
    """The last closed bar; first fetch what the store lacks of the features' warm-up, unless a
    refresh already failed (`refresh_error`).

    A full warm-up (WARMUP_BARS) makes the live row exactly the row training would compute; a pair
    served by the fallback model may never have been fetched that far back.
    """
    expected = market_logic.from_ms(
        market_logic.last_closed_open(market_logic.to_ms(clock.now()), pair.timeframe)
    )
    problem = f"; refreshing failed: {refresh_error}" if refresh_error is not None else ""
    if refresh_error is None:
        _, error = ensure_history(session, settings=settings, pair=checked_pair(pair), bars=WARMUP_BARS)
        problem = f"; refreshing failed: {error.detail}" if error else ""
    latest = market.latest_bar(session, exchange=pair.exchange, symbol=pair.symbol, timeframe=pair.timeframe)
    if latest is None:
        raise PreconditionFailed(
            f"no prices stored for {pair.exchange} {pair.symbol} {pair.timeframe}{problem}"
        )
    if latest.ts < expected:
        raise PreconditionFailed(
            f"prices for {pair.exchange} {pair.symbol} {pair.timeframe} end at {latest.ts.isoformat()}, "
            f"but the last closed bar is {expected.isoformat()}: a signal on old data would mislead{problem}"
        )
    return expected


def _model_input(row: pd.Series, model: LoadedModel) -> NDArray[np.float64]:
    missing = [name for name in model.features if name not in row.index]
    if missing:
        raise PreconditionFailed(
            f"model run {model.run_id} needs features this build does not make: {missing}"
        )
    values: NDArray[np.float64] = row[list(model.features)].to_numpy(dtype=np.float64)
    return values.reshape(1, -1)


def _risk_decision(
    session: Session,
    pair: Pair,
    bar_dt: datetime,
    prob: float,
    threshold: float,
    row: pd.Series,
    price: float,
) -> risk.RiskDecision:
    close_time = bar_dt + timedelta(milliseconds=market_logic.timeframe_ms(pair.timeframe))
    return logic.decide(
        symbol=pair.symbol,
        prob=prob,
        threshold=threshold,
        bar_close=close_time,
        vol_norm=logic.finite(row["vol_norm"]),
        ret_std_24=logic.finite(row["ret_std_24"]),
        last_buy_bar_close=_last_buy_close(session, pair, bar_dt),
        policy=policy.current(session),
        broker=_broker_state(session, pair, price),
    )


def _last_buy_close(session: Session, pair: Pair, bar_dt: datetime) -> datetime | None:
    """When the pair's last BUY before this bar closed: cooldowns count in event time, not wall time."""
    query = (
        select(SignalEvent.bar_close)
        .where(
            SignalEvent.exchange == pair.exchange,
            SignalEvent.symbol == pair.symbol,
            SignalEvent.timeframe == pair.timeframe,
            SignalEvent.final_signal == "buy",
            SignalEvent.bar_dt < bar_dt,
        )
        .order_by(SignalEvent.bar_dt.desc())
        .limit(1)
    )
    return session.scalars(query).first()


def _broker_state(session: Session, pair: Pair, price: float) -> risk.BrokerState:
    marked = broker.positions(session)
    equity = broker.equity(session, marked=marked)
    held = sum(
        (p.market_value for p in marked if (p.exchange, p.symbol) == (pair.exchange, pair.symbol)), Decimal(0)
    )
    return logic.broker_state(
        cash=equity.cash,
        equity=equity.equity,
        open_positions=equity.open_positions,
        symbol_position_value=held,
        price=price,
        settings=broker.broker_settings(session),
    )


def _note(
    session: Session,
    pair: Pair,
    bar_dt: datetime,
    model: LoadedModel,
    row: pd.Series,
    decision: risk.RiskDecision,
) -> dict[str, Any]:
    close_time = bar_dt + timedelta(milliseconds=market_logic.timeframe_ms(pair.timeframe))
    headlines = news.latest_headlines(
        session, tag=coin_tag_for_symbol(pair.symbol), limit=HEADLINES_IN_NOTE, before=close_time
    )
    return {
        "risk": {
            "policy_enabled": decision.policy_enabled,
            "metrics": {key: _json_number(value) for key, value in decision.metrics.items()},
            "reasons": [reason.as_dict() for reason in decision.reasons],
        },
        "model": {"run_id": model.run_id, "choice": model.source, "trained_at": model.created_at.isoformat()},
        "explanation": {
            "top_features": top_contributions(
                model.predictor, _model_input(row, model)[0], limit=CONTRIBUTIONS_IN_NOTE
            ),
            "headlines": [headline.model_dump(mode="json") for headline in headlines],
        },
        "features": {name: logic.finite(row[name]) for name in FEATURE_COLUMNS},
    }


def _json_number(value: Any) -> Any:
    return logic.finite(value) if isinstance(value, float | int) and not isinstance(value, bool) else value


def _store_event(
    session: Session,
    pair: Pair,
    bar_dt: datetime,
    price: float,
    prob: float,
    model: LoadedModel,
    decision: risk.RiskDecision,
    source: str,
    note: dict[str, Any],
) -> tuple[SignalEvent, bool]:
    close_time = bar_dt + timedelta(milliseconds=market_logic.timeframe_ms(pair.timeframe))
    event_id = session.execute(
        insert_ignoring_conflicts(session, SignalEvent.__table__)
        .values(
            exchange=pair.exchange,
            symbol=pair.symbol,
            timeframe=pair.timeframe,
            horizon_steps=pair.horizon_steps,
            bar_dt=bar_dt,
            bar_close=close_time,
            price=price,
            raw_signal=decision.raw_signal,
            final_signal=decision.final_signal,
            blocked=decision.blocked,
            prob=prob,
            threshold=model.threshold,
            model_run_id=model.run_id,
            source=source,
            note=note,
            created_at=clock.now(),
            forward_return=None,
            forward_filled_at=None,
        )
        .returning(SignalEvent.id)
    ).scalar_one_or_none()
    event = (
        session.get(SignalEvent, event_id) if event_id is not None else event_for_bar(session, pair, bar_dt)
    )
    assert event is not None  # inserted now, or by the concurrent call that won the race
    return event, event_id is not None


def _trade(session: Session, event: SignalEvent, outcome: SignalOutcome) -> None:
    order = broker.buy_for_signal(
        session,
        signal_event_id=event.id,
        exchange=event.exchange,
        symbol=event.symbol,
        timeframe=event.timeframe,
        horizon_steps=event.horizon_steps,
        price=Decimal(repr(event.price)),
        bar_dt=event.bar_dt,
    )
    outcome.order = order
    if order is None:
        outcome.trade_skipped = "the cash left buys nothing at this price"


def fill_forward_returns(session: Session, *, limit: int = 10_000) -> int:
    """Give every event whose horizon has passed its realised return after fees and slippage.

    The trade is the backtest's: enter at the next bar's open, exit `horizon_steps` bars later at the
    open, costs from the paper broker settings. Blocked BUYs get it too, so a veto can be judged by
    what it would have earned. Returns how many events were filled.
    """
    pending = session.scalars(
        select(SignalEvent).where(SignalEvent.forward_return.is_(None)).order_by(SignalEvent.id).limit(limit)
    ).all()
    groups: dict[tuple[str, str, str, int], list[SignalEvent]] = {}
    for event in pending:
        groups.setdefault((event.exchange, event.symbol, event.timeframe, event.horizon_steps), []).append(
            event
        )
    costs = broker.broker_settings(session)
    float_rates = rates_from_bps(float(costs.fee_bps), float(costs.slippage_bps))
    now, filled = clock.now(), 0
    for (exchange, symbol, timeframe, horizon), events in groups.items():
        step = timedelta(milliseconds=market_logic.timeframe_ms(timeframe))
        prices = market.load_prices(
            session,
            exchange=exchange,
            symbol=symbol,
            timeframe=timeframe,
            start=min(e.bar_dt for e in events) + step,
            end=max(e.bar_dt for e in events) + step * (horizon + 1),
        )
        returns = logic.forward_returns(
            prices, [e.bar_dt for e in events], horizon_steps=horizon, timeframe=timeframe, rates=float_rates
        )
        for event, value in zip(events, returns, strict=True):
            if value is not None:
                event.forward_return, event.forward_filled_at = value, now
                filled += 1
    return filled


def retry_failed_notifications(database: Database, *, settings: Settings) -> dict[str, int]:
    """Send again the retryable failed signal notifications of the last day (a bounded batch)."""
    with database.session(write=False) as session:
        ids = notify.retryable_signal_events(session)
        events = session.scalars(
            select(SignalEvent).where(SignalEvent.id.in_(set(ids))).order_by(SignalEvent.id)
        ).all()
    results = [
        notify.maybe_send_signal_notification(database, settings=settings, event=event, source=event.source)
        for event in events
    ]
    return {"retried": len(results)} | {
        status: sum(r.status == status for r in results) for status in ("sent", "failed")
    }


def run_cycle(
    database: Database, *, settings: Settings, source: str = "scheduler", trade: bool = True
) -> dict[str, Any]:
    """The decision cycle: retry failed notifications; every watchlist pair: refresh prices, signal,
    trade BUYs; then exits and forward returns. Returns the counts for the job's stats."""
    # Before the scan, so a notification that fails in this run is not sent again minutes later.
    retried = retry_failed_notifications(database, settings=settings)
    with database.session() as session:
        pairs = watchlist_pairs(session, settings=settings)
        series = list(dict.fromkeys(p.series for p in pairs))
        fetched = market.fetch_many(session, settings=settings, pairs=series)  # concurrent refresh
    # A pair whose refresh failed is not fetched again; the failure shows in its result below.
    failed = {Series(r.exchange, r.symbol, r.timeframe): r.error for r in fetched if r.error is not None}
    results = scan(
        database, settings=settings, pairs=pairs, source=source, trade=trade, refresh_errors=failed
    )
    with database.session() as session:
        exits = broker.apply_exits(session)
        filled = fill_forward_returns(session)
    return summarise(results) | {
        "exits": len(exits),
        "forward_returns_filled": filled,
        "notifications_retried": retried,
    }


def scan(
    database: Database,
    *,
    settings: Settings,
    pairs: Sequence[Pair],
    source: str,
    trade: bool,
    refresh_errors: Mapping[Series, str] | None = None,
) -> list[ScanResult]:
    """One decision-loop pass per pair, each in its own transaction; a failing pair never stops the rest.

    `refresh_errors`: series whose prices the caller failed to refresh, with why (see make_signal).
    """
    refresh_errors = refresh_errors or {}
    news = NewsMemo()
    results = []
    for pair in pairs:
        try:
            with database.session() as session:
                outcome = make_signal(
                    session,
                    settings=settings,
                    pair=pair,
                    source=source,
                    trade=trade,
                    refresh_error=refresh_errors.get(pair.series),
                    news=news,
                )
            results.append(ScanResult(**pair.__dict__, outcome=outcome))
        except DomainError as exc:
            results.append(ScanResult(**pair.__dict__, error=exc.detail, status_code=exc.status_code))
    return results


def watchlist_pairs(session: Session, *, settings: Settings) -> list[Pair]:
    return market.pairs_for_jobs(session, settings=settings)


def summarise(results: Sequence[ScanResult]) -> dict[str, Any]:
    """Counts for job_runs stats and CLI tables."""
    outcomes = [r.outcome for r in results if r.outcome is not None]
    return {
        "pairs": len(results),
        "created": sum(o.created for o in outcomes),
        "buys": sum(o.created and o.event.final_signal == "buy" for o in outcomes),
        "blocked": sum(o.created and o.event.blocked for o in outcomes),
        "orders": sum(o.order is not None for o in outcomes),
        "notified": sum(o.notification is not None and o.notification.status == "sent" for o in outcomes),
        "errors": {f"{r.exchange} {r.symbol} {r.timeframe}": r.error for r in results if r.error},
    }
