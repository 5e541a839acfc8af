"""Signal → Telegram over real HTTP: the exchange peer makes the events, the Telegram peer receives them."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TypeVar

import pytest
from sqlalchemy import select

from myassistant.core import configdocs
from myassistant.market.schemas import pair_with_defaults
from myassistant.notify import service as notify
from myassistant.notify.schemas import NotificationResult
from myassistant.notify.service import maybe_send_signal_notification
from myassistant.notify.tables import Notification
from myassistant.notify.telegram import client_for
from myassistant.signals import service
from myassistant.signals.policy import RISK_POLICY
from myassistant.signals.schemas import SignalOutcome
from myassistant.signals.tables import SignalEvent
from myassistant.trading import service as broker
from tests.fixtures.decision import OPEN_POLICY, constant_model
from tests.fixtures.telegram_peer import FAST_RETRY, set_notify_config

OTHER_TOKEN = "987654321:AAF" + "k" * 32
T = TypeVar("T")


@pytest.fixture
def world(database, exchange_telegram_settings, mid_bar_clock, fast_delivery):
    with database.session() as session:
        configdocs.put(session, RISK_POLICY, OPEN_POLICY)
    return exchange_telegram_settings


@pytest.fixture
def notify_on(database, telegram_peer):
    """Enable notifications to the peer's chat; keyword arguments change the default profile's rules."""

    def apply(*, token: str | None = None, enabled: bool = True, **rules: object) -> None:
        changes: dict[str, object] = {"enabled": enabled, "token": token or telegram_peer.token}
        if rules:
            changes["profiles"] = {"default": rules}
        with database.session() as session:
            set_notify_config(session, telegram_peer, **changes)

    apply()
    return apply


def make_event(
    database, settings, *, prob: float = 0.8, source: str = "scheduler", trade: bool = False
) -> SignalOutcome:
    pair = pair_with_defaults(
        settings, exchange="bybit", symbol="BTC/USDT", timeframe="15m", horizon_steps=12
    )
    with database.session() as session:
        constant_model(session, settings, prob=prob)
    with database.session() as session:
        return service.make_signal(session, settings=settings, pair=pair, source=source, trade=trade)


def stored_event(database, event_id: int) -> SignalEvent:
    with database.session(write=False) as session:
        event = session.get(SignalEvent, event_id)
        assert event is not None
        return event


def rows(database, event_id: int) -> list[Notification]:
    with database.session(write=False) as session:
        return notify.notifications_for(session, signal_event_id=event_id)


def attempts(database, notification_id: int) -> list[tuple[str, int | None]]:
    with database.session(write=False) as session:
        return [
            (a.outcome, a.retry_after) for a in notify.attempts_of(session, notification_id=notification_id)
        ]


def race(n: int, work: Callable[[], T]) -> list[T]:
    """Run `work` in `n` threads released together; every result, or the first exception raised."""
    barrier, results, errors = threading.Barrier(n), [], []

    def worker() -> None:
        barrier.wait()
        try:
            results.append(work())
        except Exception as exc:  # re-raised below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    if errors:
        raise errors[0]
    assert len(results) == n
    return results


def send(database, settings, event, source: str = "scheduler") -> NotificationResult:
    return maybe_send_signal_notification(database, settings=settings, event=event, source=source)


def test_a_new_buy_is_sent_once_with_price_probability_risk_and_model_age(
    database, world, notify_on, telegram_peer
) -> None:
    outcome = make_event(database, world)
    result = outcome.notification
    assert result is not None and result.status == "sent", result
    [message] = telegram_peer.state.messages(telegram_peer.chat_id)
    assert result.message_id == message.message_id and result.attempts == 1
    text = message.plain_text
    assert text.startswith("🟢 BUY · BTC/USDT · 15m · bybit")
    assert "Probability: 80.0% vs threshold 50.0% (+30.0 pp)" in text
    assert f"Price: {outcome.event.price:,.2f}" in text
    assert f"Model: #{outcome.event.model_run_id}, age 0m" in text
    assert f"event #{outcome.event.id}" in text
    [row] = rows(database, outcome.event.id)
    assert (row.status, row.chat_id, row.message_id, row.attempts) == (
        "sent",
        str(telegram_peer.chat_id),
        message.message_id,
        1,
    )
    assert attempts(database, row.id) == [("ok", None)]


def test_the_same_event_processed_twice_sends_one_message(database, world, notify_on, telegram_peer) -> None:
    outcome = make_event(database, world)
    event = stored_event(database, outcome.event.id)
    again = send(database, world, event)
    assert outcome.notification is not None
    assert again.status == "already_handled" and again.notification_id == outcome.notification.notification_id
    repeated = make_event(database, world)  # the same bar: the stored event, nothing downstream
    assert repeated.created is False and repeated.notification is None
    assert len(telegram_peer.state.messages()) == 1


def test_concurrent_calls_for_one_event_send_one_message(database, world, notify_on, telegram_peer) -> None:
    notify_on(enabled=False)
    event = stored_event(database, make_event(database, world).event.id)
    notify_on()
    telegram_peer.state.slow_down("sendMessage", 0.2)  # the winner is still sending while the others arrive
    results = race(6, lambda: send(database, world, event))
    assert sorted(r.status for r in results) == ["already_handled"] * 5 + ["sent"]
    assert len(telegram_peer.state.messages()) == 1
    assert len(rows(database, event.id)) == 1


@pytest.mark.parametrize(
    ("flat_min_prob", "expected"),
    [(None, "skipped"), (0.31, "skipped"), (0.29, "sent")],
)
def test_flat_is_sent_only_at_or_above_flat_min_prob(
    database, world, notify_on, telegram_peer, flat_min_prob: float | None, expected: str
) -> None:
    notify_on(flat_min_prob=flat_min_prob)
    outcome = make_event(database, world, prob=0.3)
    assert outcome.event.final_signal == "flat"
    assert outcome.notification is not None and outcome.notification.status == expected
    assert len(telegram_peer.state.messages()) == (expected == "sent")
    if expected == "sent":
        assert telegram_peer.state.messages()[0].plain_text.startswith("⚪ FLAT · BTC/USDT")
    else:
        assert rows(database, outcome.event.id) == []  # nothing reserved for a skipped event


@pytest.mark.parametrize(
    ("rule", "skipped", "sent"),
    [
        ("endpoint", ["scheduler"], "endpoint"),
        ("endpoint", ["scheduler"], "action"),
        ("scheduler", ["endpoint", "action"], "scheduler"),
    ],
)
def test_the_source_rule_picks_which_origins_notify(
    database, world, notify_on, telegram_peer, rule: str, skipped: list[str], sent: str
) -> None:
    notify_on(enabled=False)
    event = stored_event(database, make_event(database, world).event.id)
    notify_on(source=rule)
    for source in skipped:
        result = send(database, world, event, source)
        assert result.status == "skipped" and f"notifies {rule} signals only" in result.reason
    assert telegram_peer.state.messages() == []
    assert send(database, world, event, sent).status == "sent"
    assert len(telegram_peer.state.messages()) == 1


@pytest.mark.parametrize("include_blocked", [False, True])
def test_a_blocked_buy_is_sent_only_with_include_blocked_and_says_why(
    database, world, notify_on, telegram_peer, include_blocked: bool
) -> None:
    notify_on(include_blocked=include_blocked)
    with database.session() as session:
        configdocs.put(session, RISK_POLICY, OPEN_POLICY.model_copy(update={"blacklist": ["BTC"]}))
    outcome = make_event(database, world)
    assert outcome.event.blocked is True
    assert outcome.notification is not None
    assert outcome.notification.status == ("sent" if include_blocked else "skipped")
    messages = telegram_peer.state.messages()
    assert len(messages) == include_blocked
    if include_blocked:
        assert messages[0].plain_text.startswith("⛔ BUY — BLOCKED by the risk policy · BTC/USDT")
        assert "• blacklist" in messages[0].plain_text


def test_a_429_is_waited_out_then_exactly_one_message_is_delivered(
    database, world, notify_on, telegram_peer
) -> None:
    telegram_peer.state.fail_next("sendMessage", 429, retry_after=1)
    result = make_event(database, world).notification
    assert result is not None and result.notification_id is not None
    assert result.status == "sent" and result.attempts == 2
    assert len(telegram_peer.state.messages()) == 1
    first, second = telegram_peer.state.calls("sendMessage")
    assert (first.status, second.status) == (429, 200)
    assert second.at - first.at >= 1.0  # Telegram's retry_after, honoured
    assert attempts(database, result.notification_id) == [("rate_limited", 1), ("ok", None)]


def test_5xx_is_retried_with_backoff(database, world, notify_on, telegram_peer) -> None:
    telegram_peer.state.fail_next("sendMessage", 502, times=2)
    result = make_event(database, world).notification
    assert result is not None and result.notification_id is not None
    assert result.status == "sent" and result.attempts == 3
    assert [o for o, _ in attempts(database, result.notification_id)] == [
        "server_error",
        "server_error",
        "ok",
    ]


def test_a_rejected_token_is_recorded_and_the_signal_and_order_are_still_stored(
    database, world, notify_on, telegram_peer
) -> None:
    notify_on(token=OTHER_TOKEN)
    outcome = make_event(database, world, trade=True)
    result = outcome.notification
    assert result is not None and result.reason is not None
    assert result.status == "failed" and result.outcome == "bad_token" and result.retryable is True
    assert "Telegram rejected the bot token" in result.reason and "check the token" in result.reason
    assert OTHER_TOKEN not in result.reason and OTHER_TOKEN.split(":")[1] not in result.reason
    assert outcome.order is not None
    with database.session(write=False) as session:
        assert session.get(SignalEvent, outcome.event.id) is not None
        assert [o.signal_event_id for o in broker.orders(session)] == [outcome.event.id]
    [row] = rows(database, outcome.event.id)
    assert row.last_error is not None
    assert row.status == "failed" and "rejected the bot token" in row.last_error
    assert OTHER_TOKEN.split(":")[1] not in row.last_error
    assert [o for o, _ in attempts(database, row.id)] == ["bad_token"]  # 401 is not retried at once
    assert telegram_peer.state.messages() == []


def test_a_failed_notification_is_sent_once_by_the_retry_pass(
    database, world, notify_on, telegram_peer
) -> None:
    telegram_peer.state.fail_next("sendMessage", 500, times=4)  # every attempt of the first call
    outcome = make_event(database, world)
    assert outcome.notification is not None
    assert outcome.notification.status == "failed" and outcome.notification.retryable is True
    assert service.retry_failed_notifications(database, settings=world) == {
        "retried": 1,
        "sent": 1,
        "failed": 0,
    }
    assert service.retry_failed_notifications(database, settings=world) == {
        "retried": 0,
        "sent": 0,
        "failed": 0,
    }
    assert len(telegram_peer.state.messages()) == 1
    [row] = rows(database, outcome.event.id)
    assert row.status == "sent" and row.attempts == 5 and row.last_error is None


def test_the_retry_pass_leaves_failures_older_than_its_window(
    database, world, notify_on, telegram_peer, mid_bar_clock
) -> None:
    telegram_peer.state.fail_next("sendMessage", 500, times=4)
    make_event(database, world)
    mid_bar_clock.advance(hours=25)
    assert service.retry_failed_notifications(database, settings=world)["retried"] == 0
    assert telegram_peer.state.messages() == []


def test_an_unreachable_telegram_leaves_the_signal_stored_and_the_notification_retryable(
    database, world, notify_on, make_settings, exchange_url
) -> None:
    from myassistant.peers.server import free_port

    nowhere = make_settings(
        exchange_api_override=exchange_url, telegram_api_base=f"http://127.0.0.1:{free_port()}"
    )
    outcome = make_event(database, nowhere)
    result = outcome.notification
    assert result is not None and result.reason is not None
    assert result.status == "failed" and result.outcome == "unreachable" and result.retryable is True
    assert "cannot reach Telegram" in result.reason
    assert stored_event(database, outcome.event.id).final_signal == "buy"


def test_no_answer_after_sending_is_never_sent_again(database, world, notify_on, telegram_peer) -> None:
    """The peer got the message but answered too late: a resend could duplicate it, so none is made."""

    def impatient(settings, token):
        return client_for(settings, token, retry=FAST_RETRY, timeout_s=0.3)

    notify.DELIVERY_CLIENTS.configure(impatient)  # fast_delivery restores the default afterwards
    telegram_peer.state.fail_next("sendMessage", None, delay_s=0.8)
    outcome = make_event(database, world)
    assert outcome.notification is not None and outcome.notification.reason is not None
    assert outcome.notification.status == "failed" and outcome.notification.retryable is False
    assert "may have been processed" in outcome.notification.reason
    assert telegram_peer.state.wait_for(lambda: len(telegram_peer.state.messages()) == 1)
    assert service.retry_failed_notifications(database, settings=world)["retried"] == 0
    assert len(telegram_peer.state.messages()) == 1


def test_a_reservation_left_by_a_crash_is_never_sent(database, world, notify_on, telegram_peer) -> None:
    notify_on(enabled=False)
    event = stored_event(database, make_event(database, world).event.id)
    notify_on()
    with database.session() as session:
        session.add(
            Notification(
                kind="signal",
                dedupe_key=notify.signal_key(event.id),
                signal_event_id=event.id,
                chat_id=str(telegram_peer.chat_id),
                source="scheduler",
                status="reserved",
                retryable=False,
                attempts=1,
                created_at=event.created_at,
                updated_at=event.created_at,
            )
        )
    assert send(database, world, event).status == "already_handled"
    assert service.retry_failed_notifications(database, settings=world)["retried"] == 0
    assert telegram_peer.state.messages() == []


def test_disabled_notifications_reserve_nothing(database, world, notify_on, telegram_peer) -> None:
    notify_on(enabled=False)
    outcome = make_event(database, world)
    assert outcome.notification is not None
    assert (
        outcome.notification.status == "skipped"
        and outcome.notification.reason == "notifications are disabled"
    )
    with database.session(write=False) as session:
        assert session.scalars(select(Notification)).all() == []


def test_a_broken_notification_path_never_breaks_the_signal(database, world, notify_on, monkeypatch) -> None:
    def explode(_settings, _token):
        raise RuntimeError("client factory exploded")

    monkeypatch.setattr(notify.DELIVERY_CLIENTS, "factory", explode)
    outcome = make_event(database, world, trade=True)
    assert outcome.notification is not None and outcome.notification.reason is not None
    assert outcome.notification.status == "error" and "RuntimeError" in outcome.notification.reason
    assert outcome.order is not None


def test_the_token_never_reaches_logs_or_results(database, world, notify_on, telegram_peer, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="httpx")
    notify_on(token=OTHER_TOKEN)
    failed = make_event(database, world)
    notify_on()
    retried = service.retry_failed_notifications(database, settings=world)
    assert retried["sent"] == 1
    secrets = (OTHER_TOKEN, OTHER_TOKEN.split(":")[1], telegram_peer.token, telegram_peer.token.split(":")[1])
    dumped = failed.model_dump_json()
    with database.session(write=False) as session:
        stored = [row.last_error or "" for row in session.scalars(select(Notification))]
    for secret in secrets:
        assert secret not in caplog.text
        assert secret not in dumped
        assert all(secret not in text for text in stored)
    assert "sendMessage" in caplog.text  # the requests were logged, with the token redacted


def test_concurrent_decision_loops_for_one_bar_notify_once(database, world, notify_on, telegram_peer) -> None:
    pair = pair_with_defaults(world, exchange="bybit", symbol="BTC/USDT", timeframe="15m", horizon_steps=12)
    with database.session() as session:
        constant_model(session, world, prob=0.8)

    def decide() -> SignalOutcome:
        with database.session() as session:
            return service.make_signal(session, settings=world, pair=pair, source="scheduler", trade=True)

    outcomes = race(4, decide)
    assert sorted(o.notification.status if o.notification else "none" for o in outcomes) == ["none"] * 3 + [
        "sent"
    ]
    assert len(telegram_peer.state.messages()) == 1
    with database.session(write=False) as session:
        assert len(broker.orders(session)) == 1
