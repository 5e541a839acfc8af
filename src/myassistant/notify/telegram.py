"""Telegram Bot API client: a few methods, retries that honour `retry_after`, errors we can act on.

The bot token is part of every URL, so it is registered with the log redactor, never appears in
an exception message we raise (httpx's own exceptions are replaced, not chained) and is masked
in `repr`. Only the base URL (`TELEGRAM_API_BASE`) differs between api.telegram.org and the
local peer.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from myassistant.core import http
from myassistant.core.config import Settings
from myassistant.core.errors import UpstreamError, UpstreamUnavailable
from myassistant.core.logging import REDACTOR, install_redaction, register_secrets
from myassistant.core.retry import RetryPolicy

ChatId = int | str
UPLOAD_TIMEOUT_S = 60.0  # a document upload (the daily report: up to ~1.5 MB) on a slow uplink


@dataclass(frozen=True)
class Document:
    """A file to upload with sendDocument: its name, its bytes and its media type."""

    file_name: str
    content: bytes
    mime_type: str = "application/octet-stream"

    def __repr__(self) -> str:
        return f"Document({self.file_name!r}, {len(self.content)} bytes, {self.mime_type!r})"


@dataclass(frozen=True)
class Attempt:
    """One HTTP exchange with Telegram, reported to `on_attempt` (phase 2 records each one)."""

    method: str
    number: int
    outcome: str  # "ok" or a TelegramError outcome
    status_code: int | None
    detail: str
    retry_after: int | None
    duration_s: float


class TelegramError(UpstreamError):
    """Telegram refused or failed a call; `outcome` names the case for clients and records."""

    outcome = "error"

    def __init__(self, detail: str, *, retry_after: int | None = None, error_code: int | None = None) -> None:
        extra: dict[str, Any] = {"outcome": self.outcome}
        if retry_after is not None:
            extra["retry_after"] = retry_after
        super().__init__(detail, **extra)
        self.retry_after = retry_after
        self.error_code = error_code


class TelegramBadToken(TelegramError):
    outcome = "bad_token"


class TelegramChatNotFound(TelegramError):
    outcome = "chat_not_found"


class TelegramForbidden(TelegramError):
    outcome = "forbidden"


class TelegramBadRequest(TelegramError):
    outcome = "bad_request"


class TelegramConflict(TelegramError):
    outcome = "conflict"


class TelegramRateLimited(TelegramError):
    outcome = "rate_limited"


class TelegramServerError(TelegramError):
    outcome = "server_error"


class TelegramUnavailable(TelegramError, UpstreamUnavailable):
    """No answer: connection refused, DNS, timeout. `reached` is False when Telegram surely got nothing."""

    outcome = "unreachable"

    def __init__(self, detail: str, *, reached: bool) -> None:
        super().__init__(detail)
        self.reached = reached


class TelegramClient:
    """A synchronous Bot API client; one `httpx.Client` (keep-alive) per instance."""

    def __init__(
        self,
        token: str,
        *,
        api_base: str,
        timeout_s: float = http.DEFAULT_TIMEOUT_S,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], object] = time.sleep,
        on_attempt: Callable[[Attempt], None] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not token:
            raise ValueError("a bot token is required")
        # httpx logs every request URL, and ours carry the token: redaction must be on whoever runs us.
        install_redaction()
        register_secrets(token)
        self._token = token
        self.api_base = api_base.rstrip("/")
        self.timeout_s = timeout_s
        self.retry = retry or RetryPolicy()
        self.on_attempt = on_attempt
        self._sleep = sleep
        # No redirects: following one would send the token-bearing URL to another host.
        self._http = http.client(timeout_s=timeout_s, follow_redirects=False, transport=transport)

    def __repr__(self) -> str:
        return f"TelegramClient(api_base={self.api_base!r}, token='***')"

    def __enter__(self) -> TelegramClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def get_me(self) -> dict[str, Any]:
        result: dict[str, Any] = self.call("getMe", {}, idempotent=True)
        return result

    def send_message(
        self,
        chat_id: ChatId,
        text: str,
        *,
        parse_mode: str | None = "HTML",
        disable_notification: bool = False,
        link_preview: bool = False,
    ) -> dict[str, Any]:
        """Send `text` (HTML by default); a send that may have reached Telegram is never repeated."""
        params: dict[str, Any] = {
            "chat_id": chat_id,
            "text": text,
            "disable_notification": disable_notification,
            "link_preview_options": {"is_disabled": not link_preview},
        }
        if parse_mode:
            params["parse_mode"] = parse_mode
        result: dict[str, Any] = self.call("sendMessage", params, idempotent=False)
        return result

    def send_document(
        self,
        chat_id: ChatId,
        document: Document,
        *,
        caption: str | None = None,
        parse_mode: str | None = "HTML",
        disable_notification: bool = False,
    ) -> dict[str, Any]:
        """Upload `document` (multipart) with an optional caption; like a message, never sent twice."""
        params: dict[str, Any] = {"chat_id": chat_id, "disable_notification": disable_notification}
        if caption:
            params["caption"] = caption
            if parse_mode:
                params["parse_mode"] = parse_mode
        upload = {"document": (document.file_name, document.content, document.mime_type)}
        result: dict[str, Any] = self.call(
            "sendDocument",
            params,
            idempotent=False,
            timeout_s=max(self.timeout_s, UPLOAD_TIMEOUT_S),
            files=upload,
        )
        return result

    def get_updates(
        self,
        *,
        offset: int | None = None,
        timeout: int = 0,
        limit: int = 100,
        allowed_updates: Sequence[str] | None = None,
    ) -> list[dict[str, Any]]:
        """Updates after `offset` (which confirms every earlier one); waits up to `timeout` s for one."""
        params: dict[str, Any] = {"timeout": timeout, "limit": limit}
        if offset is not None:
            params["offset"] = offset
        if allowed_updates is not None:
            params["allowed_updates"] = list(allowed_updates)
        result: list[dict[str, Any]] = self.call(
            "getUpdates", params, idempotent=True, timeout_s=self.timeout_s + timeout
        )
        return result

    def set_my_commands(
        self, commands: Sequence[dict[str, str]], *, language_code: str | None = None
    ) -> bool:
        params: dict[str, Any] = {"commands": list(commands)}
        if language_code:
            params["language_code"] = language_code
        return bool(self.call("setMyCommands", params, idempotent=True))

    def call(
        self,
        method: str,
        params: dict[str, Any],
        *,
        idempotent: bool,
        timeout_s: float | None = None,
        files: dict[str, tuple[str, bytes, str]] | None = None,
    ) -> Any:
        """Call `method`, retrying 429, 5xx and (when safe) network failures per the retry policy.

        With `files` the call is a multipart upload: `params` become form fields (JSON for non-text).
        """
        attempt = 1
        while True:
            started = time.perf_counter()
            try:
                result = self._once(method, params, timeout_s, files)
            except TelegramError as failure:
                self._report(method, attempt, failure, started)
                wait = self._retry_wait(failure, attempt, idempotent)
                if wait is None:
                    raise
                self._sleep(wait)
                attempt += 1
                continue
            self._report(method, attempt, None, started)
            return result

    def _retry_wait(self, failure: TelegramError, attempt: int, idempotent: bool) -> float | None:
        if attempt >= self.retry.attempts:
            return None
        if isinstance(failure, TelegramRateLimited):
            wait = (
                float(failure.retry_after) if failure.retry_after is not None else self.retry.backoff(attempt)
            )
            return wait if wait <= self.retry.max_retry_after_s else None
        if isinstance(failure, TelegramServerError):
            return self.retry.backoff(attempt)
        if isinstance(failure, TelegramUnavailable) and (idempotent or not failure.reached):
            return self.retry.backoff(attempt)
        return None

    def _report(self, method: str, number: int, failure: TelegramError | None, started: float) -> None:
        if self.on_attempt is None:
            return
        self.on_attempt(
            Attempt(
                method=method,
                number=number,
                outcome=failure.outcome if failure else "ok",
                status_code=failure.error_code if failure else 200,
                detail=failure.detail if failure else "ok",
                retry_after=failure.retry_after if failure else None,
                duration_s=time.perf_counter() - started,
            )
        )

    def _once(
        self,
        method: str,
        params: dict[str, Any],
        timeout_s: float | None,
        files: dict[str, tuple[str, bytes, str]] | None = None,
    ) -> Any:
        url = f"{self.api_base}/bot{self._token}/{method}"
        timeout = http.timeout(timeout_s) if timeout_s is not None else httpx.USE_CLIENT_DEFAULT
        try:
            if files:
                response = self._http.post(url, data=_form_fields(params), files=files, timeout=timeout)
            else:
                response = self._http.post(url, json=params, timeout=timeout)
        except httpx.TimeoutException as exc:
            connect = isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout)
            raise TelegramUnavailable(
                f"Telegram did not answer {method} in time ({type(exc).__name__})"
                + ("" if connect else "; it may have been processed"),
                reached=not connect,
            ) from None
        except httpx.TransportError as exc:
            raise TelegramUnavailable(
                f"cannot reach Telegram at {self.api_base}: {type(exc).__name__}: {self._scrub(str(exc))}",
                reached=not isinstance(exc, httpx.ConnectError),
            ) from None
        return self._parse(method, params, response)

    def _parse(self, method: str, params: dict[str, Any], response: httpx.Response) -> Any:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            body = {}
        if response.status_code == 200 and body.get("ok") is True:
            return body.get("result")
        code = body.get("error_code")
        if not isinstance(code, int) or isinstance(code, bool):
            code = response.status_code
        description = self._scrub(str(body.get("description") or response.reason_phrase or "no description"))
        parameters = body.get("parameters")
        if not isinstance(parameters, dict):
            parameters = {}
        raise self._error_for(method, code, description, parameters, params.get("chat_id"))

    def _error_for(
        self, method: str, code: int, description: str, parameters: dict[str, Any], chat_id: object
    ) -> TelegramError:
        said = f"(Telegram: {code} {description})"
        if code == 401:
            return TelegramBadToken(
                f"Telegram rejected the bot token {said}: check the token @BotFather gave you",
                error_code=code,
            )
        if code == 404:
            return TelegramBadToken(
                f"Telegram does not know this bot or method {said}: the token is malformed or revoked, "
                "or TELEGRAM_API_BASE is wrong",
                error_code=code,
            )
        if code == 429:
            retry_after = _int_or_none(parameters.get("retry_after"))
            wait = f"retry after {retry_after} s" if retry_after is not None else "retry later"
            return TelegramRateLimited(
                f"Telegram rate limit on {method}: {wait} {said}", retry_after=retry_after, error_code=code
            )
        if code >= 500:
            return TelegramServerError(f"Telegram server error on {method} {said}", error_code=code)
        return _client_error(method, code, description, parameters, chat_id, said)

    def _scrub(self, text: str) -> str:
        return REDACTOR.redact(text.replace(self._token, "***"))


def _client_error(
    method: str, code: int, description: str, parameters: dict[str, Any], chat_id: object, said: str
) -> TelegramError:
    lowered = description.lower()
    if "chat not found" in lowered:
        return TelegramChatNotFound(
            f"chat {chat_id} not found {said}: the user must send /start to the bot first, or the bot "
            "must be added to the group or channel; check chat_id",
            error_code=code,
        )
    if parameters.get("migrate_to_chat_id") is not None:
        new_id = _int_or_none(parameters.get("migrate_to_chat_id"))
        return TelegramChatNotFound(
            f"the group became a supergroup {said}: set chat_id to {new_id}", error_code=code
        )
    if code == 403:
        return TelegramForbidden(
            f"Telegram refused to deliver to chat {chat_id} {said}: unblock the bot or add it to the chat",
            error_code=code,
        )
    if code == 409:
        return TelegramConflict(
            f"{method} conflict {said}: is another bot instance running?", error_code=code
        )
    return TelegramBadRequest(f"Telegram refused {method} {said}", error_code=code)


def _form_fields(params: dict[str, Any]) -> dict[str, str]:
    """Parameters as multipart form fields: text as is, anything else as JSON (true, 42, {...})."""
    return {name: value if isinstance(value, str) else json.dumps(value) for name, value in params.items()}


def _int_or_none(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def client_for(settings: Settings, token: str, **options: Any) -> TelegramClient:
    """A client for `token` at the configured `TELEGRAM_API_BASE`."""
    return TelegramClient(token, api_base=settings.telegram_api_base, **options)
