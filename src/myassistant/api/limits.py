"""Bounds on the work one request can cause: body bytes (middleware) and JSON values (guards.py).

The byte limit is enforced as the body arrives: a declared `Content-Length` over the limit is
refused before a byte is read, and a body without one (chunked) is cut off as soon as the bytes
received pass the limit, so an oversized body is never held whole.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class _BodyTooLarge(Exception):
    pass


def too_large_detail(max_bytes: int) -> str:
    return f"request body too large: more than {max_bytes} bytes (MAX_BODY_BYTES)"


def _declared_length(scope: Scope) -> int | None:
    value = Headers(scope=scope).get("content-length")
    return int(value) if value is not None and value.strip().isdigit() else None


class BodySizeLimitMiddleware:
    """413 for a request body of more than `max_bytes`, refused up front or while it streams in."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = JSONResponse({"detail": too_large_detail(self.max_bytes)}, status_code=413)
        await response(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _declared_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        received = 0
        exceeded = False
        started = False

        async def receive_limited() -> Message:
            nonlocal received, exceeded
            if exceeded:
                raise _BodyTooLarge
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    exceeded = True
                    raise _BodyTooLarge
            return message

        async def send_unless_exceeded(message: Message) -> None:
            nonlocal started
            if exceeded:  # whatever the app answers to a cut-off body, the answer is 413
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive_limited, send_unless_exceeded)
        except _BodyTooLarge:
            if started:
                raise
        if exceeded and not started:
            await self._refuse(scope, receive, send)
