"""The local Telegram peer speaks the Bot API's shapes over real HTTP."""

from __future__ import annotations

import json
import threading

import httpx
import pytest

from myassistant.peers.telegram import parse_html


def url(peer, method: str, token: str | None = None) -> str:
    return f"{peer.url}/bot{token or peer.token}/{method}"


def test_get_me_answers_with_the_bot_user(telegram_peer) -> None:
    body = httpx.get(url(telegram_peer, "getMe")).json()
    assert body["ok"] is True
    assert body["result"]["is_bot"] is True
    assert body["result"]["username"] == telegram_peer.state.username
    assert body["result"]["id"] == int(telegram_peer.token.split(":")[0])


def test_a_wrong_token_is_401_unauthorized(telegram_peer) -> None:
    response = httpx.get(url(telegram_peer, "getMe", token="999999:AAH" + "y" * 32))
    assert response.status_code == 401
    assert response.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}


def test_an_unknown_method_is_404(telegram_peer) -> None:
    response = httpx.post(url(telegram_peer, "sendTelepathy"), json={})
    assert response.status_code == 404 and response.json()["description"] == "Not Found"


def test_method_names_are_case_insensitive_like_telegram(telegram_peer) -> None:
    assert httpx.get(url(telegram_peer, "getme")).json()["ok"] is True


@pytest.mark.parametrize("style", ["json", "form", "query"])
def test_send_message_accepts_json_form_and_query_parameters(telegram_peer, style: str) -> None:
    params = {"chat_id": str(telegram_peer.chat_id), "text": "<b>hi</b> &amp; bye", "parse_mode": "HTML"}
    if style == "json":
        response = httpx.post(
            url(telegram_peer, "sendMessage"), json=params | {"chat_id": telegram_peer.chat_id}
        )
    elif style == "form":
        response = httpx.post(url(telegram_peer, "sendMessage"), data=params)
    else:
        response = httpx.get(url(telegram_peer, "sendMessage"), params=params)
    result = response.json()["result"]
    assert result["chat"]["id"] == telegram_peer.chat_id and result["text"] == "hi & bye"
    [sent] = telegram_peer.state.messages()
    assert sent.text == "<b>hi</b> &amp; bye" and sent.plain_text == "hi & bye"


def test_an_unknown_chat_is_400_chat_not_found(telegram_peer) -> None:
    response = httpx.post(url(telegram_peer, "sendMessage"), json={"chat_id": 1, "text": "hi"})
    assert response.status_code == 400
    assert response.json() == {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}
    assert telegram_peer.state.messages() == []


def test_channels_are_addressed_by_username(telegram_peer) -> None:
    telegram_peer.state.add_chat(-1001, kind="channel", username="signals_feed")
    response = httpx.post(url(telegram_peer, "sendMessage"), json={"chat_id": "@signals_feed", "text": "hi"})
    assert response.json()["result"]["chat"]["id"] == -1001


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("a < b", "Unexpected '<'"),
        ("<script>x</script>", 'Unsupported start tag "script"'),
        ("<b>bold", "Can't find end tag"),
        ("fish & chips", "Unescaped '&'"),
        ("&nbsp;", "Unsupported HTML entity"),
        ("", "message text is empty"),
        ("x" * 4097, "message is too long"),
    ],
)
def test_markup_telegram_refuses_is_refused(telegram_peer, text: str, problem: str) -> None:
    response = httpx.post(
        url(telegram_peer, "sendMessage"),
        json={"chat_id": telegram_peer.chat_id, "text": text, "parse_mode": "HTML"},
    )
    assert response.status_code == 400 and problem in response.json()["description"]


def test_html_entities_and_allowed_tags_become_plain_text() -> None:
    assert (
        parse_html('<a href="https://x.test/?a=1&amp;b=2">link</a> &lt;&gt;&quot;&#65;&#x42;') == 'link <>"AB'
    )


def test_get_updates_delivers_injected_messages_until_confirmed_by_offset(telegram_peer) -> None:
    first = telegram_peer.state.inject_message(telegram_peer.chat_id, "/status")
    second = telegram_peer.state.inject_message(telegram_peer.chat_id, "hello")
    updates = httpx.get(url(telegram_peer, "getUpdates")).json()["result"]
    assert [u["update_id"] for u in updates] == [first["update_id"], second["update_id"]]
    message = updates[0]["message"]
    assert message["chat"]["id"] == telegram_peer.chat_id and message["text"] == "/status"
    assert message["entities"] == [{"offset": 0, "length": 7, "type": "bot_command"}]
    again = httpx.get(url(telegram_peer, "getUpdates"), params={"offset": second["update_id"]}).json()[
        "result"
    ]
    assert [u["update_id"] for u in again] == [second["update_id"]]
    assert (
        httpx.get(url(telegram_peer, "getUpdates"), params={"offset": second["update_id"] + 1}).json()[
            "result"
        ]
        == []
    )


def test_get_updates_honours_limit_and_allowed_updates(telegram_peer) -> None:
    telegram_peer.state.inject_update("callback_query", {"id": "1"})
    for text in ("a", "b", "c"):
        telegram_peer.state.inject_message(telegram_peer.chat_id, text)
    params: dict[str, str | int] = {"limit": 2, "allowed_updates": json.dumps(["message"])}
    updates = httpx.get(url(telegram_peer, "getUpdates"), params=params).json()["result"]
    assert [u["message"]["text"] for u in updates] == ["a", "b"]


def test_a_long_poll_returns_as_soon_as_a_message_arrives(telegram_peer) -> None:
    timer = threading.Timer(0.2, telegram_peer.state.inject_message, args=(telegram_peer.chat_id, "/help"))
    timer.start()
    try:
        response = httpx.post(url(telegram_peer, "getUpdates"), json={"timeout": 10}, timeout=15)
    finally:
        timer.cancel()
    assert [u["message"]["text"] for u in response.json()["result"]] == ["/help"]


def test_a_second_poller_ends_the_first_with_409_conflict(telegram_peer) -> None:
    answers: list[httpx.Response] = []
    first = threading.Thread(
        target=lambda: answers.append(
            httpx.post(url(telegram_peer, "getUpdates"), json={"timeout": 10}, timeout=15)
        )
    )
    first.start()
    # once the first poll waits inside the peer, a second one takes over
    assert telegram_peer.state.wait_for(lambda: telegram_peer.state.polls_started == 1, 5)
    httpx.post(url(telegram_peer, "getUpdates"), json={"timeout": 0})
    first.join(15)
    assert answers[0].status_code == 409 and "only one bot instance" in answers[0].json()["description"]


def test_set_my_commands_validates_and_stores_the_list(telegram_peer) -> None:
    commands = [{"command": "status", "description": "scheduler and jobs"}]
    assert (
        httpx.post(url(telegram_peer, "setMyCommands"), json={"commands": commands}).json()["result"] is True
    )
    assert telegram_peer.state.commands() == commands
    stored = httpx.get(url(telegram_peer, "getMyCommands")).json()["result"]
    assert stored == commands
    bad = httpx.post(
        url(telegram_peer, "setMyCommands"), json={"commands": [{"command": "Bad Name", "description": "x"}]}
    )
    assert bad.status_code == 400 and "BOT_COMMAND_INVALID" in bad.json()["description"]


def test_configured_faults_answer_in_order_then_normal_service_resumes(telegram_peer) -> None:
    state = telegram_peer.state
    state.fail_next("sendMessage", 429, retry_after=3)
    state.fail_next("sendMessage", 502, raw_body="<html>Bad Gateway</html>")
    params = {"chat_id": telegram_peer.chat_id, "text": "hi"}
    limited = httpx.post(url(telegram_peer, "sendMessage"), json=params)
    assert limited.status_code == 429
    assert limited.json() == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 3",
        "parameters": {"retry_after": 3},
    }
    gateway = httpx.post(url(telegram_peer, "sendMessage"), json=params)
    assert gateway.status_code == 502 and gateway.text == "<html>Bad Gateway</html>"
    assert httpx.post(url(telegram_peer, "sendMessage"), json=params).json()["ok"] is True
    assert [c.status for c in state.calls("sendMessage")] == [429, 502, 200]
    assert len(state.messages()) == 1


def test_the_control_surface_injects_messages_and_faults(telegram_peer) -> None:
    base = telegram_peer.url
    injected = httpx.post(f"{base}/_peer/inject", json={"chat_id": 777, "text": "/help"}).json()
    assert injected["message"]["chat"]["id"] == 777
    httpx.post(f"{base}/_peer/faults", json={"method": "getMe", "status": 500})
    assert httpx.get(url(telegram_peer, "getMe")).status_code == 500
    snapshot = httpx.get(f"{base}/_peer/state").json()
    assert snapshot["pending_updates"][0]["update_id"] == injected["update_id"]
    assert httpx.post(f"{base}/_peer/nonsense", json={}).status_code == 404


def test_send_document_takes_a_multipart_upload_and_keeps_the_file(telegram_peer) -> None:
    content = b"<!DOCTYPE html><p>report</p>"
    response = httpx.post(
        url(telegram_peer, "sendDocument"),
        data={"chat_id": str(telegram_peer.chat_id), "caption": "<b>Daily</b> report", "parse_mode": "HTML"},
        files={"document": ("daily.html", content, "text/html")},
    )
    result = response.json()["result"]
    assert result["document"]["file_name"] == "daily.html" and result["document"]["file_size"] == len(content)
    assert result["caption"] == "Daily report"
    [sent] = telegram_peer.state.documents(telegram_peer.chat_id)
    assert (sent.file_name, sent.mime_type, sent.content) == ("daily.html", "text/html", content)
    assert (sent.caption, sent.plain_caption) == ("<b>Daily</b> report", "Daily report")
    assert telegram_peer.state.messages() == []
    [listed] = httpx.get(f"{telegram_peer.url}/_peer/state").json()["documents"]
    assert listed["size"] == len(content) and listed["file_name"] == "daily.html"


def test_send_document_refuses_what_telegram_refuses(telegram_peer) -> None:
    chat = {"chat_id": str(telegram_peer.chat_id)}
    no_file = httpx.post(url(telegram_peer, "sendDocument"), data=chat)
    assert no_file.status_code == 400 and "no document" in no_file.json()["description"]
    empty = httpx.post(url(telegram_peer, "sendDocument"), data=chat, files={"document": ("a.html", b"")})
    assert empty.status_code == 400 and "non-empty" in empty.json()["description"]
    long_caption = httpx.post(
        url(telegram_peer, "sendDocument"),
        data=chat | {"caption": "x" * 1025},
        files={"document": ("a.html", b"x")},
    )
    assert long_caption.status_code == 400 and "caption is too long" in long_caption.json()["description"]
    bad_markup = httpx.post(
        url(telegram_peer, "sendDocument"),
        data=chat | {"caption": "<script>", "parse_mode": "HTML"},
        files={"document": ("a.html", b"x")},
    )
    assert bad_markup.status_code == 400 and "can't parse entities" in bad_markup.json()["description"]
    assert telegram_peer.state.documents() == []
