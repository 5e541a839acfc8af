"""Notify: the config document, the test message and the one path from a signal to Telegram.

`maybe_send_signal_notification` decides with the active profile, then reserves the
(event, chat) row in its own short transaction and commits it BEFORE calling Telegram: a second
or concurrent call finds the reservation and sends nothing, and a crash after the reservation can
lose a message but never send one twice. No transaction is open while Telegram is waited on, so
SQLite's write lock is never held across the network. Every HTTP attempt is written as it
happens; a failed send is left retryable for a later call (the scheduler's retry pass).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import cast

from sqlalchemy import Table, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from myassistant.core import clock, configdocs
from myassistant.core.config import Settings
from myassistant.core.db import Database, insert_ignoring_conflicts
from myassistant.core.errors import PreconditionFailed
from myassistant.core.logging import REDACTOR, register_secrets
from myassistant.core.retry import RetryPolicy
from myassistant.notify import logic
from myassistant.notify.logic import StoredSignal, merge_profiles, render_test_message
from myassistant.notify.schemas import (
    ChatId,
    NotificationResult,
    NotifyConfig,
    NotifyConfigPublic,
    NotifyConfigRead,
    NotifyConfigUpdate,
    NotifyTestResult,
)
from myassistant.notify.tables import Notification, NotificationAttempt
from myassistant.notify.telegram import (
    Attempt,
    Document,
    TelegramClient,
    TelegramError,
    TelegramUnavailable,
    client_for,
)

logger = logging.getLogger("myassistant.notify")

NOTIFY_CONFIG = configdocs.register("notify_config", NotifyConfig, secret_fields=("token",))

# A person is waiting for /notify/test: retry once, and never sit out a long rate limit.
TEST_RETRY = RetryPolicy(attempts=2, backoff_base_s=0.5, max_retry_after_s=5.0)

ClientFactory = Callable[[Settings, str], TelegramClient]


def default_client_factory(settings: Settings, token: str) -> TelegramClient:
    return client_for(settings, token, retry=TEST_RETRY)


def get_config(session: Session) -> configdocs.StoredDoc[NotifyConfig]:
    """The stored config (defaults at version 0); its token is registered with the log redactor."""
    stored = configdocs.get(session, NOTIFY_CONFIG)
    register_secrets(stored.value.token)
    return stored


def update_config(session: Session, *, changes: NotifyConfigUpdate) -> configdocs.StoredDoc[NotifyConfig]:
    """Apply a partial update; profiles merge by name (null removes one); the whole is validated."""
    data = changes.model_dump(exclude_unset=True, exclude={"expected_version", "profiles"})
    register_secrets(data.get("token"))  # even a malformed token must stay out of logs
    if changes.profiles is not None:
        current = get_config(session).value
        data["profiles"] = merge_profiles(
            {name: rules.model_dump() for name, rules in current.profiles.items()},
            {
                name: None if rules is None else rules.model_dump(exclude_unset=True)
                for name, rules in changes.profiles.items()
            },
        )
    stored = configdocs.patch(session, NOTIFY_CONFIG, data, expected_version=changes.expected_version)
    register_secrets(stored.value.token)
    logger.info("notify config updated to version %d (fields: %s)", stored.version, sorted(data))
    return stored


def public_config(stored: configdocs.StoredDoc[NotifyConfig], *, settings: Settings) -> NotifyConfigRead:
    """The config as clients may see it: the token masked."""
    return NotifyConfigRead(
        name=stored.name,
        version=stored.version,
        updated_at=stored.updated_at,
        value=NotifyConfigPublic.model_validate(NOTIFY_CONFIG.public_value(stored.value)),
        token_set=bool(stored.value.token),
        effective_lang=stored.value.effective_lang(settings.ui_lang),
    )


@dataclass(frozen=True)
class Delivery:
    """How one message fared: the outcome, Telegram's message id, and every attempt made."""

    ok: bool
    outcome: str
    detail: str
    message_id: int | None
    attempts: tuple[Attempt, ...]
    error: TelegramError | None = None

    @property
    def retry_after(self) -> int | None:
        return self.error.retry_after if self.error else None


def deliver(
    client: TelegramClient, *, chat_id: ChatId, text: str, document: Document | None = None
) -> Delivery:
    """Send `text` (or `document` with `text` as its caption) with the client's retries; never raises
    for Telegram's answers, records each attempt."""
    attempts: list[Attempt] = []
    previous = client.on_attempt

    def record(attempt: Attempt) -> None:
        attempts.append(attempt)
        if previous is not None:
            previous(attempt)

    client.on_attempt = record
    try:
        if document is None:
            message = client.send_message(chat_id, text)
        else:
            message = client.send_document(chat_id, document, caption=text)
    except TelegramError as exc:
        return Delivery(False, exc.outcome, exc.detail, None, tuple(attempts), exc)
    finally:
        client.on_attempt = previous
    return Delivery(True, "ok", f"delivered to chat {chat_id}", message.get("message_id"), tuple(attempts))


def send_test(
    database: Database, *, settings: Settings, client_factory: ClientFactory = default_client_factory
) -> NotifyTestResult:
    """Send a test message to the configured chat; Telegram's refusal raises a TelegramError (502/503)."""
    with database.session(write=False) as session:
        config = get_config(session).value
    if not config.token:
        raise PreconditionFailed('no bot token configured: POST /notify/config with {"token": "..."} first')
    if config.chat_id is None:
        raise PreconditionFailed('no chat configured: POST /notify/config with {"chat_id": ...} first')
    text = render_test_message(config.effective_lang(settings.ui_lang), clock.now())
    with client_factory(settings, config.token) as client:
        try:
            username = client.get_me().get("username")
        except TelegramError as exc:
            logger.warning("test message not sent, getMe failed: %s", exc.detail)
            raise
        delivery = deliver(client, chat_id=config.chat_id, text=text)
    if delivery.error is not None:
        logger.warning("test message to chat %s failed: %s", config.chat_id, delivery.detail)
        raise delivery.error
    logger.info("test message delivered to chat %s as message %s", config.chat_id, delivery.message_id)
    return NotifyTestResult(
        ok=True,
        outcome="ok",
        detail=f"test message delivered to chat {config.chat_id} by @{username}",
        chat_id=config.chat_id,
        message_id=delivery.message_id,
        bot_username=username,
    )


# -- signal notifications -------------------------------------------------------------------

# In the background a rate limit is worth waiting out; four attempts per call, backoff 1, 2, 4 s.
SIGNAL_RETRY = RetryPolicy(attempts=4, backoff_base_s=1.0, backoff_max_s=8.0, max_retry_after_s=30.0)
RETRY_WINDOW = timedelta(hours=24)
RETRY_BATCH = 50
RESERVED, SENT, FAILED = "reserved", "sent", "failed"
_TABLE = cast(Table, Notification.__table__)
_ATTEMPTS = cast(Table, NotificationAttempt.__table__)

UnitOfWork = Callable[[], AbstractContextManager[Session]]


def signal_client_factory(settings: Settings, token: str) -> TelegramClient:
    """A client of its own per message: no keep-alive connection that may have gone stale."""
    return client_for(settings, token, retry=SIGNAL_RETRY)


class DeliveryClients:
    """How notifications build their Telegram client; tests swap in short waits with `configure`."""

    def __init__(self) -> None:
        self.factory: ClientFactory = signal_client_factory

    def configure(self, factory: ClientFactory) -> ClientFactory:
        previous, self.factory = self.factory, factory
        return previous


DELIVERY_CLIENTS = DeliveryClients()


@dataclass(frozen=True)
class Message:
    """One reservation-backed message: its dedupe key, what it is about and its text; with a
    `document`, the file is sent (sendDocument) and the text is its caption."""

    key: str
    kind: str  # signal | alert | report | training
    source: str
    text: str
    signal_event_id: int | None = None
    document: Document | None = None


def signal_key(event_id: int) -> str:
    return f"signal:{event_id}"


def maybe_send_signal_notification(
    session_or_database: Session | Database,
    *,
    settings: Settings,
    event: StoredSignal,
    source: str,
) -> NotificationResult:
    """Notify the configured chat of a stored event when the active profile says so; never raises.

    Given a Session, it is committed before the reservation (only when a message is due): the event
    must be durable before anyone is told about it, and SQLite's write lock free for the reservation.
    """
    try:
        if isinstance(session_or_database, Database):
            with session_or_database.session(write=False) as session:
                config = get_config(session).value
        else:
            config = get_config(session_or_database).value
        now = clock.now()
        notice = logic.notice_from_event(event, source=source)
        decision = logic.should_notify(notice, config, now)
        if not decision.send:
            return NotificationResult(status="skipped", reason=decision.reason, chat_id=config.chat_id)
        text = logic.render_signal_message(notice, config.effective_lang(settings.ui_lang), now)
        message = Message(signal_key(event.id), "signal", source, text, signal_event_id=event.id)
        return send_once(
            session_or_database,
            settings=settings,
            config=config,
            message=message,
        )
    except Exception as exc:  # a notification must never break the signal that caused it
        logger.exception("notification for signal event %s failed unexpectedly", getattr(event, "id", "?"))
        return NotificationResult(
            status="error", reason=f"notification failed unexpectedly: {type(exc).__name__}"
        )


def send_once(
    session_or_database: Session | Database,
    *,
    settings: Settings,
    config: NotifyConfig,
    message: Message,
) -> NotificationResult:
    """Reserve (message key, chat), commit, then send; a key already reserved or sent sends nothing."""
    assert config.token is not None and config.chat_id is not None  # should_notify checked both
    unit = _unit_of_work(session_or_database)
    chat = str(config.chat_id)
    with unit() as session:
        notification_id, existing = _reserve(session, message, chat)
    if notification_id is None:
        assert existing is not None
        return NotificationResult(
            status="already_handled",
            reason=f"already {existing.status} for chat {chat} (notification {existing.id})",
            notification_id=existing.id,
            chat_id=config.chat_id,
            message_id=existing.message_id,
        )
    with DELIVERY_CLIENTS.factory(settings, config.token) as client:
        client.on_attempt = lambda attempt: _record_attempt(unit, notification_id, attempt)
        delivery = deliver(client, chat_id=config.chat_id, text=message.text, document=message.document)
    return _finish(unit, notification_id, delivery, config)


def _unit_of_work(target: Session | Database) -> UnitOfWork:
    """Short write transactions of their own, on the same database as `target`."""
    if isinstance(target, Database):
        return target.session
    target.commit()
    bind = target.get_bind()
    maker = sessionmaker(bind=getattr(bind, "engine", bind), expire_on_commit=False)

    @contextmanager
    def unit() -> Iterator[Session]:
        with maker() as session, session.begin():
            yield session

    return unit


def _reserve(session: Session, message: Message, chat: str) -> tuple[int | None, Notification | None]:
    """The row id when this call may send (new, or a retryable failure claimed), else the existing row."""
    now = clock.now()
    inserted = session.execute(
        insert_ignoring_conflicts(session, _TABLE)
        .values(
            kind=message.kind,
            dedupe_key=message.key,
            signal_event_id=message.signal_event_id,
            chat_id=chat,
            source=message.source,
            status=RESERVED,
            retryable=False,
            attempts=0,
            last_error=None,
            message_id=None,
            created_at=now,
            updated_at=now,
            sent_at=None,
        )
        .returning(_TABLE.c.id)
    ).scalar_one_or_none()
    if inserted is not None:
        return inserted, None
    # The status test in the WHERE makes the claim atomic: of two concurrent retries one updates.
    claimed = session.execute(
        update(_TABLE)
        .where(
            _TABLE.c.dedupe_key == message.key,
            _TABLE.c.chat_id == chat,
            _TABLE.c.status == FAILED,
            _TABLE.c.retryable.is_(True),
        )
        .values(status=RESERVED, retryable=False, source=message.source, updated_at=now)
        .returning(_TABLE.c.id)
    ).scalar_one_or_none()
    if claimed is not None:
        return claimed, None
    existing = session.scalars(
        select(Notification).where(Notification.dedupe_key == message.key, Notification.chat_id == chat)
    ).one()
    return None, existing


def _record_attempt(unit: UnitOfWork, notification_id: int, attempt: Attempt) -> None:
    """Write one attempt at once, so a crash between retries still leaves the attempts made."""
    try:
        with unit() as session:
            number = session.execute(
                update(_TABLE)
                .where(_TABLE.c.id == notification_id)
                .values(attempts=_TABLE.c.attempts + 1, updated_at=clock.now())
                .returning(_TABLE.c.attempts)
            ).scalar_one()
            session.execute(
                insert(_ATTEMPTS).values(
                    notification_id=notification_id,
                    number=number,
                    outcome=attempt.outcome,
                    status_code=attempt.status_code,
                    detail=_clean(attempt.detail),
                    retry_after=attempt.retry_after,
                    duration_ms=round(attempt.duration_s * 1000),
                    at=clock.now(),
                )
            )
    except Exception:  # losing one attempt's record must not turn a delivered message into a resend
        logger.exception("could not record attempt %d of notification %d", attempt.number, notification_id)


def _finish(
    unit: UnitOfWork, notification_id: int, delivery: Delivery, config: NotifyConfig
) -> NotificationResult:
    now = clock.now()
    with unit() as session:
        attempts = session.execute(
            select(_TABLE.c.attempts).where(_TABLE.c.id == notification_id)
        ).scalar_one()
        if delivery.ok:
            values: dict[str, object] = {
                "status": SENT,
                "message_id": delivery.message_id,
                "last_error": None,
                "sent_at": now,
            }
            verdict = logic.Decision(False, "sent")
        else:
            possibly_delivered = isinstance(delivery.error, TelegramUnavailable) and delivery.error.reached
            verdict = logic.retry_verdict(
                delivery.outcome, possibly_delivered=possibly_delivered, attempts=attempts
            )
            values = {"status": FAILED, "last_error": _clean(f"{delivery.detail}; {verdict.reason}")}
        session.execute(
            update(_TABLE)
            .where(_TABLE.c.id == notification_id)
            .values(**values, retryable=verdict.send, updated_at=now)
        )
    if delivery.ok:
        logger.info(
            "notification %d delivered to chat %s as message %s",
            notification_id,
            config.chat_id,
            delivery.message_id,
        )
        reason = f"delivered to chat {config.chat_id} as message {delivery.message_id}"
    else:
        logger.warning(
            "notification %d to chat %s failed: %s", notification_id, config.chat_id, delivery.detail
        )
        reason = _clean(f"{delivery.detail}; {verdict.reason}")
    return NotificationResult(
        status="sent" if delivery.ok else "failed",
        reason=reason,
        notification_id=notification_id,
        chat_id=config.chat_id,
        message_id=delivery.message_id,
        outcome=delivery.outcome,
        attempts=len(delivery.attempts),
        retryable=verdict.send,
    )


def _clean(text: str) -> str:
    """Telegram's words as stored: the client already removed the token; this is the belt to its braces."""
    return REDACTOR.redact(text)[:2000]


def retryable_signal_events(
    session: Session, *, window: timedelta = RETRY_WINDOW, limit: int = RETRY_BATCH
) -> list[int]:
    """Ids of the signal events whose notification failed retryably within `window` (oldest first)."""
    since = clock.now() - window
    ids = session.scalars(
        select(Notification.signal_event_id)
        .where(
            Notification.kind == "signal",
            Notification.status == FAILED,
            Notification.retryable.is_(True),
            Notification.created_at >= since,
            Notification.signal_event_id.is_not(None),
        )
        .order_by(Notification.id)
        .limit(limit)
    ).all()
    return [event_id for event_id in ids if event_id is not None]


def notifications_for(session: Session, *, signal_event_id: int) -> list[Notification]:
    """The notification rows of one event (one per chat it went to)."""
    query = (
        select(Notification).where(Notification.signal_event_id == signal_event_id).order_by(Notification.id)
    )
    return list(session.scalars(query))


def attempts_of(session: Session, *, notification_id: int) -> list[NotificationAttempt]:
    query = (
        select(NotificationAttempt)
        .where(NotificationAttempt.notification_id == notification_id)
        .order_by(NotificationAttempt.number)
    )
    return list(session.scalars(query))
