"""The dashboard's only way to the service: its HTTP API over httpx, with timeouts, the bearer token,
and reads cached for a few seconds so a page's reruns (every click) do not repeat them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
import streamlit as st

from myassistant.dashboard.connection import Connection

CACHE_TTL_S = 3.0
CONNECT_TIMEOUT_S = 3.0
READ_TIMEOUT_S = 60.0  # a mutation can train or fetch; jobs are started in the background instead

Params = Mapping[str, str | int | float | bool | None]


class ApiError(Exception):
    """The API answered an error: `status` and its `detail` (the JSON `detail`, or the body)."""

    def __init__(self, status: int, detail: str, *, method: str, path: str, body: Mapping[str, Any]) -> None:
        super().__init__(f"{method} {path}: {status} {detail}")
        self.status = status
        self.detail = detail
        self.method = method
        self.path = path
        self.body = dict(body)


class ApiUnreachable(Exception):
    """Nothing answers at `url` (refused, unknown host, connect timeout)."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason


class Unauthorized(ApiError):
    """401: the service wants `Authorization: Bearer <API_TOKEN>` and ours is missing or wrong."""


@st.cache_resource(show_spinner=False)
def _http(base_url: str, token: str | None) -> httpx.Client:
    """One pooled client per service and token, shared by every session of this dashboard."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    timeout = httpx.Timeout(READ_TIMEOUT_S, connect=CONNECT_TIMEOUT_S)
    return httpx.Client(base_url=base_url, headers=headers, timeout=timeout, trust_env=False)


def _send(
    connection: Connection,
    method: str,
    path: str,
    *,
    params: Params | None = None,
    body: Any = None,
    text: bool = False,
) -> Any:
    """The answer's JSON (None when empty), or its text with `text` (an HTML report)."""
    client = _http(connection.base_url, connection.token)
    query = {key: value for key, value in (params or {}).items() if value is not None and value != ""}
    try:
        response = client.request(method, path, params=query, json=body)
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
        raise ApiUnreachable(connection.base_url, str(exc) or type(exc).__name__) from None
    except httpx.TimeoutException:
        raise ApiError(
            504, f"no answer within {READ_TIMEOUT_S:.0f} s", method=method, path=path, body={}
        ) from None
    except httpx.TransportError as exc:
        raise ApiUnreachable(connection.base_url, str(exc) or type(exc).__name__) from None
    if response.status_code >= 400:
        raise _error(response, method, path)
    if text:
        return response.text
    if response.status_code == 204 or not response.content:
        return None
    return response.json()


def _error(response: httpx.Response, method: str, path: str) -> ApiError:
    try:
        body = response.json()
    except ValueError:
        body = {"detail": response.text[:500] or response.reason_phrase}
    if not isinstance(body, dict):
        body = {"detail": str(body)[:500]}
    detail = body.get("detail", response.reason_phrase)
    if not isinstance(detail, str):
        detail = "; ".join(
            str(item.get("msg", item)) if isinstance(item, dict) else str(item) for item in detail
        )
    kind = Unauthorized if response.status_code == 401 else ApiError
    return kind(response.status_code, detail, method=method, path=path, body=body)


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False, max_entries=512)
def _cached_get(
    connection: Connection, path: str, params: tuple[tuple[str, Any], ...], text: bool = False
) -> Any:
    # Errors raise, and Streamlit never caches an exception: the next rerun asks again.
    return _send(connection, "GET", path, params=dict(params), text=text)


class Api:
    """What a page calls: `get` (cached CACHE_TTL_S unless `fresh`), `get_text`, `post`, `delete`."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    @property
    def base_url(self) -> str:
        return self.connection.base_url

    def get(self, path: str, params: Params | None = None, *, fresh: bool = False) -> Any:
        if fresh:
            return _send(self.connection, "GET", path, params=params)
        return _cached_get(self.connection, path, tuple(sorted((params or {}).items())))

    def get_text(self, path: str, params: Params | None = None) -> str:
        """A read that answers text, not JSON (a report's HTML); cached like `get`."""
        answer: str = _cached_get(self.connection, path, tuple(sorted((params or {}).items())), text=True)
        return answer

    def forget_reads(self) -> None:
        """Drop every cached read, so the next ones ask the service (a run that just ended)."""
        _cached_get.clear()

    def post(self, path: str, body: Any = None) -> Any:
        """A change: sent now, and every cached read dropped so pages show its effect at once."""
        try:
            return _send(self.connection, "POST", path, body=body)
        finally:
            _cached_get.clear()

    def delete(self, path: str) -> Any:
        try:
            return _send(self.connection, "DELETE", path)
        finally:
            _cached_get.clear()
