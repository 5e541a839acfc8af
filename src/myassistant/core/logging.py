"""Logging set-up with a filter that redacts secrets from every line."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable

REDACTED = "***"

# Secrets that can reach a log line through third-party messages (URLs, headers, DSNs).
_PATTERNS = (
    re.compile(r"(/bot)\d+(?::|%3[Aa])[A-Za-z0-9_-]+"),  # Telegram token in a Bot API URL (maybe quoted)
    re.compile(r"\b\d{6,12}:[A-Za-z0-9_-]{30,}\b"),  # a bare Telegram token
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"),
    re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?)[^'\"\s,}]+"),
    re.compile(r"(://[^:/@\s]+:)[^@/\s]+(@)"),  # password in a DSN
    re.compile(r"(?i)((?:api_?key|secret|token|password)['\"]?\s*[:=]\s*['\"]?)[^'\"\s,&}]+"),
)


class SecretRedactor:
    """Known secret values plus patterns; shared by every handler."""

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._lock = threading.Lock()

    def add(self, values: Iterable[str | None]) -> None:
        with self._lock:
            self._values.update(v for v in values if v and len(v) >= 4)

    def redact(self, text: str) -> str:
        for value in sorted(self._values, key=len, reverse=True):
            if value in text:
                text = text.replace(value, REDACTED)
        for pattern in _PATTERNS:
            text = pattern.sub(_keep_prefix, text)
        return text


def _keep_prefix(match: re.Match[str]) -> str:
    groups = match.groups()
    if not groups:
        return REDACTED
    suffix = groups[1] if len(groups) > 1 and groups[1] else ""
    return f"{groups[0]}{REDACTED}{suffix}"


REDACTOR = SecretRedactor()


_installed = False
_install_lock = threading.Lock()


def redact_record(record: logging.LogRecord, redactor: SecretRedactor = REDACTOR) -> None:
    """Render the record's message and traceback, redacted, and freeze them into it."""
    try:
        message = record.getMessage()
    except Exception:  # a malformed call is the logging module's to report, not ours to break
        return
    redacted = redactor.redact(message)
    if redacted != message and not _redact_args(record, redactor, redacted):
        record.msg, record.args = redacted, None
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = redactor.redact(record.exc_text)


def _redact_args(record: logging.LogRecord, redactor: SecretRedactor, expected: str) -> bool:
    """Redact string arguments in place; formatters such as uvicorn's access log unpack `record.args`."""
    if not isinstance(record.args, tuple) or not isinstance(record.msg, str):
        return False
    args = tuple(redactor.redact(arg) if isinstance(arg, str) else arg for arg in record.args)
    msg = redactor.redact(record.msg)
    try:
        if (msg % args if args else msg) != expected:
            return False
    except (TypeError, ValueError):
        return False
    record.msg, record.args = msg, args
    return True


def register_secrets(*values: str | None) -> None:
    """Make sure these values never appear in a log line."""
    REDACTOR.add(values)


def install_redaction() -> None:
    """Redact every log record as it is created, whichever handler (or test capture) reads it."""
    global _installed
    with _install_lock:
        if _installed:
            return
        previous = logging.getLogRecordFactory()

        def factory(*args: object, **kwargs: object) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            redact_record(record)
            return record

        logging.setLogRecordFactory(factory)
        _installed = True


def setup_logging(level: str, secrets: Iterable[str] = ()) -> None:
    """Configure root logging once and redact secrets everywhere."""
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    register_secrets(*secrets)
    install_redaction()
