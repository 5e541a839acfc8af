"""The one factory for HTTP clients: explicit timeouts, limits and a product User-Agent."""

from __future__ import annotations

import functools
import ssl

import httpx

USER_AGENT = "myassistant/0.1 (+self-hosted crypto research assistant)"
DEFAULT_TIMEOUT_S = 10.0


@functools.cache
def tls_context() -> ssl.SSLContext:
    """httpx's default verifying context, built once: loading the CA bundle costs ~40 ms a client."""
    return httpx.create_ssl_context()


def timeout(seconds: float = DEFAULT_TIMEOUT_S, *, connect: float | None = None) -> httpx.Timeout:
    return httpx.Timeout(seconds, connect=connect if connect is not None else min(seconds, 5.0))


def async_client(
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    max_connections: int = 20,
    follow_redirects: bool = True,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        timeout=timeout(timeout_s),
        limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
        follow_redirects=follow_redirects,
        max_redirects=5,
        headers={"User-Agent": USER_AGENT},
        transport=transport,
        verify=tls_context(),
    )


def client(
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    follow_redirects: bool = True,
    transport: httpx.BaseTransport | None = None,
) -> httpx.Client:
    return httpx.Client(
        timeout=timeout(timeout_s),
        follow_redirects=follow_redirects,
        max_redirects=5,
        headers={"User-Agent": USER_AGENT},
        transport=transport,
        verify=tls_context(),
    )
