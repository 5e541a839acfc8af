"""Curated data for news analysis: coin aliases, topic keywords and the crypto sentiment lexicon.

Aliases are plain words or phrases (matched as whole words; a phrase's words may be joined by
spaces or hyphens) and word prefixes for inflected languages. Coin tags are upper-case tickers,
topic tags lower-case words (the convention every domain relies on).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class CoinAliases:
    """How a coin is written: `names` and `prefixes` in any case, `tickers` only in upper case.

    A ticker that is also a common word or abbreviation (ONE, LINK, DOGE the US department...) is
    `ambiguous`: it counts only as `$TICKER` or `(TICKER)`. `lower_ticker` lets the lower-case
    ticker count too ("btc"), for tickers that are no word in any language we expect.
    `capitalized` names are common words too ("Avalanche"): they count capitalised and only
    inside a sentence, never as its first word.
    """

    tag: str
    names: tuple[str, ...] = ()
    tickers: tuple[str, ...] = ()
    capitalized: tuple[str, ...] = ()
    prefixes: tuple[str, ...] = ()
    ambiguous: bool = False
    lower_ticker: bool = False


COINS: tuple[CoinAliases, ...] = (
    CoinAliases(
        "BTC",
        names=("bitcoin", "bitcoins", "bitcon", "bitcion", "bitocin", "btc's"),
        prefixes=("биткоин", "биткойн"),
        tickers=("BTC", "XBT"),
        lower_ticker=True,
    ),
    CoinAliases("WBTC", names=("wrapped bitcoin",), tickers=("WBTC",)),
    CoinAliases("BCH", names=("bitcoin cash",), tickers=("BCH",)),
    CoinAliases("BSV", names=("bitcoin sv",), tickers=("BSV",)),
    CoinAliases(
        "ETH",
        names=("ethereum", "etherium", "etherum", "ether"),
        prefixes=("эфириум",),
        tickers=("ETH",),
        lower_ticker=True,
    ),
    CoinAliases("ETC", names=("ethereum classic",), tickers=("ETC",), ambiguous=True),
    CoinAliases("USDT", names=("tether",), tickers=("USDT",), lower_ticker=True),
    CoinAliases("USDC", names=("usd coin",), tickers=("USDC",), lower_ticker=True),
    CoinAliases("DAI", tickers=("DAI",)),
    CoinAliases("XRP", names=("ripple",), tickers=("XRP",), lower_ticker=True),
    CoinAliases("BNB", names=("binance coin",), tickers=("BNB",), lower_ticker=True),
    CoinAliases("SOL", names=("solana", "solona"), tickers=("SOL",)),
    CoinAliases("DOGE", names=("dogecoin", "doge coin"), tickers=("DOGE",), ambiguous=True),
    CoinAliases("ADA", names=("cardano",), tickers=("ADA",)),
    CoinAliases("TRX", names=("tron",), tickers=("TRX",)),
    CoinAliases("TON", names=("toncoin", "the open network"), tickers=("TON",)),
    CoinAliases("AVAX", names=("avalanche network",), tickers=("AVAX",), capitalized=("Avalanche",)),
    CoinAliases("SHIB", names=("shiba inu", "shiba"), tickers=("SHIB",)),
    CoinAliases("LINK", names=("chainlink",), tickers=("LINK",), ambiguous=True),
    CoinAliases("DOT", names=("polkadot",), tickers=("DOT",), ambiguous=True),
    CoinAliases("LTC", names=("litecoin",), tickers=("LTC",), lower_ticker=True),
    CoinAliases("NEAR", names=("near protocol",), tickers=("NEAR",), ambiguous=True),
    CoinAliases("UNI", names=("uniswap",), tickers=("UNI",), ambiguous=True),
    CoinAliases(
        "POL", names=("polygon network", "matic"), tickers=("POL", "MATIC"), capitalized=("Polygon",)
    ),
    CoinAliases("ICP", names=("internet computer",), tickers=("ICP",)),
    CoinAliases("APT", names=("aptos",), tickers=("APT",), ambiguous=True),
    CoinAliases("XLM", names=("stellar lumens",), tickers=("XLM",), capitalized=("Stellar",)),
    CoinAliases("XMR", names=("monero",), tickers=("XMR",), lower_ticker=True),
    CoinAliases("FIL", names=("filecoin",), tickers=("FIL",)),
    CoinAliases("HBAR", names=("hedera",), tickers=("HBAR",)),
    CoinAliases("ATOM", names=("cosmos hub",), tickers=("ATOM",), capitalized=("Cosmos",), ambiguous=True),
    CoinAliases("ARB", names=("arbitrum",), tickers=("ARB",)),
    CoinAliases("OP", names=("op mainnet", "optimism network"), tickers=("OP",), ambiguous=True),
    CoinAliases("VET", names=("vechain",), tickers=("VET",), ambiguous=True),
    CoinAliases("INJ", names=("injective",), tickers=("INJ",)),
    CoinAliases("SUI", tickers=("SUI",), capitalized=("Sui",)),
    CoinAliases("KAS", names=("kaspa",), tickers=("KAS",)),
    CoinAliases("TAO", names=("bittensor",), tickers=("TAO",), ambiguous=True),
    CoinAliases("IMX", names=("immutable x", "immutable zkevm"), tickers=("IMX",)),
    CoinAliases("RENDER", names=("render network",), tickers=("RENDER", "RNDR"), ambiguous=True),
    CoinAliases("GRT", names=("the graph",), tickers=("GRT",)),
    CoinAliases("AAVE", names=("aave",), tickers=("AAVE",)),
    CoinAliases("MKR", names=("makerdao",), tickers=("MKR",)),
    CoinAliases("ALGO", names=("algorand",), tickers=("ALGO",)),
    CoinAliases("STX", tickers=("STX",)),
    CoinAliases("SEI", names=("sei network",), tickers=("SEI",)),
    CoinAliases("TIA", names=("celestia",), tickers=("TIA",)),
    CoinAliases("PEPE", names=("pepecoin",), tickers=("PEPE",)),
    CoinAliases("WIF", names=("dogwifhat",), tickers=("WIF",)),
    CoinAliases("BONK", names=("bonk",), tickers=("BONK",)),
    CoinAliases("FLOKI", names=("floki",), tickers=("FLOKI",)),
    CoinAliases("JUP", tickers=("JUP",)),
    CoinAliases("LDO", names=("lido dao", "lido"), tickers=("LDO",)),
    CoinAliases("ONDO", names=("ondo",), tickers=("ONDO",)),
    CoinAliases("ENA", names=("ethena",), tickers=("ENA",)),
    CoinAliases("HYPE", names=("hyperliquid",), tickers=("HYPE",), ambiguous=True),
    CoinAliases("XTZ", names=("tezos",), tickers=("XTZ",)),
    CoinAliases("SAND", names=("the sandbox",), tickers=("SAND",), ambiguous=True),
    CoinAliases("MANA", names=("decentraland",), tickers=("MANA",), ambiguous=True),
    CoinAliases("EOS", tickers=("EOS",)),
    CoinAliases("THETA", names=("theta network",), tickers=("THETA",), ambiguous=True),
    CoinAliases("CRO", names=("cronos",), tickers=("CRO",), ambiguous=True),
    CoinAliases("QNT", names=("quant network",), tickers=("QNT",)),
    CoinAliases("EGLD", names=("multiversx", "elrond"), tickers=("EGLD",)),
    CoinAliases("FLOW", names=("flow blockchain",), tickers=("FLOW",), ambiguous=True),
    CoinAliases("CHZ", names=("chiliz",), tickers=("CHZ",)),
    CoinAliases("ONE", names=("harmony one",), tickers=("ONE",), ambiguous=True),
    CoinAliases("WLD", names=("worldcoin",), tickers=("WLD",)),
    CoinAliases("FTM", names=("fantom",), tickers=("FTM",)),
    CoinAliases("OKB", tickers=("OKB",)),
)

# Exchange bases that were renamed: the symbol's base maps to the coin tag we store.
RENAMED_BASES: dict[str, str] = {"MATIC": "POL", "RNDR": "RENDER"}


def coin_tag_for_symbol(symbol: str) -> str:
    """The news tag of a pair's base coin: "BTC/USDT" and "BTC/USDT:USDT" give "BTC", "MATIC/USDT" "POL"."""
    base = re.split(r"[/:\-_]", symbol.strip(), maxsplit=1)[0].upper()
    return RENAMED_BASES.get(base, base)


@dataclass(frozen=True)
class TopicKeywords:
    """A topic tag: `words` and `prefixes` match in any case, `exact` only as written (SEC, Fed)."""

    tag: str
    words: tuple[str, ...] = ()
    prefixes: tuple[str, ...] = ()
    exact: tuple[str, ...] = ()


def _plural(*words: str) -> tuple[str, ...]:
    return tuple(form for word in words for form in (word, word + "s"))


TOPICS: tuple[TopicKeywords, ...] = (
    TopicKeywords("etf", words=(*_plural("etf", "etp", "exchange traded fund"),)),
    TopicKeywords(
        "regulation",
        words=("crackdown", "compliance", "legislation", "ban", "bans", "banned", *_plural("lawmaker")),
        prefixes=("regulat", "регулирован", "regulierung", "regulación"),
        exact=("SEC", "CFTC", "MiCA", "FCA", "ESMA"),
    ),
    TopicKeywords(
        "hack",
        words=(
            *_plural("hack", "hacker", "exploit", "exploiter", "heist", "rug pull", "rugpull"),
            "hacked",
            "hacking",
            "exploited",
            "drained",
            "stolen",
            "breach",
            "breached",
            "breaches",
            "gehackt",
            "hackeo",
            "hackeado",
            "hackeada",
        ),
        prefixes=("взлом",),
    ),
    TopicKeywords(
        "listing",
        words=("listing", "listings", "lists", "will list", "to list", "listed on"),
        prefixes=("листинг",),
    ),
    TopicKeywords("delisting", prefixes=("delist", "делистинг")),
    TopicKeywords(
        "macro",
        words=(
            "federal reserve",
            "inflation",
            "recession",
            "powell",
            "monetary policy",
            *_plural("interest rate", "rate cut", "rate hike", "jobs report", "nonfarm payroll"),
            *_plural("treasury yield", "tariff"),
        ),
        exact=("Fed", "FOMC", "CPI", "PPI", "GDP", "ECB", "DXY"),
    ),
    TopicKeywords(
        "lawsuit",
        words=(
            *_plural("lawsuit", "court", "class action", "indictment"),
            "sues",
            "sued",
            "suing",
            "indicted",
            "indicts",
            "litigation",
        ),
    ),
    TopicKeywords(
        "partnership",
        words=(
            *_plural("partner", "partnership", "alliance"),
            "partnered",
            "partnering",
            "team up",
            "teams up",
            "teamed up",
            "join forces",
            "joins forces",
        ),
        prefixes=("collaborat",),
    ),
)

TOPIC_TAGS: frozenset[str] = frozenset(topic.tag for topic in TOPICS)

# Phrases VADER cannot see (its lexicon is single words), rewritten to one token before scoring.
SENTIMENT_PHRASES: tuple[tuple[str, str], ...] = (
    (r"all[- ]time[- ]highs?", "ath"),
    (r"record[- ]highs?", "recordhigh"),
    (r"all[- ]time[- ]lows?|record[- ]lows?", "recordlow"),
    (r"rug[- ]?pulls?", "rugpull"),
    (r"sell[- ]offs?", "selloff"),
    (r"short[- ]squeezes?", "shortsqueeze"),
    (r"to the moon", "moon"),
)


def _forms(value: float, *words: str) -> dict[str, float]:
    return dict.fromkeys(words, value)


# Plain VADER scores "Bitcoin surges to record high" as 0.0: market verbs are missing from it.
CRYPTO_LEXICON: dict[str, float] = {
    **_forms(2.0, "surge", "surges", "surged", "surging"),
    **_forms(2.0, "rally", "rallies", "rallied", "rallying"),
    **_forms(2.3, "soar", "soars", "soared", "soaring", "skyrocket", "skyrockets", "skyrocketed"),
    **_forms(1.5, "jump", "jumps", "jumped", "climb", "climbs", "climbed"),
    **_forms(2.2, "bullish"),
    **_forms(2.0, "ath", "recordhigh", "mooning"),
    **_forms(1.5, "moon", "moons", "breakout", "rebound", "rebounds", "rebounded", "adoption"),
    **_forms(1.2, "recover", "recovers", "recovered", "inflows", "outperforms", "milestone"),
    **_forms(1.0, "shortsqueeze", "upgrade"),
    **_forms(-2.0, "dump", "dumps", "dumped", "dumping"),
    **_forms(-2.5, "plunge", "plunges", "plunged", "plunging"),
    **_forms(-2.5, "crash", "crashes", "crashed", "crashing"),
    **_forms(-2.2, "bearish"),
    **_forms(-2.5, "hack", "hacks", "hacked", "hacker", "hackers", "heist"),
    **_forms(-2.5, "exploit", "exploits", "exploited", "exploiter"),
    **_forms(-3.0, "rugpull"),
    **_forms(-2.0, "delist", "delists", "delisted", "delisting", "recordlow"),
    **_forms(-1.8, "liquidation", "liquidations", "liquidated"),
    **_forms(-2.0, "selloff", "slump", "slumps", "slumped", "tumble", "tumbles", "tumbled"),
    **_forms(-1.5, "sink", "sinks", "sank", "slide", "slides", "slid", "drops", "dropped"),
    **_forms(-2.0, "tank", "tanks", "tanked", "capitulation", "drained"),
    **_forms(-1.2, "fall", "falls", "fell", "decline", "declines", "declined", "outflows"),
    **_forms(-2.5, "insolvent", "insolvency", "bankruptcy", "depeg", "depegs", "depegged"),
    **_forms(-1.5, "outage", "halts", "halted", "sues", "sued", "crackdown", "bans"),
    **_forms(-2.0, "indicted"),
}
