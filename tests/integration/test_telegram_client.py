"""The Bot API client against the local peer over real HTTP: answers, error mapping, retries, secrecy."""

from __future__ import annotations

import logging

import pytest

from myassistant.core.retry import RetryPolicy
from myassistant.notify.service import deliver
from myassistant.notify.telegram import (
    Attempt,
    TelegramBadToken,
    TelegramChatNotFound,
    TelegramClient,
    TelegramForbidden,
    TelegramRateLimited,
    TelegramServerError,
    TelegramUnavailable,
)
from myassistant.peers.server import free_port


def test_the_four_methods_work_against_the_peer(telegram_peer) -> None:
    with telegram_peer.client() as client:
        assert client.get_me()["username"] == telegram_peer.state.username
        message = client.send_message(telegram_peer.chat_id, "<b>BUY</b> BTC/USDT")
        assert message["text"] == "BUY BTC/USDT"
        assert client.set_my_commands([{"command": "help", "description": "commands"}]) is True
        telegram_peer.state.inject_message(telegram_peer.chat_id, "/help")
        [update] = client.get_updates(timeout=0, allowed_updates=["message"])
        assert update["message"]["text"] == "/help"
        assert client.get_updates(offset=update["update_id"] + 1) == []
    [sent] = telegram_peer.state.messages(telegram_peer.chat_id)
    assert sent.parse_mode == "HTML"


def test_a_bad_token_is_a_clear_error(telegram_peer) -> None:
    telegram_peer.state.reset(token="111111:AAH" + "z" * 32)
    with telegram_peer.client() as client, pytest.raises(TelegramBadToken) as excinfo:
        client.get_me()
    assert excinfo.value.outcome == "bad_token" and "rejected the bot token" in excinfo.value.detail
    assert excinfo.value.status_code == 502
    assert len(telegram_peer.state.calls()) == 1  # never retried


def test_an_unknown_chat_is_chat_not_found(telegram_peer) -> None:
    with telegram_peer.client() as client, pytest.raises(TelegramChatNotFound) as excinfo:
        client.send_message(-100999, "hi")
    assert "chat -100999 not found" in excinfo.value.detail and "/start" in excinfo.value.detail
    assert len(telegram_peer.state.calls("sendMessage")) == 1


def test_a_blocked_bot_is_forbidden(telegram_peer) -> None:
    telegram_peer.state.fail_next("sendMessage", 403)
    with telegram_peer.client() as client, pytest.raises(TelegramForbidden, match="unblock the bot"):
        client.send_message(telegram_peer.chat_id, "hi")


def test_429_then_success_delivers_exactly_one_message_after_retry_after(telegram_peer) -> None:
    telegram_peer.state.fail_next("sendMessage", 429, retry_after=1)
    attempts: list[Attempt] = []
    with telegram_peer.client(on_attempt=attempts.append) as client:
        client.send_message(telegram_peer.chat_id, "BUY")
    calls = telegram_peer.state.calls("sendMessage")
    assert [c.status for c in calls] == [429, 200]
    assert calls[1].at - calls[0].at >= 1.0  # waited the retry_after Telegram asked for
    assert len(telegram_peer.state.messages()) == 1
    assert [(a.number, a.outcome, a.retry_after) for a in attempts] == [
        (1, "rate_limited", 1),
        (2, "ok", None),
    ]


def test_a_retry_after_over_the_cap_is_not_waited_out(telegram_peer) -> None:
    telegram_peer.state.fail_next("sendMessage", 429, retry_after=120)
    policy = RetryPolicy(attempts=4, backoff_base_s=0.01, max_retry_after_s=30)
    with telegram_peer.client(retry=policy) as client, pytest.raises(TelegramRateLimited) as excinfo:
        client.send_message(telegram_peer.chat_id, "BUY")
    assert excinfo.value.retry_after == 120 and excinfo.value.extra["retry_after"] == 120
    assert "retry after 120 s" in excinfo.value.detail
    assert telegram_peer.state.messages() == []


def test_5xx_answers_are_retried_with_backoff(telegram_peer) -> None:
    telegram_peer.state.fail_next("sendMessage", 500)
    telegram_peer.state.fail_next("sendMessage", 502, raw_body="<html>Bad Gateway</html>")
    waits: list[float] = []
    with telegram_peer.client(sleep=waits.append) as client:
        client.send_message(telegram_peer.chat_id, "BUY")
    assert [c.status for c in telegram_peer.state.calls("sendMessage")] == [500, 502, 200]
    assert waits == [0.01, 0.02]
    assert len(telegram_peer.state.messages()) == 1


def test_persistent_5xx_gives_up_after_the_last_attempt(telegram_peer) -> None:
    telegram_peer.state.fail_next("getMe", 503, times=10)
    with telegram_peer.client() as client, pytest.raises(TelegramServerError, match="server error on getMe"):
        client.get_me()
    assert len(telegram_peer.state.calls("getMe")) == 4


def test_a_timeout_is_unreachable_and_a_send_that_may_have_arrived_is_not_repeated(telegram_peer) -> None:
    telegram_peer.state.fail_next("sendMessage", None, delay_s=1.0)
    with telegram_peer.client(timeout_s=0.2) as client, pytest.raises(TelegramUnavailable) as excinfo:
        client.send_message(telegram_peer.chat_id, "BUY")
    assert excinfo.value.outcome == "unreachable" and excinfo.value.status_code == 503
    assert "did not answer sendMessage in time" in excinfo.value.detail
    # the slow peer still delivers it: a retry would have doubled the message
    assert telegram_peer.state.wait_for(lambda: len(telegram_peer.state.messages()) == 1, 5)
    assert len(telegram_peer.state.calls("sendMessage")) == 1


def test_a_timeout_on_an_idempotent_call_is_retried(telegram_peer) -> None:
    telegram_peer.state.fail_next("getMe", None, delay_s=1.0)
    with telegram_peer.client(timeout_s=0.2) as client:
        assert client.get_me()["is_bot"] is True


def test_a_closed_port_is_unreachable_after_retries(telegram_peer) -> None:
    attempts: list[Attempt] = []
    client = TelegramClient(
        telegram_peer.token,
        api_base=f"http://127.0.0.1:{free_port()}",
        retry=RetryPolicy(attempts=3, backoff_base_s=0.01),
        on_attempt=attempts.append,
    )
    with client, pytest.raises(TelegramUnavailable, match="cannot reach Telegram"):
        client.send_message(1, "hi")  # nothing was sent, so even sendMessage is retried
    assert [a.outcome for a in attempts] == ["unreachable"] * 3


def test_the_token_never_appears_in_errors_reprs_or_logs(telegram_peer, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    token = telegram_peer.token
    telegram_peer.state.reset(token="222222:AAH" + "q" * 32)
    failures: list[TelegramBadToken | TelegramUnavailable] = []
    for client in (
        telegram_peer.client(),
        TelegramClient(token, api_base=f"http://127.0.0.1:{free_port()}", retry=RetryPolicy(attempts=1)),
    ):
        assert token not in repr(client)
        with client:
            try:
                client.get_me()
            except (TelegramBadToken, TelegramUnavailable) as exc:
                failures.append(exc)
                logging.getLogger("myassistant.test").exception("telegram failed: %s", exc)
    assert len(failures) == 2
    for failure in failures:
        assert token not in str(failure) and token not in repr(failure) and token not in str(failure.extra)
        assert failure.__cause__ is None and (failure.__context__ is None or failure.__suppress_context__)
    assert "telegram failed" in caplog.text
    assert token not in caplog.text


def test_deliver_reports_every_attempt_and_never_raises(telegram_peer) -> None:
    telegram_peer.state.fail_next("sendMessage", 500)
    with telegram_peer.client() as client:
        delivered = deliver(client, chat_id=telegram_peer.chat_id, text="<b>BUY</b>")
        missing = deliver(client, chat_id=-100777, text="<b>BUY</b>")
    assert delivered.ok and delivered.outcome == "ok" and delivered.message_id is not None
    assert [a.outcome for a in delivered.attempts] == ["server_error", "ok"]
    assert not missing.ok and missing.outcome == "chat_not_found" and missing.message_id is None
    assert [a.outcome for a in missing.attempts] == ["chat_not_found"]
    assert len(telegram_peer.state.messages()) == 1


def test_deliver_gives_the_rate_limit_to_its_caller(telegram_peer) -> None:
    telegram_peer.state.fail_next("sendMessage", 429, retry_after=99)
    with telegram_peer.client() as client:
        delivery = deliver(client, chat_id=telegram_peer.chat_id, text="hi")
    assert delivery.outcome == "rate_limited" and delivery.retry_after == 99


def test_send_document_uploads_the_file_with_its_caption(telegram_peer) -> None:
    from myassistant.notify.telegram import Document

    document = Document("daily_2026-01-14_en.html", "<html>é</html>".encode(), "text/html")
    with telegram_peer.client() as client:
        message = client.send_document(telegram_peer.chat_id, document, caption="<b>Daily report</b>")
    assert message["document"]["file_name"] == document.file_name and message["caption"] == "Daily report"
    [sent] = telegram_peer.state.documents(telegram_peer.chat_id)
    assert sent.content == document.content and sent.parse_mode == "HTML"
    assert "bytes" in repr(document) and "é" not in repr(document)


def test_a_document_upload_retries_server_errors_and_maps_refusals(telegram_peer) -> None:
    from myassistant.notify.telegram import Document, TelegramBadRequest

    document = Document("a.html", b"<html></html>", "text/html")
    telegram_peer.state.fail_next("sendDocument", 502)
    attempts: list[Attempt] = []
    with telegram_peer.client(on_attempt=attempts.append) as client:
        client.send_document(telegram_peer.chat_id, document)
        with pytest.raises(TelegramChatNotFound):
            client.send_document(-100999, document)
        with pytest.raises(TelegramBadRequest):
            client.send_document(telegram_peer.chat_id, Document("empty.html", b""))
    assert [(a.method, a.outcome) for a in attempts] == [
        ("sendDocument", "server_error"),
        ("sendDocument", "ok"),
        ("sendDocument", "chat_not_found"),
        ("sendDocument", "bad_request"),
    ]
    assert len(telegram_peer.state.documents()) == 1
