"""The bot inside the service: off by default, one poller per database, /status knows the scheduler."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from myassistant.api.app import create_app
from myassistant.bot import poller as bot_module
from myassistant.bot.poller import BotService
from myassistant.notify.schemas import NotifyConfigUpdate
from myassistant.notify.service import update_config
from myassistant.notify.telegram import client_for
from tests.fixtures.telegram_peer import FAST_RETRY


def fast_builder(settings, token, sleep):
    return client_for(settings, token, retry=FAST_RETRY, sleep=sleep, timeout_s=2.0)


@pytest.fixture
def configured(database, telegram_peer):
    with database.session() as session:
        update_config(
            session, changes=NotifyConfigUpdate(token=telegram_peer.token, chat_id=telegram_peer.chat_id)
        )


def bot_service(database, settings, **options: Any) -> BotService:
    """A started in-service bot with short polls and waits."""
    service = BotService(
        database=database, settings=settings, client_builder=fast_builder, poll_timeout_s=1, **options
    )
    service.start()
    return service


@pytest.fixture
def replicas(database, notify_settings, configured):
    built: list[BotService] = []

    def start() -> BotService:
        service = bot_service(database, notify_settings, election_interval_s=0.05)
        built.append(service)
        return service

    yield start
    for service in built:
        service.shutdown()


def say(peer, text: str, replies: int) -> bool:
    peer.state.inject_message(peer.chat_id, text)
    return peer.state.wait_for(lambda: len(peer.state.messages(peer.chat_id)) >= replies, 10)


def test_two_replicas_never_both_poll_and_the_other_takes_over(replicas, telegram_peer) -> None:
    first, second = replicas(), replicas()
    assert telegram_peer.state.wait_for(lambda: telegram_peer.state.polls_started > 0)
    assert [first.polling, second.polling].count(True) == 1
    assert say(telegram_peer, "/help", 1)
    leader, standby = (first, second) if first.polling else (second, first)
    leader.shutdown()
    assert not leader.polling
    assert say(telegram_peer, "/help", 2)
    assert standby.polling
    assert len(telegram_peer.state.messages(telegram_peer.chat_id)) == 2  # each /help answered once


def test_a_bot_without_a_config_waits_and_starts_once_configured(
    database, notify_settings, telegram_peer
) -> None:
    service = bot_service(database, notify_settings, restart_after_s=0.05)
    try:
        assert telegram_peer.state.wait_for(lambda: service.bot.failure is not None)
        assert service.bot.failure is not None and "needs a token and a chat_id" in service.bot.failure
        with database.session() as session:
            update_config(
                session, changes=NotifyConfigUpdate(token=telegram_peer.token, chat_id=telegram_peer.chat_id)
            )
        assert say(telegram_peer, "/help", 1)
    finally:
        service.shutdown()


def test_the_service_runs_the_bot_only_when_enabled_and_reports_its_scheduler(
    make_settings, database, telegram_peer, configured, monkeypatch
) -> None:
    monkeypatch.setattr(bot_module, "IN_SERVICE_POLL_TIMEOUT_S", 1)
    off = make_settings(telegram_api_base=telegram_peer.url)
    app = create_app(off, database=database)
    with TestClient(app):
        assert app.state.bot is None
    settings = make_settings(
        telegram_api_base=telegram_peer.url, telegram_bot_enabled=True, scheduler_enabled=True
    )
    app = create_app(settings, database=database)
    with TestClient(app):
        assert say(telegram_peer, "/status", 1)
        assert app.state.bot.polling
    [reply] = telegram_peer.state.messages(telegram_peer.chat_id)
    assert "Scheduler: running, leader (this process runs the jobs)" in reply.plain_text
    assert app.state.bot.polling is False  # released at shutdown
