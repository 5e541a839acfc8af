"""Local news peer: RSS 2.0 and Atom feeds with known content and every failure a real feed shows.

Hand-written feeds carry the facts tests check (coins, topics, language, sentiment sign); `/gen/{n}.rss`
generates any number of seeded feeds for benchmarks. Nothing depends on the clock: dates are fixed.

Good feeds: markets (RSS, ETag → 304), altcoins (Atom, relative links, Last-Modified → 304), world
(multilingual, the utm/fragment twin, a missing and an unparsable date), ru-1251 (windows-1251),
moved (301 → defi). Broken feeds: malformed (mismatched tags), slow (answers after `slow_seconds`),
error (HTTP 500), huge (6 MB streamed without Content-Length), bomb (billion laughs),
notafeed (an HTML page), wrong-encoding (declares UTF-8, sends windows-1251).
Flaky (`/feeds/flaky.rss?key=K&fail=N`): 503 with `Retry-After: 0` for the first N requests of each key,
then the defi feed, so retries can be tested without shared state between tests.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Literal
from xml.sax.saxutils import escape, quoteattr

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

BASE_TIME = datetime(2026, 1, 15, 6, 0, tzinfo=UTC)
LAST_MODIFIED = format_datetime(BASE_TIME, usegmt=True)
HUGE_BYTES = 6 * 1024 * 1024
Sentiment = Literal["positive", "negative", "neutral"]


@dataclass(frozen=True)
class PeerItem:
    """One article as the peer publishes it, with the facts analysis should find."""

    slug: str
    title: str
    summary: str = ""
    lang: str = "en"
    sentiment: Sentiment | None = None
    tags: tuple[str, ...] = ()
    minutes_ago: int | None = 0
    date_text: str | None = None  # a raw, unparsable date instead of minutes_ago
    link_suffix: str = ""  # tracking parameters and fragment of a twin

    def published(self) -> datetime | None:
        return None if self.minutes_ago is None else BASE_TIME - timedelta(minutes=self.minutes_ago)


@dataclass(frozen=True)
class PeerFeed:
    name: str
    path: str
    title: str
    kind: Literal["rss", "atom"] = "rss"
    items: tuple[PeerItem, ...] = ()
    encoding: str = "utf-8"
    etag: bool = False
    last_modified: bool = False
    relative_links: bool = False


def _en(
    slug: str, title: str, sentiment: Sentiment | None, *tags: str, summary: str = "", ago: int = 0
) -> PeerItem:
    return PeerItem(slug, title, summary, "en", sentiment, tags, ago)


MARKETS = PeerFeed(
    name="markets",
    path="/feeds/markets.rss",
    title="CoinWire Markets",
    etag=True,
    items=(
        _en(
            "btc-record-high",
            "Bitcoin surges to record high as spot ETF inflows accelerate",
            "positive",
            "BTC",
            "etf",
            summary="<p>Bitcoin <b>rallied</b> above its peak &amp; spot ETFs saw strong inflows.</p>",
            ago=5,
        ),
        _en(
            "eth-bridge-hack",
            "Ethereum plunges after $120M bridge hack drains DeFi protocol",
            "negative",
            "ETH",
            "hack",
            summary="<p>Attackers exploited a bug in a bridge contract.</p><script>track()</script>",
            ago=15,
        ),
        _en("sol-rally", "Solana (SOL) rallies 15% as bullish traders pile in", "positive", "SOL", ago=25),
        _en(
            "xrp-lawsuit",
            "SEC sues Ripple executives; XRP tumbles 9% on the news",
            "negative",
            "XRP",
            "lawsuit",
            "regulation",
            ago=35,
        ),
        _en("pepe-soars", "$PEPE soars 40% as meme coin mania returns", "positive", "PEPE", ago=45),
        _en(
            "link-delist",
            "Exchange to delist several tokens; Chainlink (LINK) slides 6%",
            "negative",
            "LINK",
            "delisting",
            ago=55,
        ),
        _en(
            "avax-crash",
            "AVAX crashes as liquidations cascade across leveraged positions",
            "negative",
            "AVAX",
            ago=65,
        ),
        _en(
            "fed-rates",
            "Fed holds interest rates steady as traders await CPI data",
            None,
            "macro",
            ago=75,
        ),
        _en(
            "doge-report",
            "Dogecoin developers publish quarterly development report",
            "neutral",
            "DOGE",
            ago=85,
        ),
        _en(
            "savings-tips",
            "Personal finance: one simple solution to link your savings accounts",
            None,
            summary="A solid plan: ONE budget, consolidated accounts and fewer fees.",
            ago=95,
        ),
        _en(
            "bnb-listing",
            "Binance lists three new tokens as BNB climbs to a two-month high",
            None,
            "BNB",
            "listing",
            ago=105,
        ),
        PeerItem(
            "btc-record-high",
            "Bitcoin surges to record high as spot ETF inflows accelerate",
            link_suffix="?utm_source=markets&utm_campaign=promo",
            minutes_ago=5,
        ),
    ),
)

ALTCOINS = PeerFeed(
    name="altcoins",
    path="/feeds/altcoins.atom",
    title="Altcoin Daily",
    kind="atom",
    last_modified=True,
    relative_links=True,
    items=(
        _en("uni-fee-switch", "Uniswap (UNI) governance approves fee switch", "positive", "UNI", ago=10),
        _en(
            "arb-outflows",
            "Arbitrum sees heavy outflows as users bridge back to Ethereum",
            "negative",
            "ARB",
            "ETH",
            ago=20,
        ),
        _en("ton-jumps", "Toncoin jumps after Telegram wallet integration", "positive", "TON", ago=30),
        _en("shib-burn", "Shiba Inu burn rate soars 300% in a week", "positive", "SHIB", ago=40),
        _en(
            "xmr-delisted",
            "Monero delisted from another major exchange",
            "negative",
            "XMR",
            "delisting",
            ago=50,
        ),
        _en(
            "move-devs",
            "Aptos and Sui developers team up on Move tooling",
            None,
            "APT",
            "SUI",
            "partnership",
            ago=60,
        ),
        _en("kas-ath", "Kaspa hashrate hits an all-time high", "positive", "KAS", ago=70),
        _en("dot-report", "Polkadot treasury publishes its annual spending report", None, "DOT", ago=80),
    ),
)

WORLD = PeerFeed(
    name="world",
    path="/feeds/world.rss",
    title="Crypto World",
    items=(
        PeerItem(
            "ru-btc-max",
            "Биткоин обновил исторический максимум на фоне притока средств в ETF",
            "Инвесторы продолжают покупать биржевые фонды.",
            "ru",
            None,
            ("BTC", "etf"),
            12,
        ),
        PeerItem(
            "ru-eth-hack", "Эфириум подешевел после взлома криптобиржи", "", "ru", None, ("ETH", "hack"), 22
        ),
        PeerItem(
            "ru-regulation",
            "Центробанк обсуждает регулирование криптовалют и стейблкоинов",
            "",
            "ru",
            None,
            ("regulation",),
            32,
        ),
        PeerItem(
            "de-btc",
            "Bitcoin erreicht ein neues Rekordhoch, Anleger sind euphorisch",
            "",
            "de",
            None,
            ("BTC",),
            42,
        ),
        PeerItem(
            "de-eth",
            "Der Ethereum-Kurs fällt nach einem Angriff auf eine Börse",
            "",
            "de",
            None,
            ("ETH",),
            52,
        ),
        PeerItem(
            "de-ecb",
            "Die Europäische Zentralbank prüft neue Regeln für digitale Zahlungsmittel",
            "",
            "de",
            None,
            (),
            62,
        ),
        PeerItem(
            "es-btc",
            "El precio de Bitcoin sube un 8% tras la aprobación del nuevo ETF",
            "",
            "es",
            None,
            ("BTC", "etf"),
            72,
        ),
        PeerItem(
            "es-sol", "Solana cae un 12% después de una interrupción de la red", "", "es", None, ("SOL",), 82
        ),
        PeerItem(
            "es-rules",
            "Los reguladores europeos preparan nuevas normas para las criptomonedas y el sol brilla",
            "",
            "es",
            None,
            (),
            92,
        ),
        PeerItem(
            "btc-record-high",
            "Bitcoin surges to record high as spot ETF inflows accelerate",
            link_suffix="?utm_source=world&utm_medium=rss&UTM_TERM=btc#comments",
            minutes_ago=6,
        ),
        PeerItem(
            "weekly-roundup",
            "Weekly crypto roundup: Bitcoin, Ethereum and Solana in focus",
            tags=("BTC", "ETH", "SOL"),
            minutes_ago=None,
        ),
        PeerItem(
            "payments-pilot",
            "Payments pilot: Stellar and Polygon partner with two banks",
            tags=("POL", "XLM", "partnership"),
            minutes_ago=None,
            date_text="sometime next week",
        ),
    ),
)

RU_1251 = PeerFeed(
    name="ru-1251",
    path="/feeds/ru-1251.rss",
    title="Криптоновости",
    encoding="windows-1251",
    items=(
        PeerItem(
            "ru-btc-up",
            "Биткоин подорожал на 5% за сутки",
            "Рост продолжается третий день подряд.",
            "ru",
            None,
            ("BTC",),
            14,
        ),
        PeerItem(
            "ru-eth-down",
            "Курс эфириума упал на 7% — «медведи» усилили давление",
            "",
            "ru",
            None,
            ("ETH",),
            24,
        ),
        PeerItem(
            "ru-listing", "Криптобиржа объявила о листинге новых токенов", "", "ru", None, ("listing",), 34
        ),
        PeerItem("ru-miners", "Майнеры биткоина увеличили хешрейт сети", "", "ru", None, ("BTC",), 44),
    ),
)

DEFI = PeerFeed(
    name="defi",
    path="/feeds/defi.rss",
    title="DeFi Pulse",
    items=(
        _en("aave-v4", "Aave v4 launches on mainnet with a new liquidity hub", None, "AAVE", ago=16),
        _en("lido-deposits", "Lido staking deposits surge to a record high", "positive", "LDO", ago=26),
        _en("maker-vote", "MakerDAO votes to raise the DAI savings rate", None, "MKR", "DAI", ago=36),
        _en("hype-volume", "Hyperliquid trading volume soars past $10B", "positive", "HYPE", ago=46),
    ),
)

FEEDS: dict[str, PeerFeed] = {feed.name: feed for feed in (MARKETS, ALTCOINS, WORLD, RU_1251, DEFI)}
# Names the default fetch list uses; "moved" redirects to "defi".
GOOD_PATHS: dict[str, str] = {
    "markets": MARKETS.path,
    "altcoins": ALTCOINS.path,
    "world": WORLD.path,
    "ru-1251": RU_1251.path,
    "moved": "/feeds/moved.rss",
}
BROKEN_PATHS: dict[str, str] = {
    "malformed": "/feeds/malformed.rss",
    "slow": "/feeds/slow.rss",
    "error": "/feeds/error.rss",
    "huge": "/feeds/huge.rss",
    "bomb": "/feeds/bomb.rss",
    "notafeed": "/feeds/notafeed.html",
    "wrong-encoding": "/feeds/wrong-encoding.rss",
}
FLAKY_PATH = "/feeds/flaky.rss"


def good_feed_items() -> list[PeerItem]:
    """Every item the good feeds publish (defi through the redirect), twins included."""
    return [
        item for name in ("markets", "altcoins", "world", "ru-1251", "defi") for item in FEEDS[name].items
    ]


def unique_items() -> dict[str, PeerItem]:
    """One item per article (twins collapse onto the original), keyed by slug."""
    unique: dict[str, PeerItem] = {}
    for item in good_feed_items():
        unique.setdefault(item.slug, item)
    return unique


# ---------------------------------------------------------------- rendering


def _link(base: str, item: PeerItem, *, relative: bool = False) -> str:
    path = f"/articles/{item.slug}{item.link_suffix}"
    return path if relative else f"{base}{path}"


def _rss_item(base: str, item: PeerItem) -> str:
    parts = [f"<title>{escape(item.title)}</title>", f"<link>{escape(_link(base, item))}</link>"]
    parts.append(f'<guid isPermaLink="false">{escape(item.slug)}</guid>')
    if item.summary:
        parts.append(f"<description>{escape(item.summary)}</description>")
    published = item.published()
    if published is not None:
        parts.append(f"<pubDate>{format_datetime(published)}</pubDate>")
    elif item.date_text:
        parts.append(f"<pubDate>{escape(item.date_text)}</pubDate>")
    return "<item>" + "".join(parts) + "</item>"


def render_rss(feed: PeerFeed, base: str, items: tuple[PeerItem, ...] | None = None) -> str:
    body = "".join(_rss_item(base, item) for item in (items if items is not None else feed.items))
    return (
        f'<?xml version="1.0" encoding="{feed.encoding}"?>\n'
        f'<rss version="2.0"><channel><title>{escape(feed.title)}</title><link>{escape(base)}/</link>'
        f"<description>{escape(feed.title)} from the local news peer</description>{body}</channel></rss>\n"
    )


def _atom_entry(base: str, item: PeerItem, relative: bool) -> str:
    published = item.published() or BASE_TIME
    summary = f'<summary type="html">{escape(item.summary)}</summary>' if item.summary else ""
    return (
        f"<entry><title>{escape(item.title)}</title>"
        f'<link rel="alternate" href={quoteattr(_link(base, item, relative=relative))}/>'
        f"<id>urn:peer:{escape(item.slug)}</id><updated>{published.strftime('%Y-%m-%dT%H:%M:%SZ')}</updated>"
        f"{summary}</entry>"
    )


def render_atom(feed: PeerFeed, base: str) -> str:
    entries = "".join(_atom_entry(base, item, feed.relative_links) for item in feed.items)
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<feed xmlns="http://www.w3.org/2005/Atom"><title>{escape(feed.title)}</title>'
        f"<id>urn:peer:{feed.name}</id><updated>{BASE_TIME.strftime('%Y-%m-%dT%H:%M:%SZ')}</updated>"
        f"{entries}</feed>\n"
    )


def _render(feed: PeerFeed, base: str) -> bytes:
    text = render_atom(feed, base) if feed.kind == "atom" else render_rss(feed, base)
    return text.encode(feed.encoding)


def _media_type(feed: PeerFeed) -> str:
    kind = "application/atom+xml" if feed.kind == "atom" else "application/rss+xml"
    return f"{kind}; charset={feed.encoding}"


# ---------------------------------------------------------------- generated feeds (benchmarks)

_COINS = (
    ("Bitcoin", "BTC"),
    ("Ethereum", "ETH"),
    ("Solana", "SOL"),
    ("Cardano", "ADA"),
    ("Dogecoin", "DOGE"),
    ("Litecoin", "LTC"),
    ("Chainlink", "LINK"),
    ("Polkadot", "DOT"),
    ("Avalanche", "AVAX"),
    ("Toncoin", "TON"),
)
_TEMPLATES = (
    "{name} surges {pct}% as bullish traders return",
    "{name} plunges {pct}% after exchange outage sparks selloff",
    "{name} ({ticker}) holds steady ahead of network upgrade",
    "Analysts debate ${ticker} outlook after {pct}% weekly move",
    "{name} ETF filing draws regulator attention",
    "{name} developers team up with payments firm for pilot",
    "Hackers drain ${pct}M from {name} lending protocol",
    "{name} rallies to fresh all-time high on record volume",
)
_SUMMARIES = (
    "Market participants watched order books closely as volatility picked up across major pairs.",
    "On-chain data showed long-term holders moving coins, while funding rates stayed elevated.",
    "The move came as macro traders priced in a slower pace of rate cuts from the Federal Reserve.",
    "Liquidity on decentralised exchanges thinned, widening spreads for smaller tokens.",
)


def generated_items(feed_number: int, count: int, *, seed: int) -> tuple[PeerItem, ...]:
    """`count` deterministic English items for feed `feed_number`."""
    rng = random.Random(f"{seed}:{feed_number}")  # noqa: S311 - test data, not security
    items = []
    for index in range(count):
        name, ticker = rng.choice(_COINS)
        title = rng.choice(_TEMPLATES).format(name=name, ticker=ticker, pct=rng.randint(2, 40))
        summary = f"<p>{rng.choice(_SUMMARIES)}</p><p>{rng.choice(_SUMMARIES)}</p>"
        items.append(PeerItem(f"gen-{feed_number}-{index}", title, summary, minutes_ago=index + feed_number))
    return tuple(items)


# ---------------------------------------------------------------- broken payloads

MALFORMED = (
    '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>Broken Feed</title>'
    "<item><title>Unclosed <b>tag</title><link>http://127.0.0.1/articles/broken-1</link></item>"
    "</channel></rss>\n"
)


def billion_laughs(levels: int = 10) -> str:
    entities = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{n} "{("&lol" + str(n - 1) + ";") * 10}">' for n in range(1, levels)
    ]
    return (
        '<?xml version="1.0"?>\n<!DOCTYPE rss [' + "".join(entities) + "]>\n"
        f'<rss version="2.0"><channel><title>&lol{levels - 1};</title><item><title>&lol{levels - 1};</title>'
        "<link>http://127.0.0.1/articles/bomb</link></item></channel></rss>\n"
    )


async def _huge_body(total: int) -> AsyncIterator[bytes]:
    yield b'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>Huge</title>'
    chunk = "".join(
        f"<item><title>Filler item {n}</title><link>http://127.0.0.1/filler/{n}</link></item>"
        for n in range(500)
    ).encode()
    sent = 0
    while sent < total:
        yield chunk
        sent += len(chunk)
    yield b"</channel></rss>\n"


# ---------------------------------------------------------------- app


def _etag_for(content: bytes) -> str:
    return '"' + hashlib.sha256(content).hexdigest()[:16] + '"'


def _base_of(request: Request) -> str:
    return str(request.base_url).rstrip("/")


@dataclass
class NewsPeer:
    """The peer's handlers; `requests` counts hits per path (handy when debugging a test)."""

    seed: int = 42
    slow_seconds: float = 5.0
    requests: dict[str, int] = field(default_factory=dict)

    def _count(self, request: Request) -> None:
        self.requests[request.url.path] = self.requests.get(request.url.path, 0) + 1

    async def index(self, request: Request) -> Response:
        base = _base_of(request)
        return JSONResponse(
            {
                "good": {name: base + path for name, path in GOOD_PATHS.items()},
                "broken": {name: base + path for name, path in BROKEN_PATHS.items()},
                "generated": base + "/gen/{n}.rss?items={count}",
                "requests": self.requests,
            }
        )

    async def feed(self, request: Request) -> Response:
        self._count(request)
        peer_feed = next(f for f in FEEDS.values() if f.path == request.url.path)
        content = _render(peer_feed, _base_of(request))
        headers: dict[str, str] = {}
        if peer_feed.etag:
            headers["ETag"] = _etag_for(content)
        if peer_feed.last_modified:
            headers["Last-Modified"] = LAST_MODIFIED
        if _not_modified(request, headers):
            return Response(status_code=304, headers=headers)
        return Response(content, media_type=_media_type(peer_feed), headers=headers)

    async def moved(self, request: Request) -> Response:
        self._count(request)
        return RedirectResponse(DEFI.path, status_code=301)

    async def malformed(self, request: Request) -> Response:
        self._count(request)
        return Response(MALFORMED, media_type="application/rss+xml; charset=utf-8")

    async def slow(self, request: Request) -> Response:
        self._count(request)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.slow_seconds
        # Poll for the client hanging up, so a test's server shuts down without waiting it out.
        while loop.time() < deadline:
            if await request.is_disconnected():
                return Response(status_code=499)
            await asyncio.sleep(0.05)
        return Response(render_rss(DEFI, _base_of(request)), media_type="application/rss+xml")

    async def error(self, request: Request) -> Response:
        self._count(request)
        return Response("internal error", status_code=500)

    async def flaky(self, request: Request) -> Response:
        self._count(request)
        key = f"flaky:{request.query_params.get('key', '')}"
        self.requests[key] = self.requests.get(key, 0) + 1
        if self.requests[key] <= int(request.query_params.get("fail", "1")):
            return Response("try again", status_code=503, headers={"Retry-After": "0"})
        return Response(render_rss(DEFI, _base_of(request)), media_type="application/rss+xml")

    async def huge(self, request: Request) -> Response:
        self._count(request)
        return StreamingResponse(_huge_body(HUGE_BYTES), media_type="application/rss+xml")

    async def bomb(self, request: Request) -> Response:
        self._count(request)
        return Response(billion_laughs(), media_type="application/rss+xml")

    async def wrong_encoding(self, request: Request) -> Response:
        self._count(request)
        # Declares UTF-8 but is windows-1251 bytes, as a misconfigured server sends it.
        mislabeled = PeerFeed(
            name="wrong-encoding", path=request.url.path, title=RU_1251.title, items=RU_1251.items
        )
        body = render_rss(mislabeled, _base_of(request)).encode("windows-1251")
        return Response(body, media_type="application/rss+xml; charset=utf-8")

    async def not_a_feed(self, request: Request) -> Response:
        self._count(request)
        return HTMLResponse("<html><head><title>Home</title></head><body><p>Welcome!</p></body></html>")

    async def generated(self, request: Request) -> Response:
        self._count(request)
        try:
            number = int(request.path_params["number"])
            items = min(max(int(request.query_params.get("items", "100")), 0), 5000)
        except ValueError:
            return Response("bad feed number or item count", status_code=400)
        gen_feed = PeerFeed(name=f"gen-{number}", path=request.url.path, title=f"Generated Feed {number}")
        body = render_rss(gen_feed, _base_of(request), generated_items(number, items, seed=self.seed))
        return Response(body.encode(), media_type="application/rss+xml; charset=utf-8")

    async def article(self, request: Request) -> Response:
        slug = request.path_params["slug"]
        return HTMLResponse(f"<html><body><h1>{escape(slug)}</h1></body></html>")

    def routes(self) -> list[Route]:
        return [
            Route("/", self.index),
            *(Route(peer_feed.path, self.feed) for peer_feed in FEEDS.values()),
            Route(GOOD_PATHS["moved"], self.moved),
            Route(BROKEN_PATHS["malformed"], self.malformed),
            Route(BROKEN_PATHS["slow"], self.slow),
            Route(BROKEN_PATHS["error"], self.error),
            Route(FLAKY_PATH, self.flaky),
            Route(BROKEN_PATHS["huge"], self.huge),
            Route(BROKEN_PATHS["bomb"], self.bomb),
            Route(BROKEN_PATHS["notafeed"], self.not_a_feed),
            Route(BROKEN_PATHS["wrong-encoding"], self.wrong_encoding),
            Route("/gen/{number}.rss", self.generated),
            Route("/articles/{slug}", self.article),
        ]


def _not_modified(request: Request, headers: dict[str, str]) -> bool:
    etag, modified = headers.get("ETag"), headers.get("Last-Modified")
    if etag and request.headers.get("if-none-match") == etag:
        return True
    return bool(modified) and request.headers.get("if-modified-since") == modified


def create_app(*, seed: int = 42, slow_seconds: float = 5.0) -> Starlette:
    """The news peer as an ASGI app; `slow_seconds` is how long the slow feed makes clients wait."""
    peer = NewsPeer(seed=seed, slow_seconds=slow_seconds)
    app = Starlette(routes=peer.routes())
    app.state.peer = peer
    return app
