"""News tables: feeds and their health, articles, one annotation per article, and tags for by-tag reads."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from myassistant.core.db import NEVER_REUSE_IDS, Base, BigIntPK
from myassistant.core.metadata import register_unmanaged

# Full-text objects the ORM does not manage (created by migration 0002 for one backend only):
# SQLite: the FTS5 table `articles_fts` (+ shadow tables and triggers);
# PostgreSQL: the generated column `articles.fts_tsv` and its GIN index `ix_articles_fts_tsv`.
FTS_TABLE = "articles_fts"
FTS_COLUMN = "fts_tsv"
FTS_INDEX = "ix_articles_fts_tsv"
# SQLite FTS5 table + shadow tables, the PostgreSQL GIN index and generated tsvector column: not ORM-owned.
register_unmanaged(FTS_TABLE, FTS_INDEX, FTS_COLUMN)


class Feed(Base):
    """One RSS/Atom feed: conditional-GET validators and the outcome of the last fetches."""

    __tablename__ = "feeds"
    __table_args__ = NEVER_REUSE_IDS

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    url: Mapped[str] = mapped_column(String(2048), unique=True)
    title: Mapped[str | None] = mapped_column(String(200))
    etag: Mapped[str | None] = mapped_column(String(512))
    last_modified: Mapped[str | None] = mapped_column(String(128))
    last_status: Mapped[str | None] = mapped_column(String(16))
    last_http_status: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    last_fetched_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    consecutive_failures: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime]


class Article(Base):
    """One news item under its canonical URL; `first_seen_at` is when we stored it (point-in-time key)."""

    __tablename__ = "articles"
    __table_args__ = (Index("ix_articles_first_seen_at", "first_seen_at"), NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    url: Mapped[str] = mapped_column(String(2048), unique=True)
    title: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(200))
    feed_id: Mapped[int | None] = mapped_column(BigIntPK, ForeignKey("feeds.id", ondelete="SET NULL"))
    guid: Mapped[str | None] = mapped_column(String(1024))
    published_at: Mapped[datetime | None]
    # "ok", or why published_at is null: "missing" (no date in the feed) or "unparsable".
    published_status: Mapped[str] = mapped_column(String(16))
    first_seen_at: Mapped[datetime]


class ArticleAnnotation(Base):
    """Language, sentiment (English only, else null) and tags of one article."""

    __tablename__ = "article_annotations"
    __table_args__ = (Index("ix_article_annotations_lang", "lang"),)

    article_id: Mapped[int] = mapped_column(
        BigIntPK, ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    lang: Mapped[str | None] = mapped_column(String(8))
    lang_score: Mapped[float | None]
    compound: Mapped[float | None]
    pos: Mapped[float | None]
    neg: Mapped[float | None]
    neu: Mapped[float | None]
    tags: Mapped[list[Any]]
    analyzer_version: Mapped[str] = mapped_column(String(32))
    analyzed_at: Mapped[datetime]


class ArticleTag(Base):
    """One (article, tag) pair; `first_seen_at` is copied so "newest for a tag" reads one index range."""

    __tablename__ = "article_tags"
    __table_args__ = (Index("ix_article_tags_tag_first_seen_at", "tag", "first_seen_at"),)

    article_id: Mapped[int] = mapped_column(
        BigIntPK, ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    tag: Mapped[str] = mapped_column(String(32), primary_key=True)
    first_seen_at: Mapped[datetime]
