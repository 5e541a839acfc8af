from __future__ import annotations

import logging

from myassistant.core.logging import SecretRedactor, install_redaction, register_secrets


def test_known_secret_values_are_redacted() -> None:
    redactor = SecretRedactor()
    redactor.add(["s3cr3t-value-123"])
    assert redactor.redact("using s3cr3t-value-123 now") == "using *** now"


def test_patterns_redact_tokens_dsn_passwords_and_bearer_headers() -> None:
    redactor = SecretRedactor()
    text = redactor.redact(
        "GET https://api.telegram.org/bot123456:ABCdefGHIjklMNOpqrSTUvwxYZ0123456789/sendMessage "
        "dsn=postgresql://bob:hunter2@db/x Authorization: Bearer abc.def-ghi token=zzz123"
    )
    assert "ABCdef" not in text
    assert "hunter2" not in text
    assert "abc.def-ghi" not in text
    assert "zzz123" not in text
    assert "/bot***/sendMessage" in text
    assert "postgresql://bob:***@db/x" in text


def test_every_log_record_is_redacted_before_any_handler_sees_it(caplog) -> None:
    install_redaction()
    register_secrets("very-secret-token-xyz")
    caplog.set_level(logging.INFO)
    logging.getLogger("myassistant.test").info("token is %s", "very-secret-token-xyz")
    try:
        raise ValueError("failed with very-secret-token-xyz")
    except ValueError:
        logging.getLogger("myassistant.test").exception("oops")
    assert "very-secret-token-xyz" not in caplog.text
    assert "token is ***" in caplog.text


def test_a_url_quoted_bot_token_is_redacted() -> None:
    text = SecretRedactor().redact('"GET /bot123456789%3AAAHpeer-local-telegram-token-0000 HTTP/1.1" 200')
    assert "AAHpeer" not in text and "/bot***" in text


def test_records_keep_their_args_for_formatters_that_unpack_them(caplog) -> None:
    """uvicorn's access formatter unpacks record.args; freezing them to None broke every access line."""
    install_redaction()
    caplog.set_level(logging.INFO)
    access = logging.getLogger("myassistant.test.access")
    path = "/bot123456789:AAHpeer-local-telegram-token-0000000000/getMe"
    access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:1", "GET", "/ping", "1.1", 200)
    access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:1", "GET", path, "1.1", 200)
    clean, secret = caplog.records[-2:]
    assert clean.args == ("127.0.0.1:1", "GET", "/ping", "1.1", 200)
    assert secret.args is not None and secret.args[2] == "/bot***/getMe"
    assert "AAHpeer" not in caplog.text
