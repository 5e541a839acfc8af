"""POST /news/fetch reaches only public addresses unless NEWS_ALLOW_PRIVATE_HOSTS, and never echoes
what a foreign server answered."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from myassistant.api.app import create_app
from myassistant.core.http import NonPublicAddress, PublicAddressesOnly, is_public_address


class RawServer:
    """A TCP server on a free loopback port that counts connections and answers `reply` to each."""

    def __init__(self, reply: bytes) -> None:
        self.reply = reply
        self.connections = 0
        self._socket = socket.create_server(("127.0.0.1", 0))
        self._socket.settimeout(0.1)
        self.port = self._socket.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._socket.accept()
            except TimeoutError:
                continue
            self.connections += 1
            with connection:
                connection.settimeout(1.0)
                try:
                    connection.recv(65536)
                    connection.sendall(self.reply)
                except OSError:
                    pass

    def __enter__(self) -> RawServer:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self._socket.close()


@pytest.fixture
def banner_server() -> Iterator[RawServer]:
    """Something that is not an HTTP server (a database, say) and greets with a secret banner."""
    with RawServer(b"SECRET-BANNER db=prod user=admin\r\n\r\n") as server:
        yield server


def _fetch(make_settings, database, feeds: list[str], **settings: object) -> dict:
    app = create_app(make_settings(**settings), database=database)
    with TestClient(app) as client:
        response = client.post("/news/fetch", json={"feeds": feeds})
    assert response.status_code == 200, response.text
    return response.json()


def test_loopback_feeds_are_refused_without_contacting_them(make_settings, database, banner_server) -> None:
    port = banner_server.port
    feeds = [f"http://127.0.0.1:{port}/a.rss", f"http://localhost:{port}/b.rss", f"http://127.1:{port}/c"]
    report = _fetch(make_settings, database, feeds, news_allow_private_hosts=False)
    assert [feed["status"] for feed in report["feeds"]] == ["error"] * 3
    for feed in report["feeds"]:
        assert "not a public address" in feed["error"] and "NEWS_ALLOW_PRIVATE_HOSTS" in feed["error"]
    assert banner_server.connections == 0


def test_the_setting_lets_a_loopback_feed_through(make_settings, database, news_peer_urls) -> None:
    report = _fetch(make_settings, database, news_peer_urls.good()[:1], news_allow_private_hosts=True)
    assert report["feeds"][0]["status"] == "ok" and report["new"] > 0


def test_a_foreign_servers_answer_is_never_echoed(make_settings, database, banner_server) -> None:
    with RawServer(b"HTTP/1.1 500 SECRET-REASON\r\nContent-Length: 0\r\nConnection: close\r\n\r\n") as server:
        feeds = [f"http://127.0.0.1:{banner_server.port}/", f"http://127.0.0.1:{server.port}/"]
        report = _fetch(make_settings, database, feeds, news_allow_private_hosts=True)
    errors = [feed["error"] for feed in report["feeds"]]
    assert banner_server.connections >= 1 and server.connections >= 1
    assert errors == ["the server's answer is not valid HTTP", "HTTP 500 Internal Server Error"]


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1",
        "fe80::1%eth0",
        "fc00::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "ff02::1",
    ],
)
def test_non_public_addresses(address: str) -> None:
    assert not is_public_address(address)


@pytest.mark.parametrize("address", ["1.1.1.1", "93.184.216.34", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses(address: str) -> None:
    assert is_public_address(address)


def _guarded_client(names: dict[str, str], seen: list[httpx.Request], answer) -> httpx.AsyncClient:
    """A client whose names resolve through `names` and whose wire is a recording mock (no traffic)."""

    async def resolve(host: str, _port: int) -> list[str]:
        return [names.get(host, host)]

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer(request)

    guard = PublicAddressesOnly(httpx.MockTransport(handler), resolve=resolve)
    return httpx.AsyncClient(transport=guard, follow_redirects=True)


def test_the_request_goes_to_the_checked_address_with_the_name_kept() -> None:
    seen: list[httpx.Request] = []

    async def main() -> httpx.Response:
        names = {"feeds.example": "93.184.216.34"}
        async with _guarded_client(names, seen, lambda _r: httpx.Response(200, text="ok")) as client:
            return await client.get("https://feeds.example/rss")

    response = asyncio.run(main())
    assert response.status_code == 200 and response.request.url.host == "feeds.example"
    (sent,) = seen
    assert sent.url.host == "93.184.216.34" and sent.headers["host"] == "feeds.example"
    assert sent.extensions["sni_hostname"] == "feeds.example"


def test_a_redirect_to_an_internal_name_is_refused_before_it_is_sent() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"Location": "http://intranet.example/admin"})

    async def main() -> None:
        names = {"feeds.example": "93.184.216.34", "intranet.example": "10.0.0.5"}
        async with _guarded_client(names, seen, answer) as client:
            await client.get("http://feeds.example/rss")

    with pytest.raises(NonPublicAddress, match="intranet.example is not a public address"):
        asyncio.run(main())
    assert [request.url.host for request in seen] == ["93.184.216.34"]
