"""Notifications through the endpoint and the scheduler's job, over HTTP, with both peers."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from myassistant.api.app import create_app
from myassistant.core import configdocs
from myassistant.signals.policy import RISK_POLICY
from tests.fixtures.decision import OPEN_POLICY, constant_model

OTHER_TOKEN = "987654321:AAF" + "k" * 32


@pytest.fixture
def api(exchange_telegram_settings, database, mid_bar_clock, fast_delivery):
    settings = exchange_telegram_settings
    with database.session() as session:
        configdocs.put(session, RISK_POLICY, OPEN_POLICY)
        constant_model(session, settings, prob=0.8)
    with TestClient(create_app(settings, database=database)) as client:
        responses: list[str] = []
        original = client.request

        def recording(*args, **kwargs):  # every answer, for the token check
            response = original(*args, **kwargs)
            responses.append(response.text)
            return response

        client.request = recording  # type: ignore[method-assign]  # this client alone records its answers
        client.responses = responses
        yield client


def configure(api, telegram_peer, **fields: object) -> None:
    body = {"enabled": True, "token": telegram_peer.token, "chat_id": telegram_peer.chat_id} | fields
    response = api.post("/notify/config", json=body)
    assert response.status_code == 200, response.text


def test_signal_latest_answers_its_notification_and_a_repeat_sends_nothing(api, telegram_peer) -> None:
    configure(api, telegram_peer)
    body = api.post("/signal/latest", json={"symbol": "BTC/USDT"}).json()
    notification = body["notification"]
    assert notification["status"] == "sent" and notification["chat_id"] == telegram_peer.chat_id
    [message] = telegram_peer.state.messages(telegram_peer.chat_id)
    assert notification["message_id"] == message.message_id
    assert "on request" in message.plain_text  # the endpoint's source, in the footer
    again = api.post("/signal/latest", json={"symbol": "BTC/USDT"}).json()
    assert again["created"] is False and again["notification"] is None
    assert len(telegram_peer.state.messages()) == 1


def test_a_scheduler_only_profile_ignores_the_endpoint_and_notifies_the_job(
    api, telegram_peer, mid_bar_clock
) -> None:
    configure(api, telegram_peer, profiles={"default": {"source": "scheduler"}})
    skipped = api.post("/signal/latest", json={"symbol": "BTC/USDT"}).json()["notification"]
    assert skipped["status"] == "skipped" and "scheduler signals only" in skipped["reason"]
    api.post("/watchlist", json={"entries": [{"symbol": "BTC/USDT"}]})
    mid_bar_clock.advance(minutes=15)
    run = api.post("/automation/run", json={"job": "make_signals"}).json()
    assert run["status"] == "ok", run
    assert (run["stats"]["created"], run["stats"]["notified"]) == (1, 1)
    [message] = telegram_peer.state.messages()
    assert "scheduler" in message.plain_text


def test_the_job_retries_a_failed_notification_once_the_token_is_fixed(api, telegram_peer) -> None:
    configure(api, telegram_peer, token=OTHER_TOKEN)
    failed = api.post("/signal/latest", json={"symbol": "BTC/USDT", "trade": True}).json()
    assert failed["notification"]["status"] == "failed" and failed["notification"]["outcome"] == "bad_token"
    assert failed["order"] is not None and failed["event"]["final_signal"] == "buy"
    configure(api, telegram_peer)
    run = api.post("/automation/run", json={"job": "make_signals"}).json()
    assert run["stats"]["notifications_retried"] == {"retried": 1, "sent": 1, "failed": 0}
    assert len(telegram_peer.state.messages()) == 1
    again = api.post("/automation/run", json={"job": "make_signals"}).json()
    assert again["stats"]["notifications_retried"]["retried"] == 0


def test_no_response_ever_carries_the_token(api, telegram_peer) -> None:
    configure(api, telegram_peer, token=OTHER_TOKEN)
    api.post("/signal/latest", json={"symbol": "BTC/USDT", "trade": True})
    configure(api, telegram_peer)
    api.post("/automation/run", json={"job": "make_signals"})
    api.get("/notify/config")
    api.get("/signals/recent")
    api.get("/automation/runs")
    assert len(api.responses) == 7
    for token in (OTHER_TOKEN, telegram_peer.token):
        secret = token.split(":")[1]
        assert all(secret not in text for text in api.responses)
