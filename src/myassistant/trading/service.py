"""The paper account in the database: orders, positions, equity, exits, reset.

Every change happens in one transaction that first locks the open account (row lock on
PostgreSQL; SQLite writers already hold the database's write lock from BEGIN IMMEDIATE), so
concurrent signals can never spend the same cash twice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from myassistant.core import clock, configdocs
from myassistant.core.db import insert_ignoring_conflicts
from myassistant.core.errors import InvalidInput, NotFound
from myassistant.market import service as market
from myassistant.market.logic import Series
from myassistant.trading import logic
from myassistant.trading.logic import AccountState, BrokerSettings, Fill, Holding
from myassistant.trading.schemas import EquityRead, OrderRead, PositionRead
from myassistant.trading.tables import PaperAccount, PaperOrder, PaperPosition

BROKER_SETTINGS = configdocs.register("paper_broker", BrokerSettings)


@dataclass(frozen=True)
class Quote:
    """The latest stored close of a pair and the bar it closed."""

    bar_dt: datetime
    price: Decimal


# The latest closed bar's price of each series asked for; a series without stored prices is left out.
PriceLookup = Callable[[Session, Sequence[Series]], dict[Series, Quote]]


def latest_quotes(session: Session, keys: Sequence[Series]) -> dict[Series, Quote]:
    """The newest stored close of each series: how the paper account prices its positions."""
    return {
        Series(*key): Quote(bar_dt=bar.ts, price=Decimal(repr(bar.close)))
        for key, bar in market.latest_closes(session, keys=keys).items()
    }


def broker_settings(session: Session) -> BrokerSettings:
    return configdocs.get(session, BROKER_SETTINGS).value


def open_account(session: Session) -> PaperAccount:
    """The open account, created from the broker settings on first use."""
    account = session.scalars(select(PaperAccount).where(PaperAccount.status == "open")).one_or_none()
    if account is not None:
        return account
    settings = broker_settings(session)
    now = clock.now()
    session.execute(
        insert_ignoring_conflicts(session, PaperAccount.__table__).values(
            status="open",
            quote=settings.quote,
            initial_cash=settings.initial_cash,
            cash=settings.initial_cash,
            realized_pnl=Decimal(0),
            fees_paid=Decimal(0),
            opened_at=now,
            closed_at=None,
        )
    )
    return session.scalars(select(PaperAccount).where(PaperAccount.status == "open")).one()


def _locked_account(session: Session) -> PaperAccount:
    account = open_account(session)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(PaperAccount.id).where(PaperAccount.id == account.id).with_for_update())
        session.refresh(account)
    return account


def buy_for_signal(
    session: Session,
    *,
    signal_event_id: int,
    exchange: str,
    symbol: str,
    timeframe: str,
    horizon_steps: int,
    price: Decimal,
    bar_dt: datetime,
) -> OrderRead | None:
    """Buy for a signal event, at most once per event; None when the cash buys nothing."""
    account = _locked_account(session)
    existing = _order_for_event(session, signal_event_id)
    if existing is not None:
        return OrderRead.model_validate(existing)
    try:
        fill = logic.plan_buy(cash=account.cash, price=price, settings=broker_settings(session))
    except logic.AmountTooLarge as exc:
        raise InvalidInput(str(exc)) from None
    if fill.qty <= 0:
        return None
    order = _record(
        session,
        account,
        fill,
        exchange=exchange,
        symbol=symbol,
        timeframe=timeframe,
        horizon_steps=horizon_steps,
        reason="signal",
        bar_dt=bar_dt,
        signal_event_id=signal_event_id,
    )
    if order is None:  # another transaction recorded this event's order first
        stored = _order_for_event(session, signal_event_id)
        return OrderRead.model_validate(stored) if stored else None
    _add_to_position(session, account, order, fill)
    return OrderRead.model_validate(order)


def close_position(
    session: Session,
    *,
    exchange: str,
    symbol: str,
    quote: Quote | None,
    reason: str = "manual_close",
) -> OrderRead:
    """Sell the whole position at `quote`; 404 when there is no position."""
    account = _locked_account(session)
    position = _position(session, account.id, exchange, symbol)
    if position is None:
        raise NotFound(f"no open paper position in {symbol} on {exchange}")
    if quote is None:
        raise InvalidInput(
            f"no stored price for {symbol} on {exchange} {position.timeframe}; fetch prices first"
        )
    holding = _holding(position)
    try:
        fill = logic.plan_sell(holding=holding, price=quote.price, settings=broker_settings(session))
    except logic.AmountTooLarge as exc:
        raise InvalidInput(str(exc)) from None
    order = _record(
        session,
        account,
        fill,
        exchange=exchange,
        symbol=symbol,
        timeframe=position.timeframe,
        horizon_steps=position.horizon_steps,
        reason=reason,
        bar_dt=quote.bar_dt,
        signal_event_id=None,
    )
    assert order is not None  # orders without a signal event cannot conflict
    session.delete(position)
    return OrderRead.model_validate(order)


def close_at_market(
    session: Session, *, exchange: str, symbol: str, latest_price: PriceLookup = latest_quotes
) -> OrderRead:
    """Sell a whole position at the latest stored close of its timeframe; 404 without a position."""
    position = _position(session, open_account(session).id, exchange, symbol)
    if position is None:
        raise NotFound(f"no open paper position in {symbol} on {exchange}")
    key = Series(exchange, symbol, position.timeframe)
    return close_position(
        session, exchange=exchange, symbol=symbol, quote=latest_price(session, [key]).get(key)
    )


def apply_exits(session: Session, *, latest_price: PriceLookup = latest_quotes) -> list[OrderRead]:
    """Close every position an optional exit (stop-loss, take-profit, horizon) says to close."""
    settings = broker_settings(session)
    if not logic.exits_enabled(settings):
        return []
    account = _locked_account(session)
    held = list(_positions(session, account.id))
    quotes = latest_price(session, [Series(p.exchange, p.symbol, p.timeframe) for p in held])
    closed = []
    for position in held:
        quote = quotes.get(Series(position.exchange, position.symbol, position.timeframe))
        if quote is None:
            continue
        check = logic.check_exit(
            holding=_holding(position),
            opened_bar_dt=position.opened_bar_dt,
            quote_bar_dt=quote.bar_dt,
            price=quote.price,
            timeframe=position.timeframe,
            horizon_steps=position.horizon_steps,
            settings=settings,
        )
        if check.reason:
            closed.append(
                close_position(
                    session,
                    exchange=position.exchange,
                    symbol=position.symbol,
                    quote=quote,
                    reason=check.reason,
                )
            )
    return closed


def positions(session: Session, *, latest_price: PriceLookup = latest_quotes) -> list[PositionRead]:
    """Open positions marked to market, priced with one lookup for all of them."""
    held = list(_positions(session, open_account(session).id))
    quotes = latest_price(session, [Series(p.exchange, p.symbol, p.timeframe) for p in held])
    return [_marked(p, quotes.get(Series(p.exchange, p.symbol, p.timeframe))) for p in held]


def equity(
    session: Session,
    *,
    latest_price: PriceLookup = latest_quotes,
    marked: list[PositionRead] | None = None,
) -> EquityRead:
    """The account's value; pass `marked` (from `positions`) to avoid pricing the positions twice."""
    account = open_account(session)
    if marked is None:
        marked = positions(session, latest_price=latest_price)
    positions_value = sum((p.market_value for p in marked), Decimal(0))
    unrealized = sum((p.unrealized_pnl for p in marked), Decimal(0))
    total = account.cash + positions_value
    return EquityRead(
        account_id=account.id,
        quote=account.quote,
        opened_at=account.opened_at,
        initial_cash=account.initial_cash,
        cash=account.cash,
        positions_value=positions_value,
        equity=total,
        realized_pnl=account.realized_pnl,
        unrealized_pnl=unrealized,
        fees_paid=account.fees_paid,
        open_positions=len(marked),
        return_pct=(total / account.initial_cash - 1) * 100,
        unpriced_positions=[p.symbol for p in marked if not p.priced],
    )


def orders(
    session: Session, *, limit: int = 100, symbol: str | None = None, all_accounts: bool = False
) -> list[OrderRead]:
    query = select(PaperOrder).order_by(PaperOrder.id.desc()).limit(limit)
    if not all_accounts:
        query = query.where(PaperOrder.account_id == open_account(session).id)
    if symbol:
        query = query.where(PaperOrder.symbol == symbol.upper())
    return [OrderRead.model_validate(row) for row in session.scalars(query)]


def reset(session: Session, *, confirm: bool) -> EquityRead:
    """Close the open account (its ledger is kept) and open a new one from the broker settings."""
    if not confirm:
        raise InvalidInput('resetting the paper account needs {"confirm": true}')
    account = _locked_account(session)
    session.execute(
        update(PaperAccount)
        .where(PaperAccount.id == account.id)
        .values(status="closed", closed_at=clock.now())
    )
    session.flush()
    session.expire_all()
    # A new account holds nothing yet: no prices to look up.
    return equity(session, latest_price=lambda _session, _keys: {}, marked=[])


def rebuild_from_ledger(session: Session, account_id: int) -> AccountState:
    """The account recomputed from its orders alone."""
    account = session.get(PaperAccount, account_id)
    if account is None:
        raise NotFound(f"paper account {account_id} not found")
    rows = session.scalars(
        select(PaperOrder).where(PaperOrder.account_id == account_id).order_by(PaperOrder.id)
    )
    ledger = [((row.exchange, row.symbol), _fill_of(row)) for row in rows]
    return logic.rebuild(account.initial_cash, ledger)


def stored_state(session: Session, account_id: int) -> AccountState:
    """The account as the incremental tables hold it."""
    account = session.get(PaperAccount, account_id)
    if account is None:
        raise NotFound(f"paper account {account_id} not found")
    holdings = {(p.exchange, p.symbol): _holding(p) for p in _positions(session, account_id)}
    return AccountState(
        cash=account.cash, realized_pnl=account.realized_pnl, fees_paid=account.fees_paid, holdings=holdings
    )


def _record(
    session: Session,
    account: PaperAccount,
    fill: Fill,
    *,
    exchange: str,
    symbol: str,
    timeframe: str,
    horizon_steps: int,
    reason: str,
    bar_dt: datetime,
    signal_event_id: int | None,
) -> PaperOrder | None:
    order_id = session.execute(
        insert_ignoring_conflicts(session, PaperOrder.__table__)
        .values(
            account_id=account.id,
            signal_event_id=signal_event_id,
            exchange=exchange,
            symbol=symbol,
            timeframe=timeframe,
            horizon_steps=horizon_steps,
            side=fill.side,
            reason=reason,
            qty=fill.qty,
            price=fill.price,
            fill_price=fill.fill_price,
            notional=fill.notional,
            fee=fill.fee,
            cash_delta=fill.cash_delta,
            realized_pnl=fill.realized_pnl,
            bar_dt=bar_dt,
            created_at=clock.now(),
        )
        .returning(PaperOrder.id)
    ).scalar_one_or_none()
    if order_id is None:
        return None
    realized = account.realized_pnl + (fill.realized_pnl or Decimal(0))
    session.execute(
        update(PaperAccount)
        .where(PaperAccount.id == account.id)
        .values(
            cash=account.cash + fill.cash_delta, fees_paid=account.fees_paid + fill.fee, realized_pnl=realized
        )
    )
    session.expire(account)
    return session.get(PaperOrder, order_id)


def _add_to_position(session: Session, account: PaperAccount, order: PaperOrder, fill: Fill) -> None:
    position = _position(session, account.id, order.exchange, order.symbol)
    now = clock.now()
    if position is None:
        session.add(
            PaperPosition(
                account_id=account.id,
                exchange=order.exchange,
                symbol=order.symbol,
                timeframe=order.timeframe,
                horizon_steps=order.horizon_steps,
                qty=fill.qty,
                avg_price=fill.fill_price,
                cost_basis=fill.notional + fill.fee,
                opened_at=now,
                opened_bar_dt=order.bar_dt,
                updated_at=now,
            )
        )
        return
    held = _holding(position)
    added = logic.add_to_holding(held, fill)
    position.qty, position.avg_price, position.cost_basis = added.qty, added.avg_price, added.cost_basis
    position.updated_at = now


def _holding(position: PaperPosition) -> Holding:
    return Holding(qty=position.qty, avg_price=position.avg_price, cost_basis=position.cost_basis)


def _marked(position: PaperPosition, quote: Quote | None) -> PositionRead:
    price = quote.price if quote else position.avg_price
    value = position.qty * price
    return PositionRead(
        exchange=position.exchange,
        symbol=position.symbol,
        timeframe=position.timeframe,
        qty=position.qty,
        avg_price=position.avg_price,
        cost_basis=position.cost_basis,
        last_price=price,
        last_bar_dt=quote.bar_dt if quote else None,
        priced=quote is not None,
        market_value=value,
        unrealized_pnl=value - position.cost_basis,
        unrealized_pct=(value / position.cost_basis - 1) * 100 if position.cost_basis else Decimal(0),
        opened_at=position.opened_at,
    )


def _positions(session: Session, account_id: int) -> Sequence[PaperPosition]:
    query = select(PaperPosition).where(PaperPosition.account_id == account_id).order_by(PaperPosition.symbol)
    return session.scalars(query).all()


def _position(session: Session, account_id: int, exchange: str, symbol: str) -> PaperPosition | None:
    query = select(PaperPosition).where(
        PaperPosition.account_id == account_id,
        PaperPosition.exchange == exchange,
        PaperPosition.symbol == symbol,
    )
    return session.scalars(query).one_or_none()


def _order_for_event(session: Session, signal_event_id: int) -> PaperOrder | None:
    return session.scalars(
        select(PaperOrder).where(PaperOrder.signal_event_id == signal_event_id)
    ).one_or_none()


def _fill_of(row: PaperOrder) -> Fill:
    side: logic.Side = "buy" if row.side == "buy" else "sell"
    return Fill(
        side, row.qty, row.price, row.fill_price, row.notional, row.fee, row.cash_delta, row.realized_pnl
    )
