"""Full-text search: FTS5 on SQLite, tsvector on PostgreSQL, LIKE where neither exists."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, text, update

from myassistant.core.errors import InvalidInput
from myassistant.news import logic, service
from myassistant.news.tables import Article
from tests.conftest import FROZEN_AT, using_postgres
from tests.fixtures.news_peer import add_article


@pytest.fixture
def corpus(session, frozen_clock) -> dict[str, Article]:
    rows = {
        "title": ("Bitcoin ETF approval lifts markets", "Analysts weigh the decision."),
        "summary": ("Markets wrap for Tuesday", "Traders discussed a bitcoin ETF filing among other things."),
        "both": ("Bitcoin surges as ETF inflows grow", "Bitcoin ETF demand keeps rising."),
        "eth": ("Ethereum developers ship an upgrade", "The upgrade improves fees."),
        "ru": ("Биткоин обновил максимум", "Инвесторы покупают биткоин."),
    }
    return {
        key: add_article(
            session, title=title, summary=summary, first_seen_at=FROZEN_AT + timedelta(minutes=n)
        )
        for n, (key, (title, summary)) in enumerate(rows.items())
    }


def _keys(hits, corpus) -> list[str]:
    by_id = {row.id: key for key, row in corpus.items()}
    return [by_id[hit.id] for hit in hits]


def test_title_matches_rank_above_summary_only_matches(session, corpus) -> None:
    hits = service.search(session, q="bitcoin etf")
    assert _keys(hits, corpus) == ["both", "title", "summary"]
    assert hits[0].score > hits[1].score > hits[2].score


def test_every_word_must_match_in_any_case_and_form(session, corpus) -> None:
    assert _keys(service.search(session, q="ETHEREUM upgrade"), corpus) == ["eth"]
    assert _keys(service.search(session, q="surge"), corpus) == ["both"]  # stemmed: surges
    assert service.search(session, q="bitcoin ethereum") == []


def test_search_finds_non_latin_words(session, corpus) -> None:
    assert _keys(service.search(session, q="максимум"), corpus) == ["ru"]


def test_search_limit(session, corpus) -> None:
    assert len(service.search(session, q="bitcoin", limit=2)) == 2


@pytest.mark.parametrize(
    "q", ["AND", "bitcoin*(", "NEAR", "-bitcoin", "title:bitcoin", "^bitcoin", "bitcoin OR", "a_b"]
)
def test_query_syntax_in_user_text_is_never_an_error(session, corpus, q: str) -> None:
    hits = service.search(session, q=q)
    assert isinstance(hits, list)


def test_operator_characters_are_searched_as_words(session, corpus) -> None:
    assert _keys(service.search(session, q='bitcoin* "ETF"'), corpus)[0] == "both"


@pytest.mark.parametrize("q", ["", "   ", '"', "'", "*()", "--", "_"])
def test_blank_or_wordless_queries_are_invalid(session, q: str) -> None:
    with pytest.raises(InvalidInput):
        service.search(session, q=q)


@given(q=st.text(min_size=1, max_size=40))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_text_either_searches_or_is_refused_as_invalid(session, corpus, q: str) -> None:
    if logic.query_terms(q):
        assert all(hit.score is not None for hit in service.search(session, q=q))
    else:
        with pytest.raises(InvalidInput):
            service.search(session, q=q)


def test_index_follows_updates_and_deletes(session, corpus) -> None:
    eth = corpus["eth"]
    session.execute(
        update(Article).where(Article.id == eth.id).values(title="Cardano developers ship an upgrade")
    )
    assert _keys(service.search(session, q="cardano"), corpus) == ["eth"]
    assert service.search(session, q="ethereum developers") == []
    session.execute(delete(Article).where(Article.id == eth.id))
    assert service.search(session, q="cardano") == []


def test_relevance_ranks_only_the_newest_candidates(session, corpus, monkeypatch) -> None:
    monkeypatch.setattr(service, "SEARCH_CANDIDATES", 2)
    # "title" is the oldest of the three matches, so it falls outside a window of two.
    assert _keys(service.search(session, q="bitcoin etf"), corpus) == ["both", "summary"]


def test_like_fallback_ranks_title_hits_first_and_escapes_wildcards(session, corpus) -> None:
    assert _keys(service.search_like(session, q="bitcoin etf"), corpus) == ["both", "title", "summary"]
    add_article(session, title="token axb listed", summary="")
    add_article(session, title="token a_b listed", summary="")
    assert [h.title for h in service.search_like(session, q="a_b")] == ["token a_b listed"]


def test_full_text_index_exists_after_migrations(session) -> None:
    assert service.fts_available(session)


@pytest.mark.skipif(using_postgres(), reason="drops the SQLite FTS5 table")
def test_sqlite_without_fts5_falls_back_to_like(session, corpus) -> None:
    for trigger in ("articles_fts_ai", "articles_fts_ad", "articles_fts_au"):
        session.execute(text(f"DROP TRIGGER {trigger}"))
    session.execute(text("DROP TABLE articles_fts"))
    assert not service.fts_available(session)
    assert _keys(service.search(session, q="bitcoin etf"), corpus) == ["both", "title", "summary"]
