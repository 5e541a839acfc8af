"""News jobs: fetch the feeds, annotate new articles (also POST /news/fetch and /news/analyze)."""

from __future__ import annotations

from typing import Any

from pydantic import field_validator

from myassistant.core.errors import InvalidInput, UpstreamUnavailable
from myassistant.jobs.runner import (
    Finished,
    JobContext,
    every_item_failed,
    listed_failures,
    parse_params,
    short_error,
)
from myassistant.news import service
from myassistant.news.schemas import AnalyzeReport, AnalyzeRequest, FeedResult, FetchRequest


class FetchNewsParams(FetchRequest):
    """The body of POST /news/fetch; the feed URLs are checked before the run starts."""

    @field_validator("feeds")
    @classmethod
    def _http_urls(cls, feeds: list[str] | None) -> list[str] | None:
        if feeds is None:
            return None
        try:
            return service.validate_feed_urls(feeds)
        except InvalidInput as exc:
            raise ValueError(exc.detail) from None


def fetch_news(context: JobContext) -> Finished:
    """Fetch NEWS_FEEDS (or params `feeds`, `limit`) and store new articles; the result is the body of
    POST /news/fetch.

    A run over NEWS_FEEDS is an error when every feed failed, so the alerts see the news go dark;
    feeds named in the params are reported one by one.
    """
    request = parse_params(FetchNewsParams, context.params)
    progress = context.progress
    with context.database.session() as session:
        report = service.fetch_news(
            session,
            settings=context.settings,
            feeds=request.feeds,
            limit=request.limit,
            progress=lambda done, total: progress(done, total, ""),
        )
    failed = {result.url: result.error for result in report.feeds if result.status == "error"}
    dark = None
    if request.feeds is None:
        dark = every_item_failed(failed, len(report.feeds), items="feeds", error=UpstreamUnavailable)
    stats = {
        "feeds": len(report.feeds),
        "new": report.new,
        "duplicate": report.duplicate,
        "not_modified": report.not_modified,
        "errors": report.errors,
        "failed_feeds": listed_failures(failed),
        # At most MAX_FEEDS_PER_FETCH rows, so the stored stats stay small.
        "results": [_feed_row(result) for result in report.feeds],
    }
    return Finished(stats, result=report, failure=dark)


def _feed_row(result: FeedResult) -> dict[str, Any]:
    return {
        "url": result.url,
        "status": result.status,
        "new": result.new,
        "duplicate": result.duplicate,
        "error": short_error(result.error),
    }


def analyze_news(context: JobContext) -> AnalyzeReport:
    """Annotate every article without an annotation (params `batch_size`, `limit`: POST /news/analyze)."""
    request = parse_params(AnalyzeRequest, context.params)
    progress = context.progress
    with context.database.session() as session:
        report = service.analyze_news(
            session,
            batch_size=request.batch_size,
            limit=request.limit,
            progress=lambda done, total: progress(done, total, ""),
        )
    return report
