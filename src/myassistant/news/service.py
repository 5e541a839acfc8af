"""News in the database: ingest feeds, analyze articles, search and read them."""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import httpx
import numpy as np
from sqlalchemy import (
    Float,
    Select,
    String,
    Text,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    select,
    text,
    type_coerce,
    update,
)
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from myassistant.core import clock, configdocs
from myassistant.core.config import Settings
from myassistant.core.db import insert_ignoring_conflicts
from myassistant.core.errors import InvalidInput
from myassistant.news import logic, sources
from myassistant.news.schemas import (
    AnalyzeReport,
    AnnotatedArticleRead,
    ArticleRead,
    FeedRead,
    FeedResult,
    FetchReport,
    HeadlineRead,
    NewsFetchConfig,
    SearchHit,
)
from myassistant.news.tables import FTS_TABLE, Article, ArticleAnnotation, ArticleTag, Feed

if TYPE_CHECKING:  # pandas loads with the first news frame, not when the service starts
    import pandas as pd


logger = logging.getLogger("myassistant.news")

FETCH_CONFIG = configdocs.register("news_fetch", NewsFetchConfig)
INSERT_BATCH = 500
SEARCH_CANDIDATES = 500
MAX_FEEDS_PER_FETCH = 200

Progress = Callable[[int, int], None]

# ---------------------------------------------------------------- ingestion


def validate_feed_urls(urls: Sequence[str]) -> list[str]:
    """Stripped, de-duplicated http(s) URLs; anything else is refused naming the URL."""
    cleaned: list[str] = []
    for raw in urls:
        url = raw.strip()
        if (
            not logic.is_http_url(url)
            or len(url) > 2048
            or any(ch.isspace() or not ch.isprintable() for ch in url)
        ):
            raise InvalidInput(f"not an http(s) feed URL: {raw!r}", url=raw)
        if url not in cleaned:
            cleaned.append(url)
    if not cleaned:
        raise InvalidInput("no feeds to fetch: pass feeds or set NEWS_FEEDS")
    if len(cleaned) > MAX_FEEDS_PER_FETCH:
        raise InvalidInput(f"too many feeds: {len(cleaned)} (at most {MAX_FEEDS_PER_FETCH})")
    return cleaned


def fetch_options(session: Session) -> sources.FetchOptions:
    """Timeout, concurrency and size cap from the `news_fetch` config document."""
    config = configdocs.get(session, FETCH_CONFIG).value
    return sources.FetchOptions(
        timeout_s=config.timeout_s,
        concurrency=config.concurrency,
        max_bytes=config.max_bytes,
        retries=config.retries,
        retry_backoff_s=config.retry_backoff_s,
    )


def _feed_rows(session: Session, urls: list[str]) -> dict[str, Feed]:
    now = clock.now()
    session.execute(
        insert_ignoring_conflicts(
            session,
            Feed.__table__,
            [{"url": url, "consecutive_failures": 0, "created_at": now} for url in urls],
        )
    )
    rows = session.scalars(select(Feed).where(Feed.url.in_(urls))).all()
    return {row.url: row for row in rows}


def fetch_news(
    session: Session,
    *,
    settings: Settings,
    feeds: list[str] | None = None,
    limit: int | None = None,
    options: sources.FetchOptions | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    progress: Progress | None = None,
) -> FetchReport:
    """Fetch every feed concurrently and store new articles; one broken feed never stops the rest.

    Commits after each feed (and before the network phase), so a long fetch never holds SQLite's
    write lock while waiting on the network and a crash keeps what was already stored.
    """
    urls = validate_feed_urls(feeds if feeds is not None else settings.news_feeds)
    started_at = clock.now()
    options = options or fetch_options(session)
    rows = _feed_rows(session, urls)
    requests = [sources.FeedRequest(url, rows[url].etag, rows[url].last_modified) for url in urls]
    feed_ids = {url: rows[url].id for url in urls}
    session.commit()

    done = 0

    def on_done(_response: sources.FeedResponse) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, len(urls))

    responses = sources.fetch_all_sync(
        requests,
        options=options,
        transport=transport,
        on_done=on_done,
        allow_private=settings.news_allow_private_hosts,
    )
    results = [_store_response(session, feed_ids[r.url], r, limit=limit) for r in responses]
    return FetchReport(
        feeds=results,
        new=sum(r.new for r in results),
        duplicate=sum(r.duplicate for r in results),
        not_modified=sum(r.status == "not_modified" for r in results),
        errors=sum(r.status == "error" for r in results),
        started_at=started_at,
        finished_at=clock.now(),
    )


def _store_response(
    session: Session, feed_id: int, response: sources.FeedResponse, *, limit: int | None
) -> FeedResult:
    result = FeedResult(
        url=response.url,
        status=response.outcome,
        http_status=response.http_status,
        error=response.error,
        elapsed_ms=response.elapsed_ms,
        attempts=response.attempts,
    )
    try:
        if response.outcome == "ok":
            result = _store_feed_content(session, feed_id, response, result, limit=limit)
        else:
            _record_outcome(session, feed_id, result)
        session.commit()
    except SQLAlchemyError as exc:
        session.rollback()
        logger.exception("storing feed %s failed", response.url)
        result = result.model_copy(
            update={"status": "error", "error": f"storing failed: {type(exc).__name__}"}
        )
        _record_outcome(session, feed_id, result)
        session.commit()
    if result.status == "error":
        logger.warning("feed %s: %s", response.url, result.error)
    return result


def _store_feed_content(
    session: Session, feed_id: int, response: sources.FeedResponse, result: FeedResult, *, limit: int | None
) -> FeedResult:
    try:
        parsed = logic.parse_feed(
            response.content or b"", feed_url=response.url, content_type=response.content_type, limit=limit
        )
    except logic.FeedRejected as exc:
        return _failed(session, feed_id, result, str(exc))
    except Exception as exc:  # a parser bug on one odd feed must not stop the others
        logger.exception("parsing feed %s failed", response.url)
        return _failed(session, feed_id, result, f"could not parse the feed: {type(exc).__name__}")
    drafts, repeats = logic.unique_by_url(parsed.entries)
    source = parsed.title or logic.host_of(response.url) or response.url
    new = _insert_articles(session, drafts, source=source[:200], feed_id=feed_id)
    stored = result.model_copy(
        update={
            "entries": len(parsed.entries) + parsed.skipped,
            "new": new,
            "duplicate": len(drafts) - new + repeats,
            "skipped": parsed.skipped,
            "warning": parsed.warning,
        }
    )
    _record_outcome(
        session,
        feed_id,
        stored,
        etag=response.etag,
        last_modified=response.last_modified,
        title=parsed.title,
    )
    return stored


def _failed(session: Session, feed_id: int, result: FeedResult, reason: str) -> FeedResult:
    failed = result.model_copy(update={"status": "error", "error": reason})
    _record_outcome(session, feed_id, failed)
    return failed


def _insert_articles(session: Session, drafts: list[logic.ArticleDraft], *, source: str, feed_id: int) -> int:
    """Insert in one statement per batch, skipping URLs already stored; returns how many were new."""
    now = clock.now()
    new = 0
    table = Article.__table__
    for start in range(0, len(drafts), INSERT_BATCH):
        rows = [
            {
                "url": draft.url,
                "title": draft.title,
                "summary": draft.summary,
                "source": source,
                "feed_id": feed_id,
                "guid": draft.guid,
                "published_at": draft.published_at,
                "published_status": draft.published_status,
                "first_seen_at": now,
            }
            for draft in drafts[start : start + INSERT_BATCH]
        ]
        statement = insert_ignoring_conflicts(session, table, rows).returning(table.c.id)
        new += len(session.execute(statement).all())
    return new


def _record_outcome(
    session: Session,
    feed_id: int,
    result: FeedResult,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    title: str | None = None,
) -> None:
    now = clock.now()
    values: dict[str, Any] = {
        "last_status": result.status,
        "last_http_status": result.http_status,
        "last_fetched_at": now,
    }
    if result.status == "error":
        values |= {"last_error": result.error, "consecutive_failures": Feed.consecutive_failures + 1}
    else:
        values |= {"last_error": result.warning, "consecutive_failures": 0, "last_success_at": now}
    if result.status == "ok":
        values |= {"etag": _cut(etag, 512), "last_modified": _cut(last_modified, 128)}
        if title:
            values["title"] = title[:200]
    session.execute(update(Feed).where(Feed.id == feed_id).values(**values))


def _cut(value: str | None, length: int) -> str | None:
    return value if value is None or len(value) <= length else None


def list_feeds(session: Session, *, min_consecutive_failures: int = 0) -> list[FeedRead]:
    """Feed health, worst first; `min_consecutive_failures` picks the feeds worth an alert."""
    rows = session.scalars(
        select(Feed)
        .where(Feed.consecutive_failures >= min_consecutive_failures)
        .order_by(Feed.consecutive_failures.desc(), Feed.url)
    ).all()
    return [FeedRead.model_validate(row) for row in rows]


# ---------------------------------------------------------------- analysis


def _unannotated() -> ColumnElement[bool]:
    return ~exists().where(ArticleAnnotation.article_id == Article.id)


def analyze_news(
    session: Session, *, batch_size: int = 500, limit: int | None = None, progress: Progress | None = None
) -> AnalyzeReport:
    """Annotate articles that have no annotation yet, in batches; running it again is a no-op.

    Commits after each batch, and reads each batch before the (CPU-bound) analysis so the
    write lock is not held while computing.
    """
    if batch_size < 1:
        raise InvalidInput("batch_size must be at least 1")
    pending = session.scalar(select(func.count()).select_from(Article).where(_unannotated())) or 0
    target = pending if limit is None else min(pending, limit)
    session.commit()
    analyzed, batches, last_id = 0, 0, 0
    by_lang: Counter[str] = Counter()
    with_sentiment = tagged = 0
    while analyzed < target:
        rows = session.execute(
            select(Article.id, Article.title, Article.summary, Article.first_seen_at)
            .where(Article.id > last_id, _unannotated())
            .order_by(Article.id)
            .limit(min(batch_size, target - analyzed))
        ).all()
        session.commit()
        if not rows:
            break
        last_id = rows[-1].id
        annotations = {row.id: logic.annotate(row.title, row.summary) for row in rows}
        inserted = _store_annotations(session, rows, annotations)
        session.commit()
        batches += 1
        analyzed += len(inserted)
        for article_id in inserted:
            annotation = annotations[article_id]
            by_lang[annotation.lang or "unknown"] += 1
            with_sentiment += annotation.sentiment is not None
            tagged += bool(annotation.tags)
        if progress is not None:
            progress(analyzed, target)
    remaining = session.scalar(select(func.count()).select_from(Article).where(_unannotated())) or 0
    return AnalyzeReport(
        analyzed=analyzed,
        remaining=remaining,
        batches=batches,
        by_lang=dict(by_lang),
        with_sentiment=with_sentiment,
        tagged=tagged,
        analyzer_version=logic.ANALYZER_VERSION,
    )


def _store_annotations(
    session: Session, rows: Sequence[Any], annotations: dict[int, logic.Annotation]
) -> list[int]:
    """Insert annotations (and tags for the ones this run inserted); concurrent runs never double."""
    now = clock.now()
    records = []
    for row in rows:
        annotation = annotations[row.id]
        sentiment = annotation.sentiment
        records.append(
            {
                "article_id": row.id,
                "lang": annotation.lang,
                "lang_score": annotation.lang_score,
                "compound": sentiment.compound if sentiment else None,
                "pos": sentiment.pos if sentiment else None,
                "neg": sentiment.neg if sentiment else None,
                "neu": sentiment.neu if sentiment else None,
                "tags": annotation.tags,
                "analyzer_version": logic.ANALYZER_VERSION,
                "analyzed_at": now,
            }
        )
    table = ArticleAnnotation.__table__
    inserted = list(
        session.execute(
            insert_ignoring_conflicts(session, table, records).returning(table.c.article_id)
        ).scalars()
    )
    seen_at = {row.id: row.first_seen_at for row in rows}
    tag_rows = [
        {"article_id": article_id, "tag": tag, "first_seen_at": seen_at[article_id]}
        for article_id in inserted
        for tag in annotations[article_id].tags
    ]
    if tag_rows:
        session.execute(insert_ignoring_conflicts(session, ArticleTag.__table__, tag_rows))
    return inserted


# ---------------------------------------------------------------- reads

_ARTICLE_COLUMNS = (
    Article.id,
    Article.url,
    Article.title,
    Article.summary,
    Article.source,
    Article.published_at,
    Article.published_status,
    Article.first_seen_at,
)
_ANNOTATION_COLUMNS = (
    ArticleAnnotation.lang,
    ArticleAnnotation.compound,
    ArticleAnnotation.pos,
    ArticleAnnotation.neg,
    ArticleAnnotation.neu,
    ArticleAnnotation.tags,
    ArticleAnnotation.analyzer_version,
    ArticleAnnotation.analyzed_at,
)


def _utc(value: datetime, name: str) -> datetime:
    """`value` in UTC; a time that cannot be expressed in UTC (year 9999 at UTC-14) is bad input."""
    try:
        return clock.ensure_utc(value)
    except ValueError as exc:
        raise InvalidInput(f"{name}: {exc}") from None


def latest(
    session: Session, *, limit: int = 50, source: str | None = None, since: datetime | None = None
) -> list[ArticleRead]:
    """Newest first by `first_seen_at`; `source` matches part of the source name in any case."""
    query = select(*_ARTICLE_COLUMNS).order_by(Article.first_seen_at.desc(), Article.id.desc()).limit(limit)
    source = logic.clean_text(source or "")
    if source:
        query = query.where(Article.source.icontains(source, autoescape=True))
    if since is not None:
        query = query.where(Article.first_seen_at >= _utc(since, "since"))
    return [ArticleRead.model_validate(row._mapping) for row in session.execute(query)]


def annotated(session: Session, *, limit: int = 50, lang: str | None = None) -> list[AnnotatedArticleRead]:
    """Annotated articles, newest first, optionally in one language."""
    query = (
        select(*_ARTICLE_COLUMNS, *_ANNOTATION_COLUMNS)
        .join(ArticleAnnotation, ArticleAnnotation.article_id == Article.id)
        .order_by(Article.first_seen_at.desc(), Article.id.desc())
        .limit(limit)
    )
    if lang:
        query = query.where(ArticleAnnotation.lang == lang.strip().lower())
    return [AnnotatedArticleRead.model_validate(row._mapping) for row in session.execute(query)]


def _tag_query(tag: str, before: datetime | None) -> Select[Any]:
    query = (
        select(ArticleTag.article_id)
        .where(ArticleTag.tag == logic.normalize_tag(tag))
        .order_by(ArticleTag.first_seen_at.desc(), ArticleTag.article_id.desc())
    )
    if before is not None:
        query = query.where(ArticleTag.first_seen_at < _utc(before, "before"))
    return query


def by_tag(session: Session, *, tag: str, limit: int = 50) -> list[AnnotatedArticleRead]:
    """Articles with the tag (case-insensitive: "btc" finds BTC, "ETF" finds etf), newest first."""
    ids = _tag_query(tag, None).limit(limit).subquery()
    query = (
        select(*_ARTICLE_COLUMNS, *_ANNOTATION_COLUMNS)
        .join(ids, ids.c.article_id == Article.id)
        .join(ArticleAnnotation, ArticleAnnotation.article_id == Article.id)
        .order_by(Article.first_seen_at.desc(), Article.id.desc())
    )
    return [AnnotatedArticleRead.model_validate(row._mapping) for row in session.execute(query)]


def latest_headlines(
    session: Session, *, tag: str, limit: int = 3, before: datetime | None = None
) -> list[HeadlineRead]:
    """The newest headlines with a coin or topic tag seen strictly before `before` (point-in-time)."""
    ids = _tag_query(tag, before).limit(limit).subquery()
    query = (
        select(Article.title, Article.url, Article.source, Article.first_seen_at, ArticleAnnotation.compound)
        .join(ids, ids.c.article_id == Article.id)
        .join(ArticleAnnotation, ArticleAnnotation.article_id == Article.id)
        .order_by(Article.first_seen_at.desc(), Article.id.desc())
    )
    return [HeadlineRead.model_validate(row._mapping) for row in session.execute(query)]


FRAME_COLUMNS = ("article_id", "first_seen_at", "compound", "negative", "tags")


def annotated_news_frame(
    session: Session, *, since: datetime | None = None, until: datetime | None = None
) -> pd.DataFrame:
    """One row per annotated article with `since <= first_seen_at < until`, sorted by first_seen_at.

    Columns: article_id int64, first_seen_at datetime64[ns, UTC], compound float64 (NaN when
    sentiment is null), negative bool (compound <= -0.05), tags object (list[str]). Read as raw
    column values and converted in bulk: no ORM object per row.
    """
    seen = Article.first_seen_at
    # Times and tags as text, parsed in bulk below: per-value conversion by the driver (timestamps,
    # JSONB) costs more than the query itself at this size.
    query = (
        select(
            Article.id,
            _iso_text(session, seen),
            ArticleAnnotation.compound,
            cast(ArticleAnnotation.tags, Text),
        )
        .join(ArticleAnnotation, ArticleAnnotation.article_id == Article.id)
        .order_by(seen, Article.id)
    )
    if since is not None:
        query = query.where(seen >= _utc(since, "since"))
    if until is not None:
        query = query.where(seen < _utc(until, "until"))
    # Rows straight from the DBAPI cursor: these columns need no result processing, and
    # building 200k Row objects costs more than the query.
    result = session.connection().execute(query)
    try:
        return _news_frame(result.cursor.fetchall())
    finally:
        result.close()


def news_history_start(session: Session) -> datetime | None:
    """When the system's news history starts: the earliest `first_seen_at` of an annotated article.

    Dataset and live-row builds pass it to the features, so a recent slice of the news is judged
    like the full history. Walks `ix_articles_first_seen_at` from the start to the first annotated row.
    """
    query = (
        select(Article.first_seen_at)
        .where(exists().where(ArticleAnnotation.article_id == Article.id))
        .order_by(Article.first_seen_at)
        .limit(1)
    )
    return session.execute(query).scalar_one_or_none()


def _iso_text(session: Session, column: Any) -> ColumnElement[str]:
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", column), 'YYYY-MM-DD"T"HH24:MI:SS.US')
    return type_coerce(column, String)  # SQLite stores naive UTC text already


def _news_frame(rows: Sequence[Any]) -> pd.DataFrame:
    import pandas as pd

    ids, seen, compound, tags = (
        (list(column) for column in zip(*rows, strict=True)) if rows else ([], [], [], [])
    )
    frame = pd.DataFrame(
        {
            "article_id": np.asarray(ids, dtype="int64"),
            "first_seen_at": _utc_times(seen),
            "compound": np.asarray(
                [np.nan if value is None else value for value in compound], dtype="float64"
            ),
            "tags": pd.Series(_tag_lists(tags), dtype=object),
        }
    )
    frame["negative"] = frame["compound"].le(logic.NEGATIVE_COMPOUND)
    return frame.loc[:, list(FRAME_COLUMNS)]


def _utc_times(values: list[str]) -> pd.Series:
    import pandas as pd

    parsed = pd.to_datetime(pd.Series(values, dtype=object), utc=True, format="ISO8601")
    return parsed.astype("datetime64[ns, UTC]")


def _tag_lists(values: list[str]) -> list[list[str]]:
    """JSON tag arrays as lists: few distinct sets repeat across many rows, so each is decoded once
    and every row gets its own copy."""
    decoded: dict[str, list[str]] = {}
    for raw in values:
        if raw not in decoded:
            decoded[raw] = json.loads(raw)
    return [list(decoded[raw]) for raw in values]


# ---------------------------------------------------------------- search


def _search_terms(q: str) -> list[str]:
    if not q or not q.strip():
        raise InvalidInput("q must not be empty")
    terms = logic.query_terms(q)
    if not terms:
        raise InvalidInput(f"q has no words to search for (letters or digits): {q!r}")
    return terms


def fts_available(session: Session) -> bool:
    """True when the database has a full-text index (FTS5 table on SQLite, always on PostgreSQL)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return True
    if dialect != "sqlite":
        return False
    found = session.execute(
        text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = :name"), {"name": FTS_TABLE}
    ).first()
    return found is not None


def search(session: Session, *, q: str, limit: int = 20) -> list[SearchHit]:
    """Full-text search over title and summary, best match first.

    Every word must match (stemmed, any case). Relevance (bm25 / ts_rank, title weighted over
    summary) ranks the newest SEARCH_CANDIDATES matches: a common word in a large archive then
    costs the same as a rare one, and recent news wins over old news of equal relevance.
    """
    terms = _search_terms(q)
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return _search_postgres(session, terms, limit)
    if fts_available(session):
        return _search_fts5(session, terms, limit)
    return search_like(session, q=q, limit=limit)


def _hits(session: Session, scored: Any, limit: int) -> list[SearchHit]:
    query = (
        select(*_ARTICLE_COLUMNS, scored.c.score)
        .join(scored, scored.c.id == Article.id)
        .order_by(scored.c.score.desc(), Article.id.desc())
        .limit(limit)
    )
    return [SearchHit.model_validate(row._mapping) for row in session.execute(query)]


def _search_fts5(session: Session, terms: list[str], limit: int) -> list[SearchHit]:
    # bm25 is lower-is-better; negated so every backend reports higher-is-better.
    scored = (
        text(
            f"SELECT rowid AS id, -bm25({FTS_TABLE}, 4.0, 1.0) AS score FROM {FTS_TABLE} "  # noqa: S608 - constant name
            f"WHERE {FTS_TABLE} MATCH :match ORDER BY rowid DESC LIMIT :candidates"
        )
        .bindparams(match=logic.fts5_query(terms), candidates=SEARCH_CANDIDATES)
        .columns(id=Article.id.type, score=Float())
        .subquery("scored")
    )
    return _hits(session, scored, limit)


def _search_postgres(session: Session, terms: list[str], limit: int) -> list[SearchHit]:
    # psycopg prepares a statement after a few runs; a generic plan cannot know whether the words
    # are common (walk the newest rows) or rare (use the GIN index) and is 50x slower for one of them.
    session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    scored = (
        text(
            "SELECT id, ts_rank(fts_tsv, plainto_tsquery('english', :words)) AS score FROM "
            "(SELECT id, fts_tsv FROM articles WHERE fts_tsv @@ plainto_tsquery('english', :words) "
            "ORDER BY id DESC LIMIT :candidates) AS candidates"
        )
        .bindparams(words=" ".join(terms), candidates=SEARCH_CANDIDATES)
        .columns(id=Article.id.type, score=Float())
        .subquery("scored")
    )
    return _hits(session, scored, limit)


def search_like(session: Session, *, q: str, limit: int = 20) -> list[SearchHit]:
    """The fallback without a full-text index: every word as a substring; title hits rank higher."""
    terms = _search_terms(q)
    matches: list[ColumnElement[bool]] = []
    score: ColumnElement[Any] = literal(0)
    for term in terms:
        in_title = Article.title.icontains(term, autoescape=True)
        in_summary = Article.summary.icontains(term, autoescape=True)
        matches.append(in_title | in_summary)
        score = score + case((in_title, 2), else_=0) + case((in_summary, 1), else_=0)
    scored = select(Article.id, score.label("score")).where(and_(*matches)).subquery("scored")
    return _hits(session, scored, limit)
