"""Pure news logic: URLs, text, safe parsing, tags, sentiment, language, query building."""

from __future__ import annotations

import time
import tracemalloc
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from myassistant.news import lexicon, logic
from myassistant.peers import news as news_peer

# ---------------------------------------------------------------- URLs


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("HTTPS://News.Example.COM/a/B?id=5#top", "https://news.example.com/a/B?id=5"),
        ("https://x.io/p?utm_source=rss&id=1&UTM_Medium=feed&fbclid=abc", "https://x.io/p?id=1"),
        ("https://x.io/p?utm_source=rss&utm_campaign=c", "https://x.io/p"),
        ("http://x.io:80/p", "http://x.io/p"),
        ("https://x.io:443/p", "https://x.io/p"),
        ("https://x.io:8443/p", "https://x.io:8443/p"),
        ("https://user:pw@x.io/p", "https://x.io/p"),
        ("https://x.io", "https://x.io/"),
        ("  https://x.io/p?b=2&a=1  ", "https://x.io/p?b=2&a=1"),
    ],
)
def test_canonical_url_strips_tracking_and_normalises_case(raw: str, canonical: str) -> None:
    assert logic.canonical_url(raw) == canonical


@pytest.mark.parametrize(
    "raw", ["ftp://x.io/f", "javascript:alert(1)", "mailto:a@b.c", "/relative", "", "http://"]
)
def test_canonical_url_refuses_non_http_urls(raw: str) -> None:
    assert logic.canonical_url(raw) is None


def test_canonical_url_resolves_relative_links_against_the_feed() -> None:
    assert logic.canonical_url("/articles/a?utm_x=1", base="http://127.0.0.1:8081/feeds/f.atom") == (
        "http://127.0.0.1:8081/articles/a"
    )


@given(st.text(max_size=80))
@settings(max_examples=200, deadline=None)
def test_canonical_url_is_idempotent_and_never_raises(tail: str) -> None:
    first = logic.canonical_url("https://Example.com/" + tail)
    if first is not None:
        assert logic.canonical_url(first) == first


def test_is_http_url_accepts_only_absolute_http_urls() -> None:
    assert logic.is_http_url("https://a.b/rss")
    assert not logic.is_http_url("file:///etc/passwd")
    assert not logic.is_http_url("a.b/rss")


# ---------------------------------------------------------------- text


def test_html_to_text_drops_tags_scripts_and_decodes_entities() -> None:
    html = "<p>Bitcoin <b>surged</b> &amp; held</p><script>track()</script><p>Next&nbsp;line</p>"
    assert logic.html_to_text(html) == "Bitcoin surged & held Next line"


def test_clean_text_removes_nul_and_control_characters_and_cuts() -> None:
    assert logic.clean_text("a\x00b\x07  c\n\td") == "a b c d"
    assert logic.clean_text("abcdefghij", max_chars=5) == "abcd…"


# ---------------------------------------------------------------- feed parsing


def _rss(items: str, *, prolog: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?>{prolog}<rss version="2.0"><channel><title>T</title>'
        f"{items}</channel></rss>"
    ).encode()


def test_parse_feed_reads_rss_items_with_dates_in_utc() -> None:
    feed = logic.parse_feed(
        _rss(
            "<item><title>A &amp; B</title><link>https://n.io/a?utm_source=x</link>"
            "<description>&lt;p&gt;Hi &lt;b&gt;there&lt;/b&gt;&lt;/p&gt;</description>"
            "<pubDate>Thu, 15 Jan 2026 10:00:00 +0300</pubDate><guid isPermaLink='false'>g1</guid></item>"
        ),
        feed_url="https://n.io/rss",
    )
    (entry,) = feed.entries
    assert feed.title == "T"
    assert entry.url == "https://n.io/a"
    assert entry.title == "A & B"
    assert entry.summary == "Hi there"
    assert entry.published_at == datetime(2026, 1, 15, 7, 0, tzinfo=UTC)
    assert entry.published_status == "ok"
    assert entry.guid == "g1"


def test_parse_feed_flags_missing_and_unparsable_dates() -> None:
    feed = logic.parse_feed(
        _rss(
            "<item><title>a</title><link>https://n.io/a</link></item>"
            "<item><title>b</title><link>https://n.io/b</link><pubDate>sometime soon</pubDate></item>"
        ),
        feed_url="https://n.io/rss",
    )
    assert [(e.published_at, e.published_status) for e in feed.entries] == [
        (None, "missing"),
        (None, "unparsable"),
    ]


def test_parse_feed_skips_items_without_a_usable_link_and_honours_limit() -> None:
    items = "<item><title>no link</title></item><item><title>ftp</title><link>ftp://n.io/x</link></item>"
    items += "".join(f"<item><title>t{n}</title><link>https://n.io/{n}</link></item>" for n in range(5))
    feed = logic.parse_feed(_rss(items), feed_url="https://n.io/rss", limit=4)
    assert [e.title for e in feed.entries] == ["t0", "t1"]
    assert feed.skipped == 2


def test_parse_feed_refuses_malformed_xml_with_the_parser_message() -> None:
    with pytest.raises(logic.FeedRejected, match="malformed XML: .*mismatched tag"):
        logic.parse_feed(news_peer.MALFORMED.encode(), feed_url="https://n.io/rss")


def test_parse_feed_keeps_items_with_an_undefined_html_entity_and_warns() -> None:
    feed = logic.parse_feed(
        _rss("<item><title>A&nbsp;B</title><link>https://n.io/a</link></item>"), feed_url="https://n.io/rss"
    )
    assert [e.url for e in feed.entries] == ["https://n.io/a"]
    assert feed.warning and "undefined entity" in feed.warning


def test_parse_feed_refuses_a_page_that_is_not_a_feed() -> None:
    with pytest.raises(logic.FeedRejected, match="not an RSS or Atom feed"):
        logic.parse_feed(
            b"<html><body><p>hi</p></body></html>", feed_url="https://n.io/", content_type="text/html"
        )


def test_billion_laughs_is_refused_before_any_expansion() -> None:
    payload = news_peer.billion_laughs(levels=12).encode()  # would expand to 10^11 "lol"s
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(logic.FeedRejected, match="entit"):
            logic.parse_feed(payload, feed_url="https://n.io/rss")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5 * 2**20
    assert time.perf_counter() - started < 5  # generous: an expansion would not finish at all


def test_external_entities_are_refused_and_never_fetched() -> None:
    prolog = '<!DOCTYPE rss [<!ENTITY xxe SYSTEM "http://127.0.0.1:9/secret">]>'
    with pytest.raises(logic.FeedRejected, match="entit"):
        logic.parse_feed(
            _rss("<item><title>&xxe;</title></item>", prolog=prolog), feed_url="https://n.io/rss"
        )


def test_a_doctype_naming_an_external_dtd_is_accepted_without_fetching_it() -> None:
    prolog = (
        '<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" "http://127.0.0.1:9/rss.dtd">'
    )
    feed = logic.parse_feed(
        _rss("<item><title>t</title><link>https://n.io/t</link></item>", prolog=prolog),
        feed_url="https://n.io/",
    )
    assert [e.title for e in feed.entries] == ["t"]


def test_windows_1251_feed_is_decoded() -> None:
    rendered = news_peer.render_rss(news_peer.RU_1251, "http://peer").encode("windows-1251")
    feed = logic.parse_feed(
        rendered,
        feed_url="http://peer/feeds/ru-1251.rss",
        content_type="application/rss+xml; charset=windows-1251",
    )
    assert feed.title == "Криптоновости"
    assert [e.title for e in feed.entries] == [item.title for item in news_peer.RU_1251.items]


def test_atom_relative_links_resolve_against_the_feed_url() -> None:
    rendered = news_peer.render_atom(news_peer.ALTCOINS, "http://peer:1").encode()
    feed = logic.parse_feed(rendered, feed_url="http://peer:1/feeds/altcoins.atom")
    assert feed.entries[0].url == "http://peer:1/articles/uni-fee-switch"
    assert feed.entries[0].published_status == "ok"


def test_unique_by_url_keeps_the_first_and_counts_repeats() -> None:
    a1 = logic.ArticleDraft("https://a", "first", "", None, None, "missing")
    a2 = logic.ArticleDraft("https://a", "second", "", None, None, "missing")
    b = logic.ArticleDraft("https://b", "b", "", None, None, "missing")
    assert logic.unique_by_url([a1, b, a2]) == ([a1, b], 1)


# ---------------------------------------------------------------- tags


@pytest.mark.parametrize(
    ("text", "tags"),
    [
        ("Bitcoin surges to record high", ["BTC"]),
        ("BTC and $eth rally; XRP flat", ["BTC", "ETH", "XRP"]),
        ("btc dominance rises", ["BTC"]),
        ("Bitcoin Cash (BCH) rallies", ["BCH"]),
        ("Wrapped Bitcoin supply grows", ["WBTC"]),
        ("Ethereum Classic (ETC) forks", ["ETC"]),
        ("Chainlink (LINK) and $ONE partner up", ["LINK", "ONE", "partnership"]),
        ("Etherium gas fees fall", ["ETH"]),
        ("Биткоин обновил максимум", ["BTC"]),
        ("Майнеры биткоина", ["BTC"]),
        ("SOL/USDT breaks out", ["SOL", "USDT"]),
        ("Developers on Avalanche launch a game", ["AVAX"]),
        ("MATIC holders migrate to POL", ["POL"]),
        ("SEC sues exchange over spot ETF", ["etf", "lawsuit", "regulation"]),
        ("Fed signals rate cuts as CPI cools", ["macro"]),
        ("Exchange to delist XMR", ["XMR", "delisting"]),
        ("Binance lists a new token", ["listing"]),
        ("Hackers drained a bridge", ["hack"]),
    ],
)
def test_tags_find_coins_and_topics(text: str, tags: list[str]) -> None:
    assert logic.extract_tags(text) == tags


@pytest.mark.parametrize(
    "text",
    [
        "A solution for solid problems",  # SOL inside words
        "ONE simple LINK to NEAR-term savings",  # ambiguous tickers as words
        "El sol brilla en Madrid",  # Spanish "sol"
        "DOGE cuts federal spending",  # the US department, not the coin
        "Avalanche of liquidations",  # a capitalised common word at the start
        "Stellar results for the quarter",
        "The hackathon winners were fed pizza",  # hack inside a word; lower-case "fed"
        "Optimism returns to markets",
        "ETH2 and BTCUSD are other tokens",  # tickers glued to other characters
        "Polish delisted shares listed by Poland",  # delisted is delisting, not listing
    ],
)
def test_tags_have_no_false_hits(text: str) -> None:
    tags = logic.extract_tags(text)
    assert not [tag for tag in tags if tag.isupper()], tags
    assert "listing" not in tags and "hack" not in tags and "macro" not in tags


def test_tag_case_convention_and_symbol_mapping() -> None:
    assert logic.normalize_tag("btc") == "BTC"
    assert logic.normalize_tag(" ETF ") == "etf"
    assert lexicon.coin_tag_for_symbol("BTC/USDT") == "BTC"
    assert lexicon.coin_tag_for_symbol("eth/usdt:USDT") == "ETH"
    assert lexicon.coin_tag_for_symbol("MATIC/USDT") == "POL"


# ---------------------------------------------------------------- sentiment and language


def test_crypto_lexicon_scores_market_moves_that_plain_vader_misses() -> None:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    headline = "Bitcoin surges to record high"
    assert SentimentIntensityAnalyzer().polarity_scores(headline)["compound"] == 0.0
    assert logic.score_sentiment(headline).compound > 0.5


@pytest.mark.parametrize(
    ("text", "sign"),
    [
        ("Solana rallies as bullish traders return", 1),
        ("Kaspa hashrate hits an all-time high", 1),
        ("Ethereum plunges after exchange hack", -1),
        ("Token crashes after rug pull", -1),
        ("Exchange to delist three tokens as liquidations mount", -1),
        ("AVAX dumps in a bearish selloff", -1),
    ],
)
def test_sentiment_sign_of_clear_headlines(text: str, sign: int) -> None:
    compound = logic.score_sentiment(text).compound
    assert compound * sign > 0.05


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Bitcoin surges to a record high as ETF inflows accelerate", "en"),
        ("Биткоин обновил исторический максимум на фоне притока средств", "ru"),
        ("Bitcoin erreicht ein neues Rekordhoch, Anleger sind euphorisch", "de"),
        ("El precio de Bitcoin sube un 8% tras la aprobación del nuevo ETF", "es"),
    ],
)
def test_language_of_multilingual_headlines(text: str, lang: str) -> None:
    assert logic.detect_language(text)[0] == lang


def test_language_is_unknown_without_letters() -> None:
    assert logic.detect_language("12 345 %%% !!") == (None, None)


def test_non_english_text_gets_no_sentiment_rather_than_a_fake_zero() -> None:
    annotation = logic.annotate("Биткоин обвалился после взлома биржи", "")
    assert annotation.lang == "ru"
    assert annotation.sentiment is None
    assert annotation.tags == ["BTC", "hack"]


def test_annotate_is_deterministic() -> None:
    first = logic.annotate("Ethereum plunges after $120M bridge hack", "Attackers exploited a bug.")
    assert logic.annotate("Ethereum plunges after $120M bridge hack", "Attackers exploited a bug.") == first


# ---------------------------------------------------------------- queries


@pytest.mark.parametrize(
    ("q", "terms"),
    [
        ("bitcoin etf", ["bitcoin", "etf"]),
        ('"', []),
        ("AND", ["AND"]),
        ("bitcoin*(", ["bitcoin"]),
        ("title:x OR -y ^z", ["title", "x", "OR", "y", "z"]),
        ("Биткоин  биткоин", ["Биткоин"]),
    ],
)
def test_query_terms_keep_only_words(q: str, terms: list[str]) -> None:
    assert logic.query_terms(q) == terms


def test_fts5_query_quotes_every_term() -> None:
    assert logic.fts5_query(["NEAR", "a"]) == '"NEAR" "a"'


# ---------------------------------------------------------------- purity


def test_a_feed_in_another_encoding_than_declared_is_refused_not_stored_as_mojibake() -> None:
    body = _rss("<item><title>Биткоин растёт</title><link>https://n.io/a</link></item>").decode()
    with pytest.raises(logic.FeedRejected, match="wrong encoding: document declared as utf-8"):
        logic.parse_feed(body.encode("windows-1251"), feed_url="https://n.io/rss")
