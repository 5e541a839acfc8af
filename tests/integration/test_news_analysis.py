"""Analysis of stored articles and the reads built on it (by tag, frame, headlines)."""

from __future__ import annotations

import math
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select

from myassistant.news import logic, service
from myassistant.news.tables import Article, ArticleAnnotation, ArticleTag
from myassistant.peers import news as news_peer
from tests.conftest import FROZEN_AT
from tests.fixtures.news_peer import add_article


@pytest.fixture
def fetched(session, settings, news_peer_urls, fetch_options, frozen_clock):
    """Every good peer feed stored once; returns article rows keyed by slug."""
    service.fetch_news(session, settings=settings, feeds=news_peer_urls.good(), options=fetch_options)
    return {row.url.rsplit("/", 1)[1]: row for row in session.scalars(select(Article))}


def _annotations(session) -> dict[int, ArticleAnnotation]:
    return {row.article_id: row for row in session.scalars(select(ArticleAnnotation))}


def test_analysis_finds_language_tags_and_sentiment_of_every_peer_item(session, fetched) -> None:
    report = service.analyze_news(session)
    annotations = _annotations(session)

    items = news_peer.unique_items()
    assert report.analyzed == len(items) and report.remaining == 0
    for slug, item in items.items():
        annotation = annotations[fetched[slug].id]
        assert annotation.lang == item.lang, slug
        assert annotation.tags == sorted(t for t in item.tags if t.isupper()) + sorted(
            t for t in item.tags if t.islower()
        ), slug
        assert annotation.analyzer_version == logic.ANALYZER_VERSION
        if item.lang != "en":
            assert annotation.compound is None and annotation.pos is None, slug
        if item.sentiment == "positive":
            assert annotation.compound is not None and annotation.compound >= 0.05, slug
        elif item.sentiment == "negative":
            assert annotation.compound is not None and annotation.compound <= -0.05, slug
    assert report.by_lang == {"en": 25, "ru": 7, "de": 3, "es": 3}
    assert report.with_sentiment == 25


def test_analysis_is_idempotent(session, fetched, frozen_clock) -> None:
    service.analyze_news(session)
    before = {k: (v.analyzed_at, v.compound, v.tags) for k, v in _annotations(session).items()}
    tag_rows = session.scalar(select(func.count()).select_from(ArticleTag))
    frozen_clock.advance(hours=1)

    again = service.analyze_news(session)

    assert (again.analyzed, again.batches, again.remaining) == (0, 0, 0)
    assert {k: (v.analyzed_at, v.compound, v.tags) for k, v in _annotations(session).items()} == before
    assert session.scalar(select(func.count()).select_from(ArticleTag)) == tag_rows


def test_analysis_runs_in_batches_and_honours_limit(session, fetched) -> None:
    total = len(fetched)
    first = service.analyze_news(session, batch_size=5, limit=12)
    assert (first.analyzed, first.batches, first.remaining) == (12, 3, total - 12)
    rest = service.analyze_news(session, batch_size=5)
    assert rest.analyzed == total - 12 and rest.remaining == 0
    assert len(_annotations(session)) == total


def test_only_articles_without_an_annotation_are_analyzed(session, fetched, frozen_clock) -> None:
    done = list(fetched.values())[:4]
    for article in done:
        session.add(
            ArticleAnnotation(
                article_id=article.id,
                lang="xx",
                tags=[],
                analyzer_version="earlier",
                analyzed_at=FROZEN_AT - timedelta(days=1),
            )
        )
    session.flush()
    report = service.analyze_news(session)
    assert report.analyzed == len(fetched) - 4
    annotations = _annotations(session)
    assert {annotations[a.id].analyzer_version for a in done} == {"earlier"}
    pairs = session.execute(select(ArticleTag.article_id, ArticleTag.tag)).all()
    assert len(pairs) == len(set(pairs))


def test_article_tags_mirror_annotation_tags(session, fetched) -> None:
    service.analyze_news(session)
    from_tags: dict[int, list[str]] = {}
    for article_id, tag in session.execute(select(ArticleTag.article_id, ArticleTag.tag)):
        from_tags.setdefault(article_id, []).append(tag)
    expected = {a.article_id: sorted(a.tags) for a in _annotations(session).values() if a.tags}
    assert {k: sorted(v) for k, v in from_tags.items()} == expected


def test_by_tag_is_case_insensitive_and_newest_first(session, fetched, frozen_clock) -> None:
    service.analyze_news(session)
    btc = service.by_tag(session, tag="btc")
    expected = {slug for slug, item in news_peer.unique_items().items() if "BTC" in item.tags}
    assert {a.url.rsplit("/", 1)[1] for a in btc} == expected
    assert [a.first_seen_at for a in btc] == sorted((a.first_seen_at for a in btc), reverse=True)
    assert {a.url for a in service.by_tag(session, tag="ETF")} == {
        a.url for a in service.by_tag(session, tag="etf")
    }
    assert len(service.by_tag(session, tag="btc", limit=2)) == 2
    assert service.by_tag(session, tag="NOSUCHCOIN") == []


def test_annotated_filters_by_language(session, fetched) -> None:
    service.analyze_news(session)
    russian = service.annotated(session, lang="RU", limit=500)
    assert len(russian) == 7 and {a.lang for a in russian} == {"ru"}
    assert all(a.compound is None for a in russian)
    assert len(service.annotated(session, limit=3)) == 3


def test_latest_headlines_are_point_in_time(session, frozen_clock) -> None:
    early = add_article(session, title="Bitcoin rallies in early trade", first_seen_at=FROZEN_AT)
    later = add_article(
        session, title="Bitcoin plunges after hack", first_seen_at=FROZEN_AT + timedelta(hours=2)
    )
    add_article(session, title="Ethereum upgrade ships", first_seen_at=FROZEN_AT + timedelta(hours=1))
    service.analyze_news(session)

    headlines = service.latest_headlines(session, tag="BTC")
    assert [h.title for h in headlines] == [later.title, early.title]
    assert headlines[0].compound is not None and headlines[1].compound is not None
    assert headlines[0].compound < 0 < headlines[1].compound
    assert headlines[0].source == "Test Source" and headlines[0].url == later.url
    before = service.latest_headlines(session, tag="btc", before=FROZEN_AT + timedelta(hours=2))
    assert [h.title for h in before] == [early.title]  # strictly before: what we knew then
    assert service.latest_headlines(session, tag="BTC", before=FROZEN_AT) == []
    assert len(service.latest_headlines(session, tag="BTC", limit=1)) == 1


def test_annotated_news_frame_has_the_contracted_columns_and_types(session, frozen_clock) -> None:
    add_article(session, title="Ethereum plunges after hack", first_seen_at=FROZEN_AT + timedelta(minutes=2))
    add_article(session, title="Биткоин растёт", first_seen_at=FROZEN_AT)
    add_article(session, title="Solana rallies", first_seen_at=FROZEN_AT + timedelta(minutes=1))
    add_article(session, title="Not analyzed yet", first_seen_at=FROZEN_AT)
    service.analyze_news(session, limit=3)

    frame = service.annotated_news_frame(session)

    assert list(frame.columns) == ["article_id", "first_seen_at", "compound", "negative", "tags"]
    assert str(frame["article_id"].dtype) == "int64"
    assert str(frame["first_seen_at"].dtype) == "datetime64[ns, UTC]"
    assert frame["compound"].dtype == np.float64 and frame["negative"].dtype == bool
    assert frame["tags"].dtype == object
    assert frame["first_seen_at"].is_monotonic_increasing
    assert frame["first_seen_at"].tolist() == [
        pd.Timestamp(FROZEN_AT + timedelta(minutes=m)) for m in (0, 1, 2)
    ]
    russian, solana, ethereum = frame.to_dict("records")
    assert math.isnan(russian["compound"]) and not russian["negative"] and russian["tags"] == ["BTC"]
    assert solana["compound"] > 0 and not solana["negative"] and solana["tags"] == ["SOL"]
    assert ethereum["negative"] and ethereum["tags"] == ["ETH", "hack"]


def test_annotated_news_frame_window_is_half_open(session, frozen_clock) -> None:
    for minutes in (0, 1, 2, 3):
        add_article(
            session, title=f"Bitcoin note {minutes}", first_seen_at=FROZEN_AT + timedelta(minutes=minutes)
        )
    service.analyze_news(session)
    frame = service.annotated_news_frame(
        session, since=FROZEN_AT + timedelta(minutes=1), until=FROZEN_AT + timedelta(minutes=3)
    )
    assert frame["first_seen_at"].tolist() == [
        pd.Timestamp(FROZEN_AT + timedelta(minutes=1)),
        pd.Timestamp(FROZEN_AT + timedelta(minutes=2)),
    ]


def test_annotated_news_frame_is_empty_but_typed_without_data(session) -> None:
    frame = service.annotated_news_frame(session)
    assert frame.empty
    assert [str(t) for t in frame.dtypes] == ["int64", "datetime64[ns, UTC]", "float64", "bool", "object"]


def test_latest_filters_by_source_and_since(session, fetched, frozen_clock) -> None:
    assert {a.source for a in service.latest(session, source="coinwire", limit=500)} == {"CoinWire Markets"}
    assert service.latest(session, source="100%_", limit=500) == []
    assert service.latest(session, since=FROZEN_AT + timedelta(seconds=1)) == []
    newest = service.latest(session, limit=3)
    assert len(newest) == 3
    assert newest[0].id == max(a.id for a in fetched.values())
