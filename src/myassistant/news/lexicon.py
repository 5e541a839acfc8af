"""Curated data for news analysis: coin aliases, topic keywords and the crypto sentiment lexicon.

Alias patterns are regular-expression fragments matched as whole words. Coin tags are upper-case
tickers, topic tags lower-case words (the convention every domain relies on).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CoinAliases:
    """How a coin is written: `names` match in any case; `tickers` only in upper case.

    A ticker that is also a common word or abbreviation (ONE, LINK, DOGE the US department...) is
    `ambiguous`: it counts only as `$TICKER` or `(TICKER)`. `lower_ticker` lets the lower-case
    ticker count too ("btc"), for tickers that are no word in any language we expect.
    """

    tag: str
    names: tuple[str, ...] = ()
    tickers: tuple[str, ...] = ()
    capitalized: tuple[str, ...] = ()
    ambiguous: bool = False
    lower_ticker: bool = False


COINS: tuple[CoinAliases, ...] = (
    CoinAliases(
        "BTC",
        names=(
            r"bitcoins?",
            r"bitcoin's",
            r"bitcon",
            r"bitcion",
            r"bitocin",
            r"биткоин\w*",
            r"биткойн\w*",
        ),
        tickers=("BTC", "XBT"),
        lower_ticker=True,
    ),
    CoinAliases("WBTC", names=(r"wrapped bitcoin",), tickers=("WBTC",)),
    CoinAliases("BCH", names=(r"bitcoin cash",), tickers=("BCH",)),
    CoinAliases("BSV", names=(r"bitcoin sv",), tickers=("BSV",)),
    CoinAliases(
        "ETH",
        names=(r"ethereum", r"etherium", r"etherum", r"ethereum's", r"ether", r"эфириум\w*"),
        tickers=("ETH",),
        lower_ticker=True,
    ),
    CoinAliases("ETC", names=(r"ethereum classic",), tickers=("ETC",), ambiguous=True),
    CoinAliases("USDT", names=(r"tether",), tickers=("USDT",), lower_ticker=True),
    CoinAliases("USDC", names=(r"usd coin",), tickers=("USDC",), lower_ticker=True),
    CoinAliases("DAI", tickers=("DAI",)),
    CoinAliases("XRP", names=(r"ripple",), tickers=("XRP",), lower_ticker=True),
    CoinAliases("BNB", names=(r"binance coin",), tickers=("BNB",), lower_ticker=True),
    CoinAliases("SOL", names=(r"solana", r"solana's", r"solona"), tickers=("SOL",)),
    CoinAliases("DOGE", names=(r"dogecoin", r"doge coin"), tickers=("DOGE",), ambiguous=True),
    CoinAliases("ADA", names=(r"cardano",), tickers=("ADA",)),
    CoinAliases("TRX", names=(r"tron",), tickers=("TRX",)),
    CoinAliases("TON", names=(r"toncoin", r"the open network"), tickers=("TON",)),
    CoinAliases("AVAX", names=(r"avalanche network",), tickers=("AVAX",), capitalized=("Avalanche",)),
    CoinAliases("SHIB", names=(r"shiba inu", r"shiba"), tickers=("SHIB",)),
    CoinAliases("LINK", names=(r"chainlink",), tickers=("LINK",), ambiguous=True),
    CoinAliases("DOT", names=(r"polkadot",), tickers=("DOT",), ambiguous=True),
    CoinAliases("LTC", names=(r"litecoin",), tickers=("LTC",), lower_ticker=True),
    CoinAliases("NEAR", names=(r"near protocol",), tickers=("NEAR",), ambiguous=True),
    CoinAliases("UNI", names=(r"uniswap",), tickers=("UNI",), ambiguous=True),
    CoinAliases(
        "POL", names=(r"polygon network", r"matic"), tickers=("POL", "MATIC"), capitalized=("Polygon",)
    ),
    CoinAliases("ICP", names=(r"internet computer",), tickers=("ICP",)),
    CoinAliases("APT", names=(r"aptos",), tickers=("APT",), ambiguous=True),
    CoinAliases("XLM", names=(r"stellar lumens",), tickers=("XLM",), capitalized=("Stellar",)),
    CoinAliases("XMR", names=(r"monero",), tickers=("XMR",), lower_ticker=True),
    CoinAliases("FIL", names=(r"filecoin",), tickers=("FIL",)),
    CoinAliases("HBAR", names=(r"hedera",), tickers=("HBAR",)),
    CoinAliases("ATOM", names=(r"cosmos hub",), tickers=("ATOM",), capitalized=("Cosmos",), ambiguous=True),
    CoinAliases("ARB", names=(r"arbitrum",), tickers=("ARB",)),
    CoinAliases("OP", names=(r"op mainnet", r"optimism network"), tickers=("OP",), ambiguous=True),
    CoinAliases("VET", names=(r"vechain",), tickers=("VET",), ambiguous=True),
    CoinAliases("INJ", names=(r"injective",), tickers=("INJ",)),
    CoinAliases("SUI", tickers=("SUI",), capitalized=("Sui",)),
    CoinAliases("KAS", names=(r"kaspa",), tickers=("KAS",)),
    CoinAliases("TAO", names=(r"bittensor",), tickers=("TAO",), ambiguous=True),
    CoinAliases("IMX", names=(r"immutable x", r"immutable zkevm"), tickers=("IMX",)),
    CoinAliases("RENDER", names=(r"render network",), tickers=("RENDER", "RNDR"), ambiguous=True),
    CoinAliases("GRT", names=(r"the graph",), tickers=("GRT",)),
    CoinAliases("AAVE", names=(r"aave",), tickers=("AAVE",)),
    CoinAliases("MKR", names=(r"makerdao",), tickers=("MKR",)),
    CoinAliases("ALGO", names=(r"algorand",), tickers=("ALGO",)),
    CoinAliases("STX", tickers=("STX",)),
    CoinAliases("SEI", tickers=("SEI",), capitalized=("Sei Network",)),
    CoinAliases("TIA", names=(r"celestia",), tickers=("TIA",)),
    CoinAliases("PEPE", names=(r"pepecoin",), tickers=("PEPE",)),
    CoinAliases("WIF", names=(r"dogwifhat",), tickers=("WIF",)),
    CoinAliases("BONK", names=(r"bonk",), tickers=("BONK",)),
    CoinAliases("FLOKI", names=(r"floki",), tickers=("FLOKI",)),
    CoinAliases("JUP", tickers=("JUP",)),
    CoinAliases("LDO", names=(r"lido dao", r"lido"), tickers=("LDO",)),
    CoinAliases("ONDO", names=(r"ondo",), tickers=("ONDO",)),
    CoinAliases("ENA", names=(r"ethena",), tickers=("ENA",)),
    CoinAliases("HYPE", names=(r"hyperliquid",), tickers=("HYPE",), ambiguous=True),
    CoinAliases("XTZ", names=(r"tezos",), tickers=("XTZ",)),
    CoinAliases("SAND", names=(r"the sandbox",), tickers=("SAND",), ambiguous=True),
    CoinAliases("MANA", names=(r"decentraland",), tickers=("MANA",), ambiguous=True),
    CoinAliases("EOS", tickers=("EOS",)),
    CoinAliases("THETA", names=(r"theta network",), tickers=("THETA",), ambiguous=True),
    CoinAliases("CRO", names=(r"cronos",), tickers=("CRO",), ambiguous=True),
    CoinAliases("QNT", names=(r"quant network",), tickers=("QNT",)),
    CoinAliases("EGLD", names=(r"multiversx", r"elrond"), tickers=("EGLD",)),
    CoinAliases("FLOW", names=(r"flow blockchain",), tickers=("FLOW",), ambiguous=True),
    CoinAliases("CHZ", names=(r"chiliz",), tickers=("CHZ",)),
    CoinAliases("ONE", names=(r"harmony one",), tickers=("ONE",), ambiguous=True),
    CoinAliases("WLD", names=(r"worldcoin",), tickers=("WLD",)),
    CoinAliases("FTM", names=(r"fantom",), tickers=("FTM",)),
    CoinAliases("OKB", tickers=("OKB",)),
)

# Exchange bases that were renamed: the symbol's base maps to the coin tag we store.
RENAMED_BASES: dict[str, str] = {"MATIC": "POL", "RNDR": "RENDER"}


@dataclass(frozen=True)
class TopicKeywords:
    """A topic tag with patterns matched in any case (`words`) and exactly as written (`exact`)."""

    tag: str
    words: tuple[str, ...] = ()
    exact: tuple[str, ...] = ()


TOPICS: tuple[TopicKeywords, ...] = (
    TopicKeywords(
        "etf",
        words=(r"etfs?", r"exchange[- ]traded funds?", r"etp", r"etps"),
    ),
    TopicKeywords(
        "regulation",
        words=(
            r"regulat(?:ion|ions|or|ors|ory|e|es|ed|ing)",
            r"crackdown",
            r"compliance",
            r"legislation",
            r"lawmakers?",
            r"bans?",
            r"banned",
            r"регулирован\w*",
            r"regulierung\w*",
            r"regulación",
        ),
        exact=("SEC", "CFTC", "MiCA", "FCA", "ESMA"),
    ),
    TopicKeywords(
        "hack",
        words=(
            r"hack(?:s|ed|er|ers|ing)?",
            r"exploit(?:s|ed|er|ers)?",
            r"heist",
            r"drained",
            r"stolen",
            r"breach(?:ed|es)?",
            r"rug[- ]?pulls?",
            r"взлом\w*",
            r"gehackt",
            r"hackeo",
            r"hackead[oa]s?",
        ),
    ),
    TopicKeywords(
        "listing",
        words=(r"listings?", r"lists", r"will list", r"to list", r"listed on", r"листинг\w*"),
    ),
    TopicKeywords("delisting", words=(r"delist(?:s|ed|ing|ings)?", r"делистинг\w*")),
    TopicKeywords(
        "macro",
        words=(
            r"federal reserve",
            r"inflation",
            r"interest rates?",
            r"rate (?:cut|hike)s?",
            r"recession",
            r"jobs report",
            r"nonfarm payrolls?",
            r"treasury yields?",
            r"powell",
            r"tariffs?",
            r"monetary policy",
        ),
        exact=("Fed", "FOMC", "CPI", "PPI", "GDP", "ECB", "DXY"),
    ),
    TopicKeywords(
        "lawsuit",
        words=(
            r"lawsuits?",
            r"sues",
            r"sued",
            r"suing",
            r"class[- ]action",
            r"indict(?:ed|ment|ments|s)?",
            r"litigation",
            r"courts?",
        ),
    ),
    TopicKeywords(
        "partnership",
        words=(
            r"partner(?:s|ship|ships|ed|ing)?",
            r"teams? up",
            r"collaborat(?:e|es|ed|ion|ions|ing)",
            r"joins? forces",
            r"alliance",
        ),
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
