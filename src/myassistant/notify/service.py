"""Notify: the config document, the test message and (phase 2) the one path from a signal to Telegram."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from myassistant.core import clock, configdocs
from myassistant.core.config import Settings
from myassistant.core.db import Database
from myassistant.core.errors import PreconditionFailed
from myassistant.core.logging import register_secrets
from myassistant.notify.logic import merge_profiles, render_test_message
from myassistant.notify.schemas import (
    ChatId,
    NotifyConfig,
    NotifyConfigPublic,
    NotifyConfigRead,
    NotifyConfigUpdate,
    NotifyTestResult,
)
from myassistant.notify.telegram import Attempt, RetryPolicy, TelegramClient, TelegramError, client_for

logger = logging.getLogger("myassistant.notify")

NOTIFY_CONFIG = configdocs.register("notify_config", NotifyConfig, secret_fields=("token",))

# A person is waiting for /notify/test: retry once, and never sit out a long rate limit.
TEST_RETRY = RetryPolicy(max_attempts=2, backoff_base_s=0.5, max_retry_after_s=5.0)

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


def deliver(client: TelegramClient, *, chat_id: ChatId, text: str) -> Delivery:
    """Send `text` with the client's retries; never raises for Telegram's answers, records each attempt."""
    attempts: list[Attempt] = []
    previous = client.on_attempt

    def record(attempt: Attempt) -> None:
        attempts.append(attempt)
        if previous is not None:
            previous(attempt)

    client.on_attempt = record
    try:
        message = client.send_message(chat_id, text)
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
