"""News jobs for the runner: fetch the feeds, annotate new articles."""

from __future__ import annotations

from typing import Any

from myassistant.core.errors import UpstreamUnavailable
from myassistant.jobs.runner import JobContext
from myassistant.news import service

MAX_LISTED_FAILURES = 20


def fetch_news(context: JobContext) -> dict[str, Any]:
    """Fetch NEWS_FEEDS and store new articles; an error only when every feed failed."""
    with context.database.session() as session:
        report = service.fetch_news(session, settings=context.settings)
    failed = {result.url: result.error for result in report.feeds if result.status == "error"}
    if report.feeds and len(failed) == len(report.feeds):
        raise UpstreamUnavailable(
            f"all {len(failed)} feeds failed: " + "; ".join(f"{u}: {e}" for u, e in failed.items())
        )
    return {
        "feeds": len(report.feeds),
        "new": report.new,
        "duplicate": report.duplicate,
        "not_modified": report.not_modified,
        "errors": report.errors,
        "failed_feeds": dict(list(failed.items())[:MAX_LISTED_FAILURES]),
    }


def analyze_news(context: JobContext) -> dict[str, Any]:
    """Annotate every article without an annotation."""
    with context.database.session() as session:
        report = service.analyze_news(session)
    return {
        "analyzed": report.analyzed,
        "remaining": report.remaining,
        "batches": report.batches,
        "by_lang": report.by_lang,
        "analyzer_version": report.analyzer_version,
    }
