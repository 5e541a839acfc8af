"""The ccxt adapter against the peer: URL override, shared markets, retries, error mapping."""

from __future__ import annotations

import threading

import ccxt
import pytest

from myassistant.core.errors import InvalidInput, UpstreamUnavailable
from myassistant.core.retry import retry_after_seconds
from myassistant.market.exchange import CLIENTS, build_client, rewrite_urls


@pytest.fixture
def sleeps():
    """Record the waits the adapter asks for instead of sleeping."""
    recorded: list[float] = []
    previous, CLIENTS.sleep = CLIENTS.sleep, recorded.append
    yield recorded
    CLIENTS.sleep = previous


def test_override_rewrites_every_api_url_and_keeps_its_path() -> None:
    client = build_client("binance", override="http://127.0.0.1:9/", timeout_s=1)
    api = client.urls["api"]
    assert api["public"] == "http://127.0.0.1:9/api/v3"
    assert api["fapiPublic"] == "http://127.0.0.1:9/fapi/v1"
    assert all(url.startswith("http://127.0.0.1:9/") for url in api.values())
    assert rewrite_urls({"a": {"b": "https://x.example/p/q"}, "n": 1}, "http://h:1") == {
        "a": {"b": "http://h:1/p/q"},
        "n": 1,
    }


def test_clients_are_rate_limited_spot_only_with_timeouts() -> None:
    client = build_client("bybit", override=None, timeout_s=2.5)
    assert client.enableRateLimit and client.timeout == 2500
    assert client.options["fetchMarkets"]["types"] == ["spot"]
    assert client.options["defaultType"] == "spot"


def test_unknown_exchange_is_invalid_input_with_a_suggestion() -> None:
    with pytest.raises(InvalidInput, match="did you mean.*binance"):
        build_client("binanse", override=None, timeout_s=1)


def test_markets_load_once_and_are_shared_across_threads(peer_settings, exchange_peer) -> None:
    def work() -> None:
        for _ in range(3):
            CLIENTS.check_pair(peer_settings, "bybit", "BTC/USDT", "15m")

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert exchange_peer.count("/instruments-info") == 1


def test_retry_after_is_honoured(peer_settings, exchange_peer, sleeps) -> None:
    exchange_peer.inject("rate_limit", path="/tickers", retry_after=1.5)
    volumes = CLIENTS.quote_volumes(peer_settings, "bybit")
    assert volumes["BTC/USDT"] is not None and volumes["BTC/USDT"] > 0
    assert sleeps and sleeps[0] >= 1.5


def test_binance_rate_limit_is_retried(peer_settings, exchange_peer, sleeps) -> None:
    exchange_peer.inject("rate_limit", path="/ticker/24hr", retry_after=0.2)
    eth = CLIENTS.quote_volumes(peer_settings, "binance")["ETH/USDT"]
    assert eth is not None and eth > 0
    assert sleeps[0] >= 0.2


def test_a_retry_after_beyond_the_limit_gives_up_at_once(peer_settings, exchange_peer, sleeps) -> None:
    exchange_peer.inject("rate_limit", path="/tickers", retry_after=120, times=None)
    with pytest.raises(UpstreamUnavailable, match="wait 120s") as caught:
        CLIENTS.quote_volumes(peer_settings, "bybit")
    assert caught.value.extra["retry_after"] == 120
    assert exchange_peer.count("/tickers") == 1 and sleeps == []


def test_transient_errors_back_off_with_growing_waits(peer_settings, exchange_peer, sleeps) -> None:
    exchange_peer.inject("server_error", path="/tickers", times=2)
    CLIENTS.quote_volumes(peer_settings, "bybit")
    assert len(sleeps) == 2 and 0 < sleeps[0] < sleeps[1]


def test_unknown_timeframe_for_the_exchange_is_invalid_input(peer_settings, exchange_peer) -> None:
    client = build_client("bybit", override=None, timeout_s=1)
    assert "1w" in client.timeframes and "8h" not in client.timeframes
    with pytest.raises(InvalidInput, match="no '8h' candles"):
        CLIENTS.check_pair(peer_settings, "bybit", "BTC/USDT", "8h")


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "3"}, 3.0),
        ({"retry-after": "0.25"}, 0.25),
        ({"Retry-After": "soon"}, None),
        ({}, None),
        (None, None),
    ],
)
def test_retry_after_header_parsing(headers, expected) -> None:
    assert retry_after_seconds(headers) == expected


def test_retry_after_http_date_is_relative_to_now() -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
    assert retry_after_seconds({"Retry-After": "Thu, 15 Jan 2026 12:00:30 GMT"}, now=now) == 30.0


def test_ccxt_errors_are_network_errors_as_expected() -> None:
    # The retry logic relies on this hierarchy; a ccxt upgrade that changes it must fail here.
    assert issubclass(ccxt.RateLimitExceeded, ccxt.NetworkError)
    assert issubclass(ccxt.RequestTimeout, ccxt.NetworkError)
    assert issubclass(ccxt.BadSymbol, ccxt.ExchangeError)
