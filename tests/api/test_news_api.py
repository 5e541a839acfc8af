"""The News endpoints over HTTP, with the news peer as the feeds' server."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from myassistant.core import configdocs
from myassistant.news import service
from myassistant.news.schemas import NewsFetchConfig
from myassistant.peers import news as news_peer
from tests.fixtures.news_peer import TEST_FETCH_TIMEOUT_S


@pytest.fixture
def news_client(client: TestClient, database) -> TestClient:
    """The API client with a short feed deadline, so the slow feed is reported quickly."""
    with database.session() as session:
        configdocs.put(session, service.FETCH_CONFIG, NewsFetchConfig(timeout_s=TEST_FETCH_TIMEOUT_S))
    return client


@pytest.fixture
def loaded(news_client: TestClient, news_peer_urls) -> TestClient:
    response = news_client.post("/news/fetch", json={"feeds": news_peer_urls.good()})
    assert response.status_code == 200, response.text
    assert news_client.post("/news/analyze").status_code == 200
    return news_client


def test_fetch_reports_each_feed_and_a_second_fetch_adds_nothing(news_client, news_peer_urls) -> None:
    feeds = [*news_peer_urls.good(), *news_peer_urls.broken("malformed", "slow", "error")]
    first = news_client.post("/news/fetch", json={"feeds": feeds}).json()
    assert first["new"] == len(news_peer.unique_items()) and first["errors"] == 3
    statuses = {r["url"].rsplit("/", 1)[1]: (r["status"], r["error"]) for r in first["feeds"]}
    assert statuses["slow.rss"] == ("error", f"timed out after {TEST_FETCH_TIMEOUT_S:g} s")
    assert statuses["error.rss"] == ("error", "HTTP 500 Internal Server Error")

    second = news_client.post("/news/fetch", json={"feeds": feeds}).json()
    assert second["new"] == 0 and second["not_modified"] == 2


def test_fetch_without_a_body_uses_the_configured_feeds(make_settings, database, news_peer_urls) -> None:
    from myassistant.api.app import create_app

    settings = make_settings(news_feeds=[news_peer_urls.url("ru-1251")])
    with TestClient(create_app(settings, database=database)) as client:
        report = client.post("/news/fetch").json()
    assert [(f["url"], f["new"]) for f in report["feeds"]] == [(news_peer_urls.url("ru-1251"), 4)]


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"feeds": ["ftp://127.0.0.1/feed.rss"]}, "ftp://127.0.0.1/feed.rss"),
        ({"feeds": ["not a url"]}, "not a url"),
        ({"feeds": []}, "no feeds"),
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"feeds": "http://127.0.0.1/x"}, "feeds"),
        ({"unknown": 1}, "unknown"),
    ],
)
def test_fetch_rejects_bad_input_with_422(news_client, body, needle: str) -> None:
    response = news_client.post("/news/fetch", json=body)
    assert response.status_code == 422
    assert needle in response.json()["detail"]


def test_analyze_counts_and_is_idempotent(news_client, news_peer_urls) -> None:
    news_client.post("/news/fetch", json={"feeds": [news_peer_urls.url("world")]})
    first = news_client.post("/news/analyze", json={"batch_size": 4}).json()
    assert first["analyzed"] == 12 and first["batches"] == 3 and first["by_lang"]["ru"] == 3
    assert news_client.post("/news/analyze").json()["analyzed"] == 0


@pytest.mark.parametrize("body", [{"batch_size": 0}, {"limit": 0}, {"extra": True}])
def test_analyze_rejects_bad_input(news_client, body) -> None:
    assert news_client.post("/news/analyze", json=body).status_code == 422


def test_latest_search_annotated_and_by_tag(loaded: TestClient) -> None:
    latest = loaded.get("/news/latest", params={"limit": 5}).json()
    assert len(latest) == 5 and {"url", "title", "first_seen_at", "published_status"} <= set(latest[0])

    hits = loaded.get("/news/search", params={"q": "bitcoin record high"}).json()
    assert hits[0]["url"].endswith("/articles/btc-record-high") and hits[0]["score"] > 0

    russian = loaded.get("/news/annotated", params={"lang": "ru", "limit": 100}).json()
    assert len(russian) == 7 and all(a["compound"] is None for a in russian)

    etf = loaded.get("/news/by_tag", params={"tag": "ETF"}).json()
    assert etf and all("etf" in a["tags"] for a in etf)
    btc = loaded.get("/news/by_tag", params={"tag": "btc", "limit": 2}).json()
    assert len(btc) == 2 and all("BTC" in a["tags"] for a in btc)


def test_unknown_tag_is_an_empty_list(loaded: TestClient) -> None:
    response = loaded.get("/news/by_tag", params={"tag": "NOSUCHCOIN"})
    assert response.status_code == 200 and response.json() == []


def test_latest_filters_by_source_and_since(loaded: TestClient) -> None:
    world = loaded.get("/news/latest", params={"source": "crypto world", "limit": 500}).json()
    assert world and {a["source"] for a in world} == {"Crypto World"}
    future = loaded.get("/news/latest", params={"since": "2100-01-01T00:00:00Z"}).json()
    assert future == []


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/news/search", {}),
        ("/news/search", {"q": ""}),
        ("/news/search", {"q": "   "}),
        ("/news/search", {"q": '"'}),
        ("/news/search", {"q": "x" * 201}),
        ("/news/search", {"q": "bitcoin", "limit": 0}),
        ("/news/search", {"q": "bitcoin", "limit": 101}),
        ("/news/latest", {"limit": 0}),
        ("/news/latest", {"limit": 501}),
        ("/news/latest", {"since": "yesterday"}),
        ("/news/latest", {"since": "9999-12-31T23:59:59-14:00"}),
        ("/news/annotated", {"limit": 0}),
        ("/news/annotated", {"lang": "english1"}),
        ("/news/by_tag", {}),
        ("/news/by_tag", {"tag": ""}),
        ("/news/by_tag", {"tag": "b t c"}),
        ("/news/by_tag", {"tag": "btc", "limit": 501}),
    ],
)
def test_reads_reject_bad_input_with_422(news_client, path: str, params) -> None:
    response = news_client.get(path, params=params)
    assert response.status_code == 422, response.text
    assert response.json()["detail"]


@pytest.mark.parametrize("q", ["AND", "bitcoin*(", "NEAR", "title:x", "a OR b"])
def test_search_syntax_in_q_is_not_a_server_error(loaded: TestClient, q: str) -> None:
    assert loaded.get("/news/search", params={"q": q}).status_code == 200


def test_news_routes_carry_the_news_tag(news_client) -> None:
    schema = news_client.get("/openapi.json").json()
    news_ops = [
        op for path, ops in schema["paths"].items() if path.startswith("/news/") for op in ops.values()
    ]
    assert len(news_ops) == 8 and all(op["tags"] == ["News"] for op in news_ops)
