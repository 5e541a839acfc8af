"""Text from feeds and exchanges follows the same control-character rule as the API (core.text),
so what a foreign server sends is stored alike on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from myassistant.core.text import first_control_character
from myassistant.market import service as market
from myassistant.market.tables import WatchlistEntry
from myassistant.news import logic
from myassistant.peers.exchange import DEFAULT_MARKETS, ExchangePeer, PeerMarket, create_app
from myassistant.peers.server import RunningServer, start_in_thread

# Raw C1 and DEL are legal XML 1.0, and HTML inside a description can carry character references.
FEED = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Feed\x9b2J name\x85</title>
<item><title>Bitcoin\x9b31m surges\x7f</title><link>https://n.io/a</link>
<description>&lt;p&gt;Summary&amp;#27;[2J with &amp;#0;controls\x7f&lt;/p&gt;</description></item>
</channel></rss>"""


def test_feed_titles_summaries_and_names_keep_no_control_character() -> None:
    feed = logic.parse_feed(FEED.encode(), feed_url="https://n.io/rss")
    (entry,) = feed.entries
    texts = [feed.title or "", entry.title, entry.summary]
    assert [first_control_character(text) for text in texts] == [None, None, None], texts
    assert entry.title.startswith("Bitcoin") and "controls" in entry.summary


HOSTILE = (
    PeerMarket("EV\x00IL", "USDT", 1.0, 9.0e9),
    PeerMarket("B\x1bAD", "USDT", 1.0, 8.0e9),
    PeerMarket("C1\x9b", "USDT", 1.0, 7.0e9),
)


@pytest.fixture
def hostile_exchange(make_settings, frozen_clock) -> Iterator[RunningServer]:
    """An exchange that lists markets whose names carry control characters, and busier than any other."""
    server = start_in_thread(create_app(ExchangePeer(markets=HOSTILE + DEFAULT_MARKETS[:3])))
    yield server
    server.stop()


def test_discovery_never_stores_an_exchange_symbol_with_control_characters(
    database, make_settings, hostile_exchange, exchange_peer
) -> None:
    settings = make_settings(exchange_api_override=hostile_exchange.url)
    with database.session() as session:
        result = market.discover(session, settings=settings, top_n=10, min_quote_volume=0)
    assert [pair.symbol for pair in result.discovered] == ["BTC/USDT", "ETH/USDT", "SOL/USDT"]
    assert result.excluded["malformed_symbol"] == 3
    with database.session() as session:
        stored = session.scalars(select(WatchlistEntry.symbol).order_by(WatchlistEntry.symbol)).all()
    assert stored == ["BTC/USDT", "ETH/USDT", "SOL/USDT"]
