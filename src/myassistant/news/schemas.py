"""API models of the news domain, and the `news_fetch` configuration document."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from myassistant.news.sources import (
    DEFAULT_CONCURRENCY,
    DEFAULT_RETRIES,
    DEFAULT_RETRY_BACKOFF_S,
    DEFAULT_TIMEOUT_S,
    MAX_FEED_BYTES,
)

TAG_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$"
LANG_PATTERN = r"^[A-Za-z]{2,3}$"


class NewsFetchConfig(BaseModel):
    """How feeds are fetched (stored as the `news_fetch` config document)."""

    model_config = ConfigDict(extra="forbid")

    timeout_s: float = Field(DEFAULT_TIMEOUT_S, gt=0, le=300, description="deadline per feed request")
    concurrency: int = Field(DEFAULT_CONCURRENCY, ge=1, le=64, description="feeds fetched at once")
    max_bytes: int = Field(MAX_FEED_BYTES, ge=1024, le=50 * 2**20, description="largest accepted response")
    retries: int = Field(
        DEFAULT_RETRIES, ge=0, le=5, description="further attempts after a connection error, 429 or 5xx"
    )
    retry_backoff_s: float = Field(
        DEFAULT_RETRY_BACKOFF_S, ge=0, le=60, description="wait before the first retry; doubles per retry"
    )


# http(s), a host, no whitespace or control characters.
FEED_URL_PATTERN = r"^https?://[^\s/?#\x00-\x1f\x7f-\x9f]+[^\s\x00-\x1f\x7f-\x9f]*$"


def _feed_urls(schema: dict[str, Any]) -> None:
    """Schema: what service.validate_feed_urls accepts, at least one http(s) URL without spaces."""
    for option in schema.get("anyOf", []):
        if option.get("type") == "array":
            option["minItems"] = 1
            option["items"] = {"type": "string", "maxLength": 2048, "pattern": FEED_URL_PATTERN}


class FetchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    feeds: list[str] | None = Field(
        None,
        max_length=200,
        description="http(s) feed URLs to fetch instead of NEWS_FEEDS",
        examples=[["https://www.coindesk.com/arc/outboundfeeds/rss/"]],
        json_schema_extra=lambda schema: _feed_urls(schema),
    )
    limit: int | None = Field(None, ge=1, le=1000, description="take at most this many items from each feed")


class FeedResult(BaseModel):
    """One feed's outcome: "ok", "not_modified" (304) or "error" with the reason."""

    url: str
    status: Literal["ok", "not_modified", "error"]
    http_status: int | None = None
    entries: int = 0
    new: int = 0
    duplicate: int = 0
    skipped: int = 0
    error: str | None = None
    warning: str | None = None
    elapsed_ms: float = 0.0
    attempts: int = Field(1, description="requests made, retries included")


class FetchReport(BaseModel):
    feeds: list[FeedResult]
    new: int
    duplicate: int
    not_modified: int
    errors: int
    started_at: datetime
    finished_at: datetime


class AnalyzeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int | None = Field(None, ge=1, le=1_000_000, description="annotate at most this many articles")
    batch_size: int = Field(500, ge=1, le=5000)


class AnalyzeReport(BaseModel):
    analyzed: int
    remaining: int
    batches: int
    by_lang: dict[str, int]
    with_sentiment: int
    tagged: int
    analyzer_version: str


class ArticleRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    url: str
    title: str
    summary: str
    source: str
    published_at: datetime | None
    published_status: str = Field(description='"ok", or why published_at is null: "missing", "unparsable"')
    first_seen_at: datetime = Field(description="when this system first stored the article")


class SearchHit(ArticleRead):
    score: float = Field(description="relevance (bm25 on SQLite, ts_rank on PostgreSQL); higher is better")


class AnnotatedArticleRead(ArticleRead):
    lang: str | None
    compound: float | None = Field(description="VADER compound in [-1, 1]; null for non-English text")
    pos: float | None
    neg: float | None
    neu: float | None
    tags: list[str]
    analyzer_version: str
    analyzed_at: datetime


class HeadlineRead(BaseModel):
    """A headline as quoted in signal explanations and notifications."""

    title: str
    url: str
    source: str
    first_seen_at: datetime
    compound: float | None


class FeedRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    url: str
    title: str | None
    last_status: str | None
    last_http_status: int | None
    last_error: str | None
    last_fetched_at: datetime | None
    last_success_at: datetime | None
    consecutive_failures: int
