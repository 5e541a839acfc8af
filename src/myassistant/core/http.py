"""The one factory for HTTP clients: explicit timeouts, limits and a product User-Agent."""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import socket
import ssl
from collections.abc import Awaitable, Callable

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
    public_only: bool = False,
) -> httpx.AsyncClient:
    """An async client; `public_only` refuses hosts that resolve to non-public addresses (see below)."""
    limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
    if public_only:
        inner = transport or httpx.AsyncHTTPTransport(verify=tls_context(), limits=limits, trust_env=False)
        transport = PublicAddressesOnly(inner)
    return httpx.AsyncClient(
        timeout=timeout(timeout_s),
        limits=limits,
        follow_redirects=follow_redirects,
        max_redirects=5,
        headers={"User-Agent": USER_AGENT},
        transport=transport,
        verify=tls_context(),
        # A proxy from the environment would resolve the names itself, past the public-address check.
        trust_env=not public_only,
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


# ---------------------------------------------------------------- public addresses only

Resolver = Callable[[str, int], Awaitable[list[str]]]


class NonPublicAddress(httpx.TransportError):
    """The host resolves to an address that is not on the public internet; nothing was sent."""


def is_public_address(address: str) -> bool:
    """True for a globally routable unicast address (not loopback, private, link-local, reserved, ...)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 zone (fe80::1%eth0) is link-local anyway
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


async def resolve_host(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (an IP literal resolves to itself)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


class PublicAddressesOnly(httpx.AsyncBaseTransport):
    """Sends a request (and each redirect) only to a public address, and to the very address checked.

    The host is resolved here and every address it resolves to must be public; the request then goes
    to that address (Host header and TLS server name unchanged), so a second lookup cannot rebind the
    name to an internal address between the check and the connection.
    """

    def __init__(self, inner: httpx.AsyncBaseTransport, *, resolve: Resolver = resolve_host) -> None:
        self.inner = inner
        self.resolve = resolve

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        port = request.url.port or (443 if request.url.scheme == "https" else 80)
        try:
            addresses = await self.resolve(host, port)
        except OSError:
            raise httpx.ConnectError(f"could not resolve {host}", request=request) from None
        if not addresses or not all(is_public_address(address) for address in addresses):
            raise NonPublicAddress(f"{host} is not a public address", request=request)
        pinned = httpx.Request(
            request.method,
            request.url.copy_with(host=addresses[0]),
            headers=request.headers,  # keeps Host: the name, not the address
            stream=request.stream,
            extensions={**request.extensions, "sni_hostname": host},
        )
        return await self.inner.handle_async_request(pinned)

    async def aclose(self) -> None:
        await self.inner.aclose()
