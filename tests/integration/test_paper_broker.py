"""The paper account in the database, on both backends."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from myassistant.core import configdocs
from myassistant.core.errors import InvalidInput, NotFound
from myassistant.trading import service
from myassistant.trading.logic import BrokerSettings
from myassistant.trading.service import BROKER_SETTINGS, Quote
from tests.factories import BAR, signal_event


def cents(value) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def fixed_prices(prices: dict[str, Decimal]):
    def lookup(_session, keys):
        return {key: Quote(bar_dt=BAR, price=prices[key[1]]) for key in keys if key[1] in prices}

    return lookup


def _buy(session, event, price: str):
    return service.buy_for_signal(
        session,
        signal_event_id=event.id,
        exchange=event.exchange,
        symbol=event.symbol,
        timeframe=event.timeframe,
        horizon_steps=event.horizon_steps,
        price=Decimal(price),
        bar_dt=event.bar_dt,
    )


def test_buy_add_close_in_the_database_matches_the_hand_computation(session, frozen_clock) -> None:
    first = signal_event(session)
    second = signal_event(session, bar_dt=BAR + timedelta(minutes=15))
    _buy(session, first, "100")
    _buy(session, second, "110")
    [position] = service.positions(session, latest_price=fixed_prices({"BTC/USDT": Decimal(110)}))
    assert cents(position.avg_price) == Decimal("104.55") and cents(position.cost_basis) == Decimal("1900.00")
    order = service.close_position(
        session, exchange="bybit", symbol="BTC/USDT", quote=Quote(bar_dt=BAR, price=Decimal(120))
    )
    assert cents(order.realized_pnl) == Decimal("275.28")
    equity = service.equity(session, latest_price=fixed_prices({}))
    assert cents(equity.cash) == Decimal("10275.28") and equity.open_positions == 0
    assert cents(equity.return_pct) == Decimal("2.75")
    assert cents(equity.fees_paid) == Decimal("4.08")
    assert [o.side for o in service.orders(session)] == ["sell", "buy", "buy"]


def test_the_same_signal_event_buys_once(session) -> None:
    event = signal_event(session)
    first = _buy(session, event, "100")
    again = _buy(session, event, "100")
    assert first is not None and again is not None and again.id == first.id
    assert len(service.orders(session)) == 1
    assert cents(service.equity(session, latest_price=fixed_prices({})).cash) == Decimal("9000.00")


def test_concurrent_buys_for_the_same_event_make_one_order(database) -> None:
    with database.session() as session:
        event_id = signal_event(session).id
        service.open_account(session)
    barrier, results = threading.Barrier(6), []

    def worker() -> None:
        barrier.wait()
        with database.session() as session:
            order = service.buy_for_signal(
                session,
                signal_event_id=event_id,
                exchange="bybit",
                symbol="BTC/USDT",
                timeframe="15m",
                horizon_steps=12,
                price=Decimal(100),
                bar_dt=BAR,
            )
            results.append(order.id if order else None)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(set(results)) == 1 and len(results) == 6
    with database.session(write=False) as session:
        assert len(service.orders(session)) == 1
        assert cents(service.equity(session, latest_price=fixed_prices({})).cash) == Decimal("9000.00")


def test_close_without_a_position_is_404(session) -> None:
    with pytest.raises(NotFound, match="no open paper position in ETH/USDT"):
        service.close_position(session, exchange="bybit", symbol="ETH/USDT", quote=Quote(BAR, Decimal(1)))


def test_reset_needs_confirmation_and_opens_a_fresh_account(session) -> None:
    _buy(session, signal_event(session), "100")
    with pytest.raises(InvalidInput, match="confirm"):
        service.reset(session, confirm=False)
    old = service.open_account(session).id
    fresh = service.reset(session, confirm=True)
    assert fresh.account_id != old and fresh.cash == Decimal(10_000) and fresh.open_positions == 0
    assert service.orders(session) == [] and len(service.orders(session, all_accounts=True)) == 1


def test_new_account_uses_the_stored_broker_settings(session) -> None:
    configdocs.put(
        session, BROKER_SETTINGS, BrokerSettings(initial_cash=Decimal(500), position_pct=Decimal(50))
    )
    order = _buy(session, signal_event(session), "10")
    assert order is not None and cents(order.notional + order.fee) == Decimal("250.00")


def test_exits_close_what_the_settings_say(session) -> None:
    configdocs.put(
        session, BROKER_SETTINGS, BrokerSettings(stop_loss_pct=Decimal(5), exit_after_horizon=True)
    )
    _buy(session, signal_event(session, symbol="BTC/USDT"), "100")
    _buy(session, signal_event(session, symbol="ETH/USDT"), "100")
    _buy(session, signal_event(session, symbol="SOL/USDT"), "100")

    quotes = {
        "BTC/USDT": Quote(BAR + timedelta(minutes=15), Decimal(90)),  # stop-loss
        "ETH/USDT": Quote(BAR + timedelta(minutes=15 * 12), Decimal(100)),  # horizon reached
        "SOL/USDT": Quote(BAR + timedelta(minutes=15), Decimal(101)),
    }

    def lookup(_session, keys):
        return {key: quotes[key[1]] for key in keys}

    closed = service.apply_exits(session, latest_price=lookup)
    assert {(o.symbol, o.reason) for o in closed} == {("BTC/USDT", "stop_loss"), ("ETH/USDT", "exit_horizon")}
    assert [p.symbol for p in service.positions(session, latest_price=lookup)] == ["SOL/USDT"]


def test_positions_without_a_stored_price_are_flagged(session) -> None:
    _buy(session, signal_event(session), "100")
    equity = service.equity(session, latest_price=fixed_prices({}))
    assert equity.unpriced_positions == ["BTC/USDT"]


actions = st.lists(
    st.one_of(
        st.tuples(
            st.just("buy"),
            st.sampled_from(["BTC/USDT", "ETH/USDT", "SOL/USDT"]),
            st.decimals(min_value=Decimal("0.01"), max_value=Decimal("100000"), places=4),
        ),
        st.tuples(
            st.just("close"),
            st.sampled_from(["BTC/USDT", "ETH/USDT", "SOL/USDT"]),
            st.decimals(min_value=Decimal("0.01"), max_value=Decimal("100000"), places=4),
        ),
    ),
    min_size=1,
    max_size=12,
)


@settings(
    max_examples=500,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sequence=actions)
def test_any_sequence_keeps_cash_non_negative_and_matches_the_ledger(database, sequence) -> None:
    with database.session() as session:
        account_id = service.reset(session, confirm=True).account_id
        for step, (action, symbol, price) in enumerate(sequence):
            try:
                if action == "buy":
                    event = signal_event(
                        session, symbol=symbol, bar_dt=BAR + timedelta(days=step, microseconds=account_id)
                    )
                    _buy(session, event, str(price))
                elif any(
                    p.symbol == symbol for p in service.positions(session, latest_price=fixed_prices({}))
                ):
                    service.close_position(session, exchange="bybit", symbol=symbol, quote=Quote(BAR, price))
            except InvalidInput as exc:  # cash grown past 1e19: refused whole, nothing recorded
                assert "beyond what the ledger holds" in exc.detail
            state = service.stored_state(session, account_id)
            assert state.cash >= 0
        assert service.stored_state(session, account_id) == service.rebuild_from_ledger(session, account_id)
