"""News: fetch feeds, analyze articles, search and read them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Body, Query, Request

from myassistant.api.configdoc_routes import add_config_doc_routes
from myassistant.api.deps import SessionDep
from myassistant.api.jobs import RUN_RESPONSES, run_for_route
from myassistant.catalog.news import FetchNewsParams
from myassistant.news import service
from myassistant.news.schemas import (
    LANG_PATTERN,
    TAG_PATTERN,
    AnalyzeReport,
    AnalyzeRequest,
    AnnotatedArticleRead,
    ArticleRead,
    FetchReport,
    SearchHit,
)

router = APIRouter(tags=["News"])
add_config_doc_routes(router, "/news/fetch_config", service.FETCH_CONFIG, label="news fetch settings")


@router.post("/news/fetch", response_model=FetchReport, responses=RUN_RESPONSES)
def fetch(request: Request, body: Annotated[FetchNewsParams | None, Body()] = None) -> FetchReport:
    """Fetch every feed (NEWS_FEEDS or `feeds`) concurrently and store new articles; per-feed outcome.
    Runs the `fetch_news` job."""
    report: FetchReport = run_for_route(request, "job", "fetch_news", body)
    return report


@router.get("/news/latest", response_model=list[ArticleRead])
def latest(
    session: SessionDep,
    limit: int = Query(50, ge=1, le=500),
    source: str | None = Query(None, max_length=200, description="part of the source name, any case"),
    since: Annotated[
        datetime | None, Query(description="only articles first seen at or after this time")
    ] = None,
) -> list[ArticleRead]:
    """Newest articles first (by when this system first stored them)."""
    return service.latest(session, limit=limit, source=source, since=since)


@router.get("/news/search", response_model=list[SearchHit])
def search(
    session: SessionDep,
    q: str = Query(..., min_length=1, max_length=200, description="words to find in title and summary"),
    limit: int = Query(20, ge=1, le=100),
) -> list[SearchHit]:
    """Full-text search (every word must match), best match first."""
    return service.search(session, q=q, limit=limit)


@router.post("/news/analyze", response_model=AnalyzeReport, responses=RUN_RESPONSES)
def analyze(request: Request, body: Annotated[AnalyzeRequest | None, Body()] = None) -> AnalyzeReport:
    """Annotate every article without an annotation (language, sentiment, tags); idempotent. Runs the
    `analyze_news` job."""
    report: AnalyzeReport = run_for_route(request, "job", "analyze_news", body)
    return report


@router.get("/news/annotated", response_model=list[AnnotatedArticleRead])
def annotated(
    session: SessionDep,
    limit: int = Query(50, ge=1, le=500),
    lang: str | None = Query(None, pattern=LANG_PATTERN, description="ISO 639 code such as en, ru, de"),
) -> list[AnnotatedArticleRead]:
    """Annotated articles, newest first."""
    return service.annotated(session, limit=limit, lang=lang)


@router.get("/news/by_tag", response_model=list[AnnotatedArticleRead])
def by_tag(
    session: SessionDep,
    tag: str = Query(..., pattern=TAG_PATTERN, description="coin (BTC) or topic (etf), any case"),
    limit: int = Query(50, ge=1, le=500),
) -> list[AnnotatedArticleRead]:
    """Articles with a tag, newest first; an unknown tag gives an empty list."""
    return service.by_tag(session, tag=tag, limit=limit)
