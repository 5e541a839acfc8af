"""Bearer-token guard for the whole app: every non-GET request needs the token when one is set.

It is ASGI middleware, not a route dependency, so the token is checked before anything reads or
parses the body: a caller without it learns nothing about the body it sent (and sends 50 MB for
nothing), whatever the route.
"""

from __future__ import annotations

import secrets

from pydantic import SecretStr
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from myassistant.api.deps import SAFE_METHODS

BEARER_SCHEME = "HTTPBearer"
UNAUTHORIZED_DETAIL = "missing or invalid API token: send 'Authorization: Bearer <API_TOKEN>'"


def bearer_credentials(authorization: str | None) -> str:
    """The token of an `Authorization: Bearer <token>` header; empty for anything else."""
    scheme, _, credentials = (authorization or "").strip().partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" else ""


class BearerTokenMiddleware:
    """401 for a mutating request unless no token is configured or the bearer token matches."""

    def __init__(self, app: ASGIApp, *, token: SecretStr | None) -> None:
        self.app = app
        self.expected = token.get_secret_value().encode() if token is not None else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.expected is not None and scope["method"] not in SAFE_METHODS:
            supplied = bearer_credentials(Headers(scope=scope).get("authorization")).encode()
            if not secrets.compare_digest(supplied, self.expected):
                response = JSONResponse(
                    {"detail": UNAUTHORIZED_DETAIL}, status_code=401, headers={"WWW-Authenticate": "Bearer"}
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
