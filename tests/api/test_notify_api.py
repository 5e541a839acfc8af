"""GET/POST /notify/config and POST /notify/test over HTTP, with Telegram played by the local peer."""

from __future__ import annotations

import logging

import pytest

from myassistant.notify.text import telegram_length
from myassistant.peers.server import free_port
from myassistant.peers.telegram import DEFAULT_TOKEN

OTHER_TOKEN = "987654321:AAF" + "k" * 32


def configure(client, **fields: object):
    response = client.post("/notify/config", json=fields)
    assert response.status_code == 200, response.text
    return response.json()


def test_an_unset_config_reads_as_disabled_defaults(notify_client) -> None:
    body = notify_client.get("/notify/config").json()
    assert body["name"] == "notify_config" and body["version"] == 0 and body["updated_at"] is None
    value = body["value"]
    assert value["enabled"] is False and value["token"] is None and body["token_set"] is False
    assert value["profiles"] == {
        "default": {
            "buy": True,
            "flat_min_prob": None,
            "source": "both",
            "include_blocked": False,
            "max_delay_minutes": None,
            "alerts": True,
        }
    }
    assert value["active_profile"] == "default" and value["chat_id"] is None
    assert value["lang"] is None and body["effective_lang"] == "en"


def test_the_token_is_masked_and_never_returned(notify_client) -> None:
    saved = configure(notify_client, enabled=True, token=DEFAULT_TOKEN, chat_id=42)
    read = notify_client.get("/notify/config").json()
    for body in (saved, read):
        assert body["value"]["token"] == "1234…00" and body["token_set"] is True
        assert DEFAULT_TOKEN not in str(body)
        assert DEFAULT_TOKEN.split(":")[1][:10] not in str(body)


def test_changing_only_rules_keeps_the_token_and_echoing_the_mask_keeps_it_too(
    notify_client, session
) -> None:
    from myassistant.notify.service import get_config

    configure(notify_client, enabled=True, token=DEFAULT_TOKEN, chat_id=42)
    configure(notify_client, profiles={"default": {"flat_min_prob": 0.8}})
    masked = notify_client.get("/notify/config").json()["value"]["token"]
    body = configure(notify_client, token=masked, lang="ru")
    rules = body["value"]["profiles"]["default"]
    assert rules["flat_min_prob"] == 0.8 and rules["buy"] is True
    assert body["effective_lang"] == "ru" and body["version"] == 3
    session.expire_all()
    assert get_config(session).value.token == DEFAULT_TOKEN


def test_profiles_can_be_added_activated_and_removed(notify_client) -> None:
    configure(notify_client, profiles={"quiet": {"buy": True, "source": "scheduler"}}, active_profile="quiet")
    body = configure(notify_client, profiles={"default": None})
    assert set(body["value"]["profiles"]) == {"quiet"} and body["value"]["active_profile"] == "quiet"
    configure(notify_client, profiles={"loud": {"flat_min_prob": 0.5}})
    refused = notify_client.post("/notify/config", json={"profiles": {"quiet": None}})
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "active_profile"
    assert (
        "at least one profile"
        in notify_client.post("/notify/config", json={"profiles": {"quiet": None, "loud": None}}).text
    )


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({"token": "not-a-token"}, "token", "token must look like"),
        ({"chat_id": "somebody"}, "chat_id", "chat_id must be an integer chat id"),
        ({"enabled": True}, "token", "required while notifications are enabled"),
        ({"active_profile": "ghost"}, "active_profile", "'ghost' is not one of the profiles"),
        (
            {"profiles": {"default": {"flat_min_prob": 2}}},
            "body.profiles.default.flat_min_prob",
            "less than or equal to 1",
        ),
        ({"lang": "de"}, "body.lang", "'en' or 'ru'"),
        ({"enabled": None}, "body.enabled", "cannot be null"),
        ({"surprise": 1}, "body.surprise", "Extra inputs"),
        ({"expected_version": 2**63}, "body.expected_version", "less than or equal to"),
    ],
)
def test_invalid_updates_name_the_field_and_change_nothing(notify_client, payload, field, message) -> None:
    response = notify_client.post("/notify/config", json=payload)
    assert response.status_code == 422, response.text
    body = response.json()
    assert any(e["field"] == field and message in e["message"] for e in body["errors"]), body
    assert message in body["detail"]
    assert notify_client.get("/notify/config").json()["version"] == 0


def test_a_get_value_posted_back_changes_nothing_but_the_version(notify_client) -> None:
    configure(notify_client, enabled=True, token=DEFAULT_TOKEN, chat_id=42, profiles={"x": {"buy": False}})
    before = notify_client.get("/notify/config").json()
    after = configure(notify_client, **before["value"], expected_version=before["version"])
    assert after["value"] == before["value"] and after["version"] == before["version"] + 1


def test_a_stale_expected_version_is_409(notify_client) -> None:
    configure(notify_client, lang="en")
    assert configure(notify_client, lang="ru", expected_version=1)["version"] == 2
    stale = notify_client.post("/notify/config", json={"lang": "en", "expected_version": 1})
    assert stale.status_code == 409 and "changed since version 1" in stale.json()["detail"]


def test_notify_test_delivers_a_message_to_the_configured_chat(notify_client, telegram_peer) -> None:
    configure(notify_client, token=telegram_peer.token, chat_id=telegram_peer.chat_id, lang="ru")
    response = notify_client.post("/notify/test")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["ok"] is True and body["outcome"] == "ok" and body["chat_id"] == telegram_peer.chat_id
    assert body["bot_username"] == telegram_peer.state.username
    [sent] = telegram_peer.state.messages(telegram_peer.chat_id)
    assert sent.message_id == body["message_id"]
    assert "тестовое сообщение" in sent.plain_text and telegram_length(sent.text) <= 4096


def test_notify_test_without_a_token_or_chat_is_412(notify_client, telegram_peer) -> None:
    response = notify_client.post("/notify/test")
    assert response.status_code == 412 and "no bot token configured" in response.json()["detail"]
    configure(notify_client, token=telegram_peer.token)
    response = notify_client.post("/notify/test")
    assert response.status_code == 412 and "no chat configured" in response.json()["detail"]


@pytest.mark.parametrize(
    ("setup", "status", "outcome", "detail"),
    [
        ("bad_token", 502, "bad_token", "rejected the bot token"),
        ("unknown_chat", 502, "chat_not_found", "chat 5550001 not found"),
        ("rate_limited", 502, "rate_limited", "retry after 60 s"),
        ("server_error", 502, "server_error", "Telegram server error on sendMessage"),
    ],
)
def test_notify_test_reports_what_telegram_answered(
    notify_client, telegram_peer, setup, status, outcome, detail
) -> None:
    token, chat_id = telegram_peer.token, telegram_peer.chat_id
    if setup == "bad_token":
        token = OTHER_TOKEN
    elif setup == "unknown_chat":
        chat_id = 5550001
    elif setup == "rate_limited":
        telegram_peer.state.fail_next("sendMessage", 429, retry_after=60)
    else:
        telegram_peer.state.fail_next("sendMessage", 500, times=10)
    configure(notify_client, token=token, chat_id=chat_id)
    response = notify_client.post("/notify/test")
    assert response.status_code == status, response.text
    body = response.json()
    assert body["outcome"] == outcome and detail in body["detail"]
    if outcome == "rate_limited":
        assert body["retry_after"] == 60
    assert token not in response.text
    assert telegram_peer.state.messages() == []


def test_notify_test_reports_an_unreachable_telegram_as_503(make_settings, database, telegram_peer) -> None:
    from fastapi.testclient import TestClient

    from myassistant.api.app import create_app
    from myassistant.api.routes.notify import get_client_factory
    from tests.fixtures.telegram_peer import fast_client_factory

    app = create_app(make_settings(telegram_api_base=f"http://127.0.0.1:{free_port()}"), database=database)
    app.dependency_overrides[get_client_factory] = lambda: fast_client_factory
    with TestClient(app) as client:
        configure(client, token=telegram_peer.token, chat_id=1)
        response = client.post("/notify/test")
    assert response.status_code == 503
    assert (
        response.json()["outcome"] == "unreachable" and "cannot reach Telegram" in response.json()["detail"]
    )


def test_the_token_never_reaches_a_log_line_or_a_response(notify_client, telegram_peer, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="httpx")  # the app quiets httpx; we want its URL lines here
    texts: list[str] = []
    texts.append(notify_client.post("/notify/config", json={"token": telegram_peer.token, "chat_id": 1}).text)
    texts.append(notify_client.post("/notify/test").text)  # chat not found
    texts.append(notify_client.post("/notify/config", json={"chat_id": telegram_peer.chat_id}).text)
    texts.append(notify_client.post("/notify/test").text)  # delivered
    assert [c.status for c in telegram_peer.state.calls()] == [200, 400, 200, 200]
    telegram_peer.state.reset(token=OTHER_TOKEN)
    texts.append(notify_client.post("/notify/test").text)  # bad token
    texts.append(notify_client.get("/notify/config").text)
    texts.append(notify_client.get("/_debug/info").text)
    bad = "123456789:AAH-typo-" + "t" * 30
    texts.append(notify_client.post("/notify/config", json={"token": bad + "!"}).text)
    for secret in (telegram_peer.token, DEFAULT_TOKEN, bad):
        assert secret not in caplog.text
        assert not [text for text in texts if secret in text]
    assert "HTTP Request" in caplog.text  # httpx did log the URLs, redacted
