"""Bearer-token guard applied to the whole app: every non-GET route needs the token when one is set."""

from __future__ import annotations

import secrets

from fastapi import HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from myassistant.api.deps import SAFE_METHODS

bearer_scheme = HTTPBearer(auto_error=False, description="API_TOKEN, required on mutating routes when set")


async def require_token_for_mutations(request: Request) -> None:
    """401 unless the request is safe, no token is configured, or the bearer token matches."""
    if request.method in SAFE_METHODS:
        return
    expected = request.app.state.settings.api_token
    if expected is None:
        return
    credentials: HTTPAuthorizationCredentials | None = await bearer_scheme(request)
    supplied = credentials.credentials if credentials else ""
    if not secrets.compare_digest(supplied.encode(), expected.get_secret_value().encode()):
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail="missing or invalid API token: send 'Authorization: Bearer <API_TOKEN>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
