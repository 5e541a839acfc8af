"""The scheduled jobs and the train_missing action, run through POST /automation/run against the peers."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from myassistant.api.app import create_app
from myassistant.ml import registry

TRAIN_POLICY = {"train_bars": 1000, "retrain_if_auc_below": 0.0}


@pytest.fixture
def api(make_settings, database, exchange_url, news_peer_urls, frozen_clock):
    settings = make_settings(exchange_api_override=exchange_url, news_feeds=",".join(news_peer_urls.good()))
    registry.MODEL_CACHE.clear()
    with TestClient(create_app(settings, database=database)) as client:
        yield client
    registry.MODEL_CACHE.clear()


def _run(api: TestClient, **body: object) -> dict:
    response = api.post("/automation/run", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def _watch(api: TestClient, *symbols: str) -> None:
    entries = [{"symbol": s, "timeframe": "1h", "horizon_steps": 4} for s in symbols]
    assert api.post("/watchlist", json={"entries": entries}).status_code == 200


def test_news_and_price_jobs_record_ok_runs_with_their_stats(api: TestClient, news_peer_urls) -> None:
    news = _run(api, job="fetch_news")
    assert news["status"] == "ok", news["error"]
    assert news["stats"]["feeds"] == len(news_peer_urls.good()) and news["stats"]["errors"] == 0
    assert news["stats"]["new"] > 0
    analyzed = _run(api, job="analyze_news")
    assert analyzed["status"] == "ok" and analyzed["stats"]["analyzed"] == news["stats"]["new"]
    assert analyzed["stats"]["remaining"] == 0 and analyzed["stats"]["by_lang"]["en"] > 0
    assert _run(api, job="analyze_news")["stats"]["analyzed"] == 0  # nothing new: a no-op

    _watch(api, "BTC/USDT", "ETH/USDT")
    prices = _run(api, job="fetch_prices")
    assert prices["status"] == "ok"
    assert (prices["stats"]["pairs"], prices["stats"]["new_bars"], prices["stats"]["failed"]) == (2, 2000, 0)
    assert _run(api, job="fetch_prices")["stats"]["new_bars"] == 0  # same hour: nothing new

    discovered = _run(api, job="discover_watchlist")
    assert discovered["status"] == "ok" and discovered["stats"]["exchange"] == "bybit"
    assert discovered["stats"]["discovered"] == 20 and "BTC/USDT" not in discovered["stats"]["added"]

    runs = api.get("/automation/runs").json()
    assert [(r["job"], r["status"], r["source"]) for r in runs][-1] == ("fetch_news", "ok", "api")
    assert {r["status"] for r in runs} == {"ok"} and len(runs) == 6


def test_train_models_and_train_missing_train_only_what_the_policy_says(api: TestClient) -> None:
    assert api.post("/model/policy", json=TRAIN_POLICY).status_code == 200
    _watch(api, "SOL/USDT")
    nightly = _run(api, job="train_models")
    assert nightly["status"] == "ok", nightly["error"]
    assert (nightly["stats"]["trained"], nightly["stats"]["skipped"], nightly["stats"]["failed"]) == (1, 0, 0)
    [pair] = nightly["stats"]["pairs"]
    assert pair["symbol"] == "SOL/USDT" and pair["action"] == "trained" and pair["health"] == "missing"
    [run] = api.get("/model/runs").json()
    assert run["id"] == pair["run_id"] and run["source"] == "api"
    action = _run(api, action="train_missing")
    assert action["status"] == "ok" and action["stats"]["skipped"] == 1 and action["stats"]["trained"] == 0
    bad = api.post("/automation/run", json={"action": "train_missing", "fetch": "sometimes"})
    assert bad.status_code == 422 and "fetch" in bad.json()["detail"]  # refused before a run starts
    status = {job["name"]: job for job in api.get("/automation/status").json()["jobs"]}
    assert status["train_models"]["schedule"] == "cron(hour=2, minute=0)"
    assert status["fetch_prices"]["schedule"] == "cron(minute=*/15, second=20)"
    assert list(status) == [
        "discover_watchlist",
        "fetch_news",
        "analyze_news",
        "fetch_prices",
        "make_signals",
        "train_models",
        "build_report",
        "check_alerts",
    ]


def test_a_price_job_where_every_pair_fails_is_recorded_as_an_error(api: TestClient, exchange_peer) -> None:
    _watch(api, "BTC/USDT")
    exchange_peer.inject("server_error", path="/kline", times=None)
    outcome = _run(api, job="fetch_prices")
    assert outcome["status"] == "error" and "all 1 pairs failed" in outcome["error"]


def test_a_news_job_where_every_feed_fails_is_recorded_as_an_error(
    make_settings, database, news_peer_urls
) -> None:
    settings = make_settings(news_feeds=",".join(news_peer_urls.broken("error", "malformed")))
    with TestClient(create_app(settings, database=database)) as client:
        outcome = _run(client, job="fetch_news")
    assert outcome["status"] == "error" and "all 2 feeds failed" in outcome["error"]


def test_fetch_news_takes_feeds_and_limit_as_params_and_refuses_bad_ones_before_running(
    api: TestClient, news_peer_urls
) -> None:
    good, broken = news_peer_urls.url("ru-1251"), news_peer_urls.url("error")
    outcome = _run(api, job="fetch_news", feeds=[good, broken], limit=2)
    assert outcome["status"] == "ok", outcome["error"]  # named feeds are reported one by one
    rows = {row["url"]: row for row in outcome["stats"]["results"]}
    assert (rows[good]["status"], rows[good]["new"]) == ("ok", 2)
    assert rows[broken]["status"] == "error" and "HTTP 500" in rows[broken]["error"]
    for bad_params in (
        {"feeds": ["file:///etc/passwd"]},
        {"limit": 0},
        {"feeds": [good], "since": "x"},
        {"limit": 0, "wait": False},  # a background run is refused the same way, before it starts
    ):
        refused = api.post("/automation/run", json={"job": "fetch_news", **bad_params})
        assert refused.status_code == 422, refused.text
        assert refused.json()["detail"].startswith("invalid parameters: ")
    assert [run["status"] for run in api.get("/automation/runs").json()] == ["ok"]
