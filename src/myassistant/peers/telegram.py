"""A local Telegram Bot API peer: the methods myassistant uses, real answer shapes, injectable faults.

Speaks `/bot<token>/<method>` with parameters in the query string (GET) or a JSON or form body
(POST), like api.telegram.org, and answers `{"ok": true, "result": ...}` or
`{"ok": false, "error_code": ..., "description": ..., "parameters": {...}}`. Methods: getMe,
sendMessage (HTML parse mode checked as strictly as Telegram documents it), sendDocument (a
multipart upload; the peer keeps the file's name, bytes and caption), getUpdates (offset, long-poll
timeout, limit, allowed_updates, 409 when a second poller takes over), setMyCommands, getMyCommands.

Tests drive it in-process through `TelegramPeerState` (inject user messages, configure faults,
read what was sent); the CLI and the demo use the same controls under `/_peer/...`.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from myassistant.core import clock

DEFAULT_TOKEN = "123456789:AAHpeer-local-telegram-token-0000000000"  # noqa: S105 (a fake, public token)
DEFAULT_USERNAME = "myassistant_peer_bot"
MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_UPLOAD_BYTES = 50 * 1024 * 1024  # the Bot API's limit for sendDocument
POLL_STEP_S = 0.02
MAX_POLL_TIMEOUT_S = 50
FIRST_UPDATE_ID = 700_000_001

_ALLOWED_TAGS = frozenset(
    {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a", "code", "pre"}
    | {"blockquote", "tg-emoji"}
)
_TAG = re.compile(
    r"<(/?)([A-Za-z][A-Za-z0-9-]*)((?:\s+[A-Za-z-]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s>]+))?)*)\s*>"
)
_ENTITY = re.compile(r"&(#\d{1,7}|#x[0-9A-Fa-f]{1,6}|[A-Za-z]{2,8});")
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_COMMAND_NAME = re.compile(r"^[a-z0-9_]{1,32}$")
_CHANNEL = re.compile(r"^@[A-Za-z][A-Za-z0-9_]{4,31}$")


class ApiError(Exception):
    """An error answer of the Bot API."""

    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters


@dataclass(frozen=True)
class Fault:
    """How the next matching call answers instead of (or before) the normal answer.

    `status=None` only delays a normal answer (a slow server); `raw_body` sends a non-JSON body
    (like the HTML page a proxy shows on 502).
    """

    status: int | None = None
    description: str | None = None
    retry_after: int | None = None
    delay_s: float = 0.0
    raw_body: str | None = None


@dataclass(frozen=True)
class Call:
    method: str
    params: dict[str, Any]
    status: int
    at: float  # time.monotonic() when the answer was decided


@dataclass(frozen=True)
class SentMessage:
    message_id: int
    chat_id: int
    text: str  # as sent (HTML source when parse_mode is HTML)
    plain_text: str  # what the user sees
    parse_mode: str | None
    params: dict[str, Any]


@dataclass(frozen=True)
class Upload:
    """A file part of a multipart request."""

    file_name: str
    content_type: str
    content: bytes


@dataclass(frozen=True)
class SentDocument:
    message_id: int
    chat_id: int
    file_name: str
    mime_type: str
    content: bytes
    caption: str | None  # as sent (HTML source when parse_mode is HTML)
    plain_caption: str | None  # what the user sees
    parse_mode: str | None


_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


@dataclass
class _Store:
    chats: dict[int, dict[str, Any]] = field(default_factory=dict)
    usernames: dict[str, int] = field(default_factory=dict)
    sent: list[SentMessage] = field(default_factory=list)
    documents: list[SentDocument] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    faults: dict[str, deque[Fault]] = field(default_factory=dict)
    delays: dict[str, float] = field(default_factory=dict)
    commands: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    allowed_updates: list[str] | None = None
    poll_generation: int = 0
    next_update_id: int = 0
    next_message_id: int = 1


class TelegramPeerState:
    """Everything the peer knows; thread-safe, shared by the server thread and the test."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        username: str = DEFAULT_USERNAME,
        first_update_id: int = FIRST_UPDATE_ID,
    ) -> None:
        self.token = token
        self.username = username
        self.first_update_id = first_update_id
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._store = _Store(next_update_id=first_update_id)

    # -- controls --------------------------------------------------------------------------

    def reset(self, token: str | None = None) -> None:
        """Forget chats, messages, updates, faults and calls (and optionally change the token)."""
        with self._lock:
            self._store = _Store(next_update_id=self.first_update_id)
            if token is not None:
                self.token = token

    @property
    def bot_id(self) -> int:
        return int(self.token.split(":", 1)[0])

    def add_chat(
        self, chat_id: int, *, kind: str | None = None, title: str | None = None, username: str | None = None
    ) -> dict[str, Any]:
        """Make a chat known (the bot can write to it); groups have negative ids."""
        kind = kind or ("private" if chat_id > 0 else "supergroup")
        chat: dict[str, Any] = {"id": chat_id, "type": kind}
        if kind == "private":
            chat["first_name"] = title or f"User {chat_id}"
        else:
            chat["title"] = title or f"Chat {chat_id}"
        if username:
            chat["username"] = username.lstrip("@")
        with self._lock:
            self._store.chats[chat_id] = chat
            if username:
                self._store.usernames["@" + username.lstrip("@").lower()] = chat_id
        return chat

    def inject_message(
        self, chat_id: int, text: str, *, user_id: int | None = None, first_name: str = "Tester"
    ) -> dict[str, Any]:
        """A user writes `text` in `chat_id`; the update appears in getUpdates. Returns the update."""
        with self._lock:
            chat = self._store.chats.get(chat_id) or self.add_chat(chat_id)
            sender = {"id": user_id or abs(chat_id), "is_bot": False, "first_name": first_name}
            message: dict[str, Any] = {
                "message_id": self._take_message_id(),
                "from": sender,
                "chat": chat,
                "date": int(clock.now().timestamp()),
                "text": text,
            }
            command = re.match(r"/[A-Za-z0-9_]+(?:@[A-Za-z0-9_]+)?", text)
            if command:
                message["entities"] = [{"offset": 0, "length": len(command.group(0)), "type": "bot_command"}]
            return self.inject_update("message", message)

    def inject_update(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Queue an update of any kind (message, edited_message, callback_query, ...)."""
        with self._changed:
            update = {"update_id": self._store.next_update_id, kind: payload}
            self._store.next_update_id += 1
            self._store.updates.append(update)
            self._changed.notify_all()
            return update

    def fail_next(
        self,
        method: str,
        status: int | None,
        *,
        times: int = 1,
        description: str | None = None,
        retry_after: int | None = None,
        delay_s: float = 0.0,
        raw_body: str | None = None,
    ) -> None:
        """The next `times` calls of `method` ("*" = any) answer `status` (None = only `delay_s` late)."""
        fault = Fault(status, description, retry_after, delay_s, raw_body)
        with self._lock:
            self._store.faults.setdefault(method.lower(), deque()).extend([fault] * times)

    def slow_down(self, method: str, seconds: float) -> None:
        """Every call of `method` ("*" = any) answers `seconds` late until reset (0 = normal)."""
        with self._lock:
            self._store.delays[method.lower()] = seconds

    # -- observations ----------------------------------------------------------------------

    def messages(self, chat_id: int | None = None) -> list[SentMessage]:
        with self._lock:
            return [m for m in self._store.sent if chat_id is None or m.chat_id == chat_id]

    def documents(self, chat_id: int | None = None) -> list[SentDocument]:
        """Files received through sendDocument, in order."""
        with self._lock:
            return [d for d in self._store.documents if chat_id is None or d.chat_id == chat_id]

    def calls(self, method: str | None = None) -> list[Call]:
        with self._lock:
            return [c for c in self._store.calls if method is None or c.method == method.lower()]

    def pending_updates(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._store.updates)

    @property
    def polls_started(self) -> int:
        with self._lock:
            return self._store.poll_generation

    def commands(self, language_code: str = "") -> list[dict[str, str]]:
        with self._lock:
            return list(self._store.commands.get(language_code, []))

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
        """Wait until `predicate()` holds (checked whenever the peer changes); False on timeout."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(min(remaining, 0.1))
            return True

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "token_bot_id": self.bot_id,
                "username": self.username,
                "sent": [asdict(m) for m in self._store.sent],
                "documents": [
                    {
                        "message_id": d.message_id,
                        "chat_id": d.chat_id,
                        "file_name": d.file_name,
                        "mime_type": d.mime_type,
                        "size": len(d.content),
                        "caption": d.caption,
                    }
                    for d in self._store.documents
                ],
                "pending_updates": list(self._store.updates),
                "calls": [{"method": c.method, "status": c.status} for c in self._store.calls],
                "commands": dict(self._store.commands),
                "chats": list(self._store.chats.values()),
            }

    # -- used by the app -------------------------------------------------------------------

    def _take_message_id(self) -> int:
        message_id = self._store.next_message_id
        self._store.next_message_id += 1
        return message_id

    def take_fault(self, method: str) -> tuple[Fault | None, float]:
        """The fault for this call (consumed) and the standing delay."""
        with self._lock:
            fault = None
            for key in (method, "*"):
                queue = self._store.faults.get(key)
                if queue:
                    fault = queue.popleft()
                    break
            delay = self._store.delays.get(method, self._store.delays.get("*", 0.0))
            return fault, delay

    def record_call(self, method: str, params: dict[str, Any], status: int) -> None:
        with self._changed:
            self._store.calls.append(Call(method, params, status, time.monotonic()))
            self._changed.notify_all()

    def resolve_chat(self, raw: object) -> dict[str, Any]:
        with self._lock:
            if isinstance(raw, str) and _CHANNEL.fullmatch(raw.strip()):
                chat_id = self._store.usernames.get(raw.strip().lower())
            else:
                chat_id = _as_int(raw, "chat_id") if raw not in (None, "") else None
                if chat_id is None:
                    raise ApiError(400, "Bad Request: chat_id is empty")
            chat = self._store.chats.get(chat_id) if chat_id is not None else None
            if chat is None:
                raise ApiError(400, "Bad Request: chat not found")
            return chat

    def deliver(
        self, chat: dict[str, Any], text: str, plain: str, parse_mode: str | None, params: dict[str, Any]
    ) -> dict[str, Any]:
        with self._changed:
            message_id = self._take_message_id()
            self._store.sent.append(SentMessage(message_id, chat["id"], text, plain, parse_mode, params))
            self._changed.notify_all()
        return {
            "message_id": message_id,
            "from": self.bot_user(),
            "chat": chat,
            "date": int(clock.now().timestamp()),
            "text": plain,
        }

    def deliver_document(
        self,
        chat: dict[str, Any],
        upload: Upload,
        caption: str | None,
        plain: str | None,
        parse_mode: str | None,
    ) -> dict[str, Any]:
        with self._changed:
            message_id = self._take_message_id()
            document = SentDocument(
                message_id,
                chat["id"],
                upload.file_name,
                upload.content_type,
                upload.content,
                caption,
                plain,
                parse_mode,
            )
            self._store.documents.append(document)
            self._changed.notify_all()
        answer: dict[str, Any] = {
            "message_id": message_id,
            "from": self.bot_user(),
            "chat": chat,
            "date": int(clock.now().timestamp()),
            "document": {
                "file_name": upload.file_name,
                "mime_type": upload.content_type,
                "file_id": f"peer-file-{message_id}",
                "file_unique_id": f"peer-{message_id}",
                "file_size": len(upload.content),
            },
        }
        if plain is not None:
            answer["caption"] = plain
        return answer

    def bot_user(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "myassistant peer",
            "username": self.username,
        }

    def start_poll(self, offset: int | None, allowed_updates: list[str] | None) -> int:
        """Confirm updates before `offset`, remember the filter; returns this poll's generation."""
        with self._changed:
            store = self._store
            if allowed_updates is not None:
                store.allowed_updates = allowed_updates or None
            if offset is not None and offset < 0:
                store.updates = store.updates[offset:]
            elif offset:
                store.updates = [u for u in store.updates if u["update_id"] >= offset]
            store.poll_generation += 1
            self._changed.notify_all()
            return store.poll_generation

    def poll(self, generation: int, limit: int) -> list[dict[str, Any]]:
        with self._lock:
            if generation != self._store.poll_generation:
                raise ApiError(409, _DEFAULT_DESCRIPTIONS[409])
            allowed = self._store.allowed_updates
            matching = [u for u in self._store.updates if allowed is None or _update_kind(u) in allowed]
            return matching[:limit]

    def set_commands(self, commands: list[dict[str, str]], language_code: str) -> None:
        with self._lock:
            self._store.commands[language_code] = commands


def _update_kind(update: dict[str, Any]) -> str:
    return next(key for key in update if key != "update_id")


def _as_int(value: object, name: str) -> int:
    if isinstance(value, bool):
        raise ApiError(400, f"Bad Request: wrong parameter {name}")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d{1,20}", value.strip()):
        return int(value)
    raise ApiError(400, f"Bad Request: wrong parameter {name}")


def _optional_int(params: dict[str, Any], name: str, default: int | None = None) -> int | None:
    value = params.get(name)
    return default if value in (None, "") else _as_int(value, name)


def _json_param(params: dict[str, Any], name: str) -> Any:
    """Arrays arrive as JSON text in query strings and forms, as arrays in JSON bodies."""
    value = params.get(name)
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            raise ApiError(400, f"Bad Request: can't parse {name} JSON object") from None
    return value


def _parse_error(problem: str) -> ApiError:
    return ApiError(400, f"Bad Request: can't parse entities: {problem}")


def parse_html(text: str) -> str:
    """The text a user sees; ApiError for markup Telegram refuses (unknown tag, unescaped <, >, &)."""
    out: list[str] = []
    stack: list[str] = []
    pos = 0
    while pos < len(text):
        char = text[pos]
        offset = _ByteOffset(text, pos)
        if char == "<":
            match = _TAG.match(text, pos)
            if match is None:
                raise _parse_error(f"Unexpected '<' at byte offset {offset}")
            closing, name = match.group(1), match.group(2).lower()
            if name not in _ALLOWED_TAGS:
                raise _parse_error(f'Unsupported start tag "{name}" at byte offset {offset}')
            if not closing:
                stack.append(name)
            elif not stack or stack.pop() != name:
                raise _parse_error(f'Unmatched end tag at byte offset {offset}, "</{name}>"')
            pos = match.end()
        elif char == "&":
            match = _ENTITY.match(text, pos)
            out.append(_entity_text(match, offset))
            pos = match.end() if match else pos + 1
        elif char == ">":
            raise _parse_error(f"Unexpected '>' at byte offset {offset}")
        else:
            out.append(char)
            pos += 1
    if stack:
        raise _parse_error(f'Can\'t find end tag corresponding to start tag "{stack[-1]}"')
    return "".join(out)


class _ByteOffset:
    """The UTF-8 offset Telegram reports, computed only when an error message needs it."""

    def __init__(self, text: str, pos: int) -> None:
        self.text, self.pos = text, pos

    def __str__(self) -> str:
        return str(len(self.text[: self.pos].encode()))


def _entity_text(match: re.Match[str] | None, offset: _ByteOffset) -> str:
    if match is None:
        raise _parse_error(f"Unescaped '&' at byte offset {offset}")
    name = match.group(1)
    if name.startswith("#"):
        code = int(name[2:], 16) if name.startswith("#x") else int(name[1:])
        if code > 0x10FFFF:
            raise _parse_error(f"Invalid character reference at byte offset {offset}")
        return chr(code)
    if name in _NAMED_ENTITIES:
        return _NAMED_ENTITIES[name]
    raise _parse_error(f'Unsupported HTML entity "&{name};" at byte offset {offset}')


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


# -- methods -------------------------------------------------------------------------------


async def _get_me(state: TelegramPeerState, _params: dict[str, Any], _request: Request) -> Any:
    return state.bot_user() | {
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": False,
    }


async def _send_message(state: TelegramPeerState, params: dict[str, Any], _request: Request) -> Any:
    chat = state.resolve_chat(params.get("chat_id"))
    text = params.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ApiError(400, "Bad Request: message text is empty")
    parse_mode = params.get("parse_mode") or None
    if parse_mode not in (None, "HTML", "MarkdownV2", "Markdown"):
        raise ApiError(400, "Bad Request: unsupported parse_mode")
    plain = parse_html(text) if parse_mode == "HTML" else text
    if utf16_length(plain) > MAX_TEXT_LENGTH:
        raise ApiError(400, "Bad Request: message is too long")
    return state.deliver(chat, text, plain, parse_mode, params)


async def _send_document(state: TelegramPeerState, params: dict[str, Any], _request: Request) -> Any:
    chat = state.resolve_chat(params.get("chat_id"))
    upload = params.get("document")
    if not isinstance(upload, Upload):
        # Telegram also takes a file_id or a URL here; myassistant always uploads, and so does this peer.
        raise ApiError(400, "Bad Request: there is no document in the request")
    if not upload.content:
        raise ApiError(400, "Bad Request: file must be non-empty")
    if len(upload.content) > MAX_UPLOAD_BYTES:
        raise ApiError(413, "Request Entity Too Large")
    caption = params.get("caption") or None
    parse_mode = params.get("parse_mode") or None
    if parse_mode not in (None, "HTML", "MarkdownV2", "Markdown"):
        raise ApiError(400, "Bad Request: unsupported parse_mode")
    plain = None
    if caption is not None:
        plain = parse_html(str(caption)) if parse_mode == "HTML" else str(caption)
        if utf16_length(plain) > MAX_CAPTION_LENGTH:
            raise ApiError(400, "Bad Request: message caption is too long")
    return state.deliver_document(chat, upload, caption, plain, parse_mode)


async def _get_updates(state: TelegramPeerState, params: dict[str, Any], request: Request) -> Any:
    offset = _optional_int(params, "offset")
    limit = min(max(_optional_int(params, "limit", 100) or 100, 1), 100)
    timeout = min(max(_optional_int(params, "timeout", 0) or 0, 0), MAX_POLL_TIMEOUT_S)
    allowed = _json_param(params, "allowed_updates")
    if allowed is not None and not (isinstance(allowed, list) and all(isinstance(a, str) for a in allowed)):
        raise ApiError(400, "Bad Request: wrong parameter allowed_updates")
    generation = state.start_poll(offset, allowed)
    deadline = time.monotonic() + timeout
    while True:
        updates = state.poll(generation, limit)
        if updates or time.monotonic() >= deadline:
            return updates
        if await request.is_disconnected():  # the poller went away: stop holding the connection
            return []
        await asyncio.sleep(POLL_STEP_S)


async def _set_my_commands(state: TelegramPeerState, params: dict[str, Any], _request: Request) -> Any:
    commands = _json_param(params, "commands")
    if not isinstance(commands, list) or len(commands) > 100:
        raise ApiError(400, "Bad Request: wrong parameter commands")
    cleaned = []
    for item in commands:
        if not isinstance(item, dict) or not _COMMAND_NAME.fullmatch(str(item.get("command", ""))):
            raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
        description = item.get("description")
        if not isinstance(description, str) or not 1 <= len(description) <= 256:
            raise ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        cleaned.append({"command": item["command"], "description": description})
    state.set_commands(cleaned, str(params.get("language_code") or ""))
    return True


async def _get_my_commands(state: TelegramPeerState, params: dict[str, Any], _request: Request) -> Any:
    return state.commands(str(params.get("language_code") or ""))


Method = Callable[[TelegramPeerState, dict[str, Any], Request], Any]
METHODS: dict[str, Method] = {
    "getme": _get_me,
    "sendmessage": _send_message,
    "senddocument": _send_document,
    "getupdates": _get_updates,
    "setmycommands": _set_my_commands,
    "getmycommands": _get_my_commands,
}


# -- HTTP ----------------------------------------------------------------------------------


def _error(
    code: int, description: str | None = None, parameters: dict[str, Any] | None = None
) -> JSONResponse:
    body: dict[str, Any] = {
        "ok": False,
        "error_code": code,
        "description": description or _DEFAULT_DESCRIPTIONS.get(code, "Error"),
    }
    if parameters:
        body["parameters"] = parameters
    return JSONResponse(body, status_code=code)


def _fault_response(fault: Fault) -> Response:
    status = fault.status or 500
    if fault.raw_body is not None:
        return PlainTextResponse(fault.raw_body, status_code=status, media_type="text/html")
    description = fault.description
    parameters = None
    if status == 429:
        retry_after = fault.retry_after if fault.retry_after is not None else 1
        description = description or f"Too Many Requests: retry after {retry_after}"
        parameters = {"retry_after": retry_after}
    return _error(status, description, parameters)


async def _read_params(request: Request) -> dict[str, Any]:
    params: dict[str, Any] = dict(request.query_params)
    if request.method != "POST":
        return params
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await request.body()
    if not body:
        return params
    if content_type == "application/json":
        try:
            data = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ApiError(400, "Bad Request: can't parse JSON object") from None
        if not isinstance(data, dict):
            raise ApiError(400, "Bad Request: can't parse JSON object")
        params.update(data)
    elif content_type == "application/x-www-form-urlencoded":
        params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    elif content_type == "multipart/form-data":
        params.update(await _multipart(request))
    else:
        raise ApiError(400, f"Bad Request: unsupported content type {content_type or 'none'} (local peer)")
    return params


async def _multipart(request: Request) -> dict[str, Any]:
    """A multipart body's fields: text as text, each file part as an `Upload`."""
    try:
        form = await request.form()
    except Exception:  # python-multipart's own parse errors: Telegram answers a plain 400 too
        raise ApiError(400, "Bad Request: can't parse multipart form") from None
    fields: dict[str, Any] = {}
    try:
        for name, value in form.multi_items():
            if isinstance(value, str):
                fields[name] = value
            else:
                fields[name] = Upload(
                    file_name=value.filename or name,
                    content_type=value.content_type or "application/octet-stream",
                    content=await value.read(),
                )
    finally:
        await form.close()
    return fields


async def _bot_method(request: Request) -> Response:
    state: TelegramPeerState = request.app.state.peer
    method = str(request.path_params["method"]).lower()
    response: Response
    try:
        params = await _read_params(request)
    except ApiError as exc:
        params, status, response = {}, exc.code, _error(exc.code, exc.description)
    else:
        status, response = await _answer(state, request, method, params)
    state.record_call(method, params, status)
    return response


async def _answer(
    state: TelegramPeerState, request: Request, method: str, params: dict[str, Any]
) -> tuple[int, Response]:
    if request.path_params["token"] != state.token:
        return 401, _error(401)
    fault, delay = state.take_fault(method)
    wait = delay + (fault.delay_s if fault else 0.0)
    if wait:
        await asyncio.sleep(wait)
    if fault is not None and fault.status is not None:
        return fault.status, _fault_response(fault)
    handler = METHODS.get(method)
    if handler is None:
        return 404, _error(404)
    try:
        result = await handler(state, params, request)
    except ApiError as exc:
        return exc.code, _error(exc.code, exc.description, exc.parameters)
    return 200, JSONResponse({"ok": True, "result": result})


# -- control surface for the CLI and the demo ------------------------------------------------


async def _control_body(request: Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        data = None
    if not isinstance(data, dict):
        raise ApiError(400, "send a JSON object")
    return data


async def _control(request: Request) -> Response:
    state: TelegramPeerState = request.app.state.peer
    action = request.path_params["action"]
    try:
        if request.method == "GET" and action == "state":
            return JSONResponse(state.snapshot())
        if request.method != "POST":
            return _error(405, "Method Not Allowed")
        return JSONResponse(_apply_control(state, action, await _control_body(request)))
    except ApiError as exc:
        return _error(exc.code, exc.description)
    except (TypeError, ValueError) as exc:
        return _error(400, f"bad control request: {exc}")


def _apply_control(state: TelegramPeerState, action: str, data: dict[str, Any]) -> dict[str, Any]:
    if action == "inject":
        return state.inject_message(_as_int(data.get("chat_id"), "chat_id"), str(data.get("text", "")))
    if action == "chats":
        return state.add_chat(
            _as_int(data.get("chat_id"), "chat_id"), title=data.get("title"), username=data.get("username")
        )
    if action == "faults":
        state.fail_next(
            str(data["method"]),
            data.get("status"),
            times=int(data.get("times", 1)),
            description=data.get("description"),
            retry_after=data.get("retry_after"),
            delay_s=float(data.get("delay_s", 0.0)),
        )
        return {"ok": True}
    if action == "reset":
        state.reset(data.get("token"))
        return {"ok": True}
    raise ApiError(404, f"unknown control {action!r}: use state, inject, chats, faults or reset")


def create_app(state: TelegramPeerState | None = None) -> Starlette:
    """The peer's ASGI app; `app.state.peer` is its `TelegramPeerState`."""
    app = Starlette(
        routes=[
            Route("/bot{token}/{method}", _bot_method, methods=["GET", "POST"]),
            Route("/_peer/{action}", _control, methods=["GET", "POST"]),
        ]
    )
    app.state.peer = state or TelegramPeerState()
    return app
