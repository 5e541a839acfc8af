"""make_signal against the exchange peer over real HTTP, with the risk policy and the paper broker."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from myassistant.core import configdocs
from myassistant.core.errors import PreconditionFailed
from myassistant.market import service as market
from myassistant.market.schemas import WatchlistEntryIn, pair_with_defaults
from myassistant.ml.features import WARMUP_BARS
from myassistant.signals import service
from myassistant.signals.policy import RISK_POLICY
from myassistant.signals.risk import RiskPolicy
from myassistant.signals.tables import SignalEvent
from myassistant.trading import service as broker
from tests.fixtures.decision import LAST_CLOSED, OPEN_POLICY, constant_model
from tests.fixtures.exchange_peer import TEST_CLIENT_OPTIONS


@pytest.fixture
def pair(peer_settings):
    return pair_with_defaults(
        peer_settings, exchange="bybit", symbol="BTC/USDT", timeframe="15m", horizon_steps=12
    )


@pytest.fixture
def open_policy(session):
    configdocs.put(session, RISK_POLICY, OPEN_POLICY)
    session.commit()


def test_signal_uses_the_last_closed_bar_and_never_the_forming_one(
    session, peer_settings, pair, mid_bar_clock, open_policy
) -> None:
    constant_model(session, peer_settings, prob=0.8)
    outcome = service.make_signal(session, settings=peer_settings, pair=pair, source="endpoint")
    event = outcome.event
    assert outcome.created is True
    assert event.bar_dt == LAST_CLOSED
    assert event.bar_close == LAST_CLOSED + timedelta(minutes=15)
    stored = market.load_prices(session, exchange="bybit", symbol="BTC/USDT", timeframe="15m")
    assert stored.index[-1] == LAST_CLOSED  # the forming 12:00 bar was not stored
    assert event.price == stored["close"].iloc[-1]
    assert (event.raw_signal, event.final_signal, event.blocked) == ("buy", "buy", False)
    assert event.prob == pytest.approx(0.8) and event.threshold == 0.5
    assert event.source == "endpoint" and event.model_run_id is not None


def test_the_same_bar_twice_gives_one_event_and_one_order(
    session, peer_settings, pair, mid_bar_clock, open_policy
) -> None:
    constant_model(session, peer_settings, prob=0.8)
    first = service.make_signal(session, settings=peer_settings, pair=pair, source="scheduler", trade=True)
    second = service.make_signal(session, settings=peer_settings, pair=pair, source="scheduler", trade=True)
    assert first.created and first.order is not None
    assert not second.created and second.order is None and second.event.id == first.event.id
    assert session.query(SignalEvent).count() == 1
    assert len(broker.orders(session)) == 1


def test_a_new_bar_gives_a_new_event(session, peer_settings, pair, mid_bar_clock, open_policy) -> None:
    constant_model(session, peer_settings, prob=0.8)
    first = service.make_signal(session, settings=peer_settings, pair=pair, source="endpoint")
    mid_bar_clock.advance(minutes=15)
    second = service.make_signal(session, settings=peer_settings, pair=pair, source="endpoint")
    assert second.created and second.event.bar_dt == first.event.bar_dt + timedelta(minutes=15)


def test_endpoint_calls_do_not_trade_unless_asked(
    session, peer_settings, pair, mid_bar_clock, open_policy
) -> None:
    constant_model(session, peer_settings, prob=0.8)
    outcome = service.make_signal(session, settings=peer_settings, pair=pair, source="endpoint")
    assert outcome.event.final_signal == "buy" and outcome.order is None
    assert broker.orders(session) == []


def test_flat_never_trades(session, peer_settings, pair, mid_bar_clock, open_policy) -> None:
    constant_model(session, peer_settings, prob=0.3)
    outcome = service.make_signal(session, settings=peer_settings, pair=pair, source="scheduler", trade=True)
    assert outcome.event.final_signal == "flat" and outcome.order is None


def test_a_blocked_buy_is_stored_with_every_reason_and_does_not_trade(
    session, peer_settings, pair, mid_bar_clock
) -> None:
    configdocs.put(session, RISK_POLICY, RiskPolicy(min_prob_margin=0.5, blacklist=["BTC"]))
    constant_model(session, peer_settings, prob=0.8)
    outcome = service.make_signal(session, settings=peer_settings, pair=pair, source="scheduler", trade=True)
    event = outcome.event
    assert (event.raw_signal, event.final_signal, event.blocked) == ("buy", "flat", True)
    reasons = {r["filter"]: r for r in event.note["risk"]["reasons"]}
    assert {"blacklist", "min_prob_margin"} <= set(reasons)
    assert reasons["min_prob_margin"]["limit"] == 0.5
    assert outcome.order is None
    assert [e.id for e in service.recent(session, blocked=True)] == [event.id]


def test_the_note_explains_the_prediction(session, peer_settings, pair, mid_bar_clock, open_policy) -> None:
    constant_model(session, peer_settings, prob=0.6, vol_weight=0.5)
    note = service.make_signal(session, settings=peer_settings, pair=pair, source="endpoint").event.note
    top = note["explanation"]["top_features"]
    assert top[0]["feature"] == "vol_norm" and top[0]["contribution"] != 0
    assert note["model"]["choice"] == "pair"
    assert set(note["features"]) >= {"vol_norm", "ret_std_24", "rsi_14"}
    assert note["explanation"]["headlines"] == []
    assert "vol_norm" in note["risk"]["metrics"]


def test_cooldown_counts_from_the_last_buy_bar(session, peer_settings, pair, mid_bar_clock) -> None:
    configdocs.put(session, RISK_POLICY, OPEN_POLICY.model_copy(update={"cooldown_minutes": 30}))
    constant_model(session, peer_settings, prob=0.8)
    first = service.make_signal(session, settings=peer_settings, pair=pair, source="endpoint")
    mid_bar_clock.advance(minutes=15)
    second = service.make_signal(session, settings=peer_settings, pair=pair, source="endpoint")
    mid_bar_clock.advance(minutes=15)
    third = service.make_signal(session, settings=peer_settings, pair=pair, source="endpoint")
    assert first.event.final_signal == "buy"
    assert second.event.blocked and second.event.note["risk"]["reasons"][0]["value"] == 15.0
    assert third.event.final_signal == "buy"  # 30 minutes after the first BUY's bar closed


def test_no_model_is_a_412_naming_the_pair(session, peer_settings, pair, mid_bar_clock) -> None:
    with pytest.raises(PreconditionFailed, match="no model for bybit BTC/USDT 15m h12"):
        service.make_signal(session, settings=peer_settings, pair=pair, source="endpoint")


def test_stale_prices_that_cannot_be_refreshed_are_refused(
    session, peer_settings, pair, mid_bar_clock, exchange_peer
) -> None:
    constant_model(session, peer_settings, prob=0.8)
    service.make_signal(session, settings=peer_settings, pair=pair, source="endpoint")
    mid_bar_clock.advance(minutes=15)
    exchange_peer.inject("server_error", path="/kline", times=None, status=503)
    with pytest.raises(PreconditionFailed, match="a signal on old data would mislead; refreshing failed"):
        service.make_signal(session, settings=peer_settings, pair=pair, source="endpoint")


def test_concurrent_calls_for_the_same_bar_store_one_event_and_one_order(
    database, peer_settings, pair, mid_bar_clock
) -> None:
    with database.session() as session:
        configdocs.put(session, RISK_POLICY, OPEN_POLICY)
        constant_model(session, peer_settings, prob=0.8)
        market.fetch_prices(
            session, settings=peer_settings, exchange="bybit", symbol="BTC/USDT", timeframe="15m", limit=2000
        )
    barrier, outcomes, errors = threading.Barrier(4), [], []

    def worker() -> None:
        barrier.wait()
        try:
            with database.session() as session:
                outcomes.append(
                    service.make_signal(
                        session, settings=peer_settings, pair=pair, source="scheduler", trade=True
                    )
                )
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sorted(o.created for o in outcomes) == [False, False, False, True]
    assert len({o.event.id for o in outcomes}) == 1
    with database.session(write=False) as session:
        assert session.query(SignalEvent).count() == 1
        assert len(broker.orders(session)) == 1


def test_forward_returns_fill_once_the_horizon_has_passed(
    session, peer_settings, pair, mid_bar_clock, open_policy
) -> None:
    constant_model(session, peer_settings, prob=0.8)
    event = service.make_signal(session, settings=peer_settings, pair=pair, source="endpoint").event
    assert service.fill_forward_returns(session) == 0
    mid_bar_clock.advance(minutes=15 * 13)
    market.fetch_prices(session, settings=peer_settings, exchange="bybit", symbol="BTC/USDT", timeframe="15m")
    assert service.fill_forward_returns(session) == 1
    stored = session.get(SignalEvent, event.id)
    prices = market.load_prices(session, exchange="bybit", symbol="BTC/USDT", timeframe="15m")
    entry = prices["open"][LAST_CLOSED + timedelta(minutes=15)]
    exit_ = prices["open"][LAST_CLOSED + timedelta(minutes=15 * 13)]
    expected = exit_ * (1 - 0.0005) / (entry * (1 + 0.0005)) * (1 - 0.001) - 1 - 0.001
    assert stored.forward_return == pytest.approx(expected, abs=1e-12)
    assert service.fill_forward_returns(session) == 0


def test_a_short_stored_history_is_extended_to_the_features_warm_up(
    session, peer_settings, pair, mid_bar_clock, open_policy
) -> None:
    market.fetch_prices(
        session, settings=peer_settings, exchange="bybit", symbol="BTC/USDT", timeframe="15m", limit=1000
    )
    constant_model(session, peer_settings, prob=0.8)
    event = service.make_signal(session, settings=peer_settings, pair=pair, source="endpoint").event
    stored = market.load_prices(session, exchange="bybit", symbol="BTC/USDT", timeframe="15m")
    assert len(stored) >= WARMUP_BARS
    assert event.note["features_warmed_up"] is True
    assert event.note["features"]["vol_norm"] is not None


def test_the_cycle_asks_a_down_exchange_once_per_pair_and_reports_why(
    database, peer_settings, mid_bar_clock, exchange_peer
) -> None:
    with database.session() as session:
        constant_model(session, peer_settings, prob=0.8)
        market.fetch_prices(
            session, settings=peer_settings, exchange="bybit", symbol="BTC/USDT", timeframe="15m", limit=2000
        )
        market.add_to_watchlist(
            session,
            settings=peer_settings,
            entries=[WatchlistEntryIn(symbol="BTC/USDT"), WatchlistEntryIn(symbol="ETH/USDT")],
        )
    mid_bar_clock.advance(minutes=15)
    exchange_peer.reset()
    exchange_peer.inject("server_error", path="/kline", times=None, status=503)
    stats = service.run_cycle(database, settings=peer_settings)
    attempts = TEST_CLIENT_OPTIONS.retry.attempts
    assert exchange_peer.count("/kline") == 2 * attempts  # one retry sequence per pair, not two
    assert list(stats["errors"]) == ["bybit BTC/USDT 15m", "bybit ETH/USDT 15m"]
    errors = stats["errors"]
    assert "a signal on old data would mislead; refreshing failed" in errors["bybit BTC/USDT 15m"]
    assert "no prices stored for bybit ETH/USDT 15m; refreshing failed" in errors["bybit ETH/USDT 15m"]
