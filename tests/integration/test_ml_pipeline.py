"""End to end against the exchange peer: history → dataset → training → registry → health → train_missing."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sklearn.metrics import roc_auc_score

from myassistant.api.app import create_app
from myassistant.catalog import ml as ml_jobs
from myassistant.core.locks import held_lock, lock_dir_for, named_lock
from myassistant.jobs.runner import JobContext
from myassistant.market.tables import WatchlistEntry
from myassistant.ml import frames as frames_module
from myassistant.ml import registry
from myassistant.ml.artifacts import models_dir, sha256_of
from myassistant.ml.dataset import dataset_from_frames
from myassistant.ml.features import WARMUP_BARS
from myassistant.ml.service import TRAINING_LOCK
from myassistant.trading.costs import rates_from_bps
from tests.fixtures.ml import pair_key

TRAIN_BARS = 1500
NEEDED = TRAIN_BARS + WARMUP_BARS
PAIR: dict[str, Any] = {"exchange": "bybit", "symbol": "BTC/USDT", "timeframe": "1h", "horizon_steps": 4}
# A random walk has nothing to learn: the AUC bar starts at 0 so fresh models count as ok.
SMALL_POLICY = {"train_bars": TRAIN_BARS, "retrain_if_auc_below": 0.0}


@pytest.fixture
def api(peer_settings, database, frozen_clock):
    registry.MODEL_CACHE.clear()
    with TestClient(create_app(peer_settings, database=database)) as client:
        assert client.post("/model/policy", json=SMALL_POLICY).status_code == 200
        yield client
    registry.MODEL_CACHE.clear()


def _watch(api: TestClient, *symbols: str) -> None:
    entries = [{"symbol": s, "timeframe": "1h", "horizon_steps": 4} for s in symbols]
    assert api.post("/watchlist", json={"entries": entries}).status_code == 200


def _missing(api: TestClient) -> dict:
    response = api.post("/model/train_missing", json={})
    assert response.status_code == 200, response.text
    return response.json()


def _actions(report: dict) -> dict[str, str]:
    return {p["symbol"]: p["action"] for p in report["pairs"]}


def test_train_fetches_history_records_the_run_and_the_model_loads_to_identical_probabilities(
    api, database, peer_settings, frozen_clock
) -> None:
    response = api.post("/model/train", json={"symbol": "btc/usdt", "timeframe": "1h", "horizon_steps": 4})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["history"] == {
        "bars_needed": NEEDED,
        "bars_stored": NEEDED,
        "fetched_bars": NEEDED,
        "error": None,
    }
    run = body["run"]
    assert run["status"] == "succeeded" and run["source"] == "api" and run["rows"] == TRAIN_BARS - 5
    assert run["data_end"].startswith("2026-01-15T11:00:00")  # the last closed hourly bar at 12:00
    assert body["promotion"]["action"] == "promoted"
    directory = models_dir(peer_settings.artifacts_dir)
    assert run["model_file"].startswith("bybit_BTC-USDT_1h_h4_20260115T120000Z")
    assert sha256_of((directory / run["model_file"]).read_bytes()) == run["model_sha256"]
    meta = json.loads((directory / run["meta_file"]).read_text())
    assert meta["data_range"]["end"] == run["data_end"].replace("Z", "+00:00") and meta["news_since"] is None

    with database.session(write=False) as session:
        frames = frames_module.load_frames(session, pair=pair_key(**PAIR), bars=TRAIN_BARS)
        loaded = registry.load_model_for(session, settings=peer_settings, **PAIR)
        registry.MODEL_CACHE.clear()
        reloaded = registry.load_model_for(session, settings=peer_settings, **PAIR)
    dataset = dataset_from_frames(
        frames, symbol="BTC/USDT", timeframe="1h", horizon_steps=4, rates=rates_from_bps(10, 5)
    )
    x = dataset.features[list(loaded.features)].to_numpy()
    probs = loaded.predict(x)
    np.testing.assert_array_equal(probs, reloaded.predict(x))
    test = run["metrics"]["split"]["test"]
    rows = (dataset.features.index >= test["start"]) & (dataset.features.index <= test["end"])
    assert rows.sum() == test["rows"]
    assert roc_auc_score(dataset.labels[rows], probs[rows]) == pytest.approx(run["test_auc"], abs=1e-12)

    _watch(api, "BTC/USDT")
    [health] = api.get("/model/health").json()
    assert (health["symbol"], health["status"], health["run_id"], health["age_days"]) == (
        "BTC/USDT",
        "ok",
        run["id"],
        0,
    )
    report = _missing(api)
    assert (
        report["skipped"] == 1
        and report["trained"] == 0
        and report["pairs"][0]["reason"].startswith("ok: run")
    )
    assert len(api.get("/model/runs").json()) == 1


def test_train_missing_trains_only_the_pairs_the_policy_flags(api, frozen_clock) -> None:
    _watch(api, "BTC/USDT", "ETH/USDT")
    first = _missing(api)  # two pairs: trained in worker processes
    assert _actions(first) == {"BTC/USDT": "trained", "ETH/USDT": "trained"}
    assert {p["health"] for p in first["pairs"]} == {"missing"}
    assert all(p["fetched_bars"] == NEEDED and p["promotion"] == "promoted" for p in first["pairs"])
    assert {run["created_at"] for run in api.get("/model/runs").json()} == {"2026-01-15T12:00:00Z"}
    assert _actions(_missing(api)) == {"BTC/USDT": "skipped", "ETH/USDT": "skipped"}

    aucs = {p["symbol"]: p["test_auc"] for p in first["pairs"]}
    weaker = min(aucs, key=aucs.__getitem__)
    api.post("/model/policy", json={"retrain_if_auc_below": sum(aucs.values()) / 2})
    health = {h["symbol"]: h for h in api.get("/model/health").json()}
    assert health[weaker]["status"] == "weak" and "retrain_if_auc_below" in health[weaker]["reason"]
    weak = _missing(api)
    assert [p["symbol"] for p in weak["pairs"] if p["action"] == "trained"] == [weaker]
    # The same bars give the same model: the gate keeps the current one and says why.
    [retrained] = [p for p in weak["pairs"] if p["action"] == "trained"]
    assert retrained["promotion"] == "refused" and "does not beat" in retrained["reason"]

    api.post("/model/policy", json={"retrain_if_auc_below": 0.0})
    frozen_clock.advance(days=3)
    _watch(api, "BTC/USDT", "ETH/USDT", "SOL/USDT")
    assert _actions(_missing(api)) == {"BTC/USDT": "skipped", "ETH/USDT": "skipped", "SOL/USDT": "trained"}
    api.post("/model/policy", json={"max_age_days": 2})
    statuses = {h["symbol"]: h["status"] for h in api.get("/model/health").json()}
    assert statuses == {"BTC/USDT": "stale", "ETH/USDT": "stale", "SOL/USDT": "ok"}
    stale = _missing(api)
    assert _actions(stale) == {"BTC/USDT": "trained", "ETH/USDT": "trained", "SOL/USDT": "skipped"}
    assert {p["fetched_bars"] for p in stale["pairs"] if p["action"] == "trained"} == {72}  # 3 days of bars
    assert {p["promotion"] for p in stale["pairs"] if p["action"] == "trained"} == {"promoted"}
    assert {h["status"] for h in api.get("/model/health").json()} == {"ok"}


def test_a_failed_training_is_recorded_and_answered_with_its_4xx(api, exchange_peer) -> None:
    no_prices = api.post("/model/train", json={**PAIR, "fetch": False})
    assert no_prices.status_code == 412, no_prices.text
    assert "no prices stored for bybit BTC/USDT 1h" in no_prices.json()["detail"]
    unknown = api.post("/model/train", json={**PAIR, "symbol": "NOPE/USDT"})
    assert unknown.status_code == 422 and "NOPE/USDT" in unknown.json()["detail"]
    exchange_peer.inject("server_error", path="/kline", times=None)
    down = api.post("/model/train", json={**PAIR, "symbol": "ETH/USDT"})
    assert down.status_code in (502, 503) and down.json()["history"]["fetched_bars"] == 0
    runs = api.get("/model/runs", params={"status": "failed"}).json()
    assert [r["id"] for r in runs] == [
        down.json()["run_id"],
        unknown.json()["run_id"],
        no_prices.json()["run_id"],
    ]
    assert all(r["error"] and r["model_file"] is None for r in runs)
    assert api.get("/model/promotions").json() == []


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"symbol": "BTC"},
        {**PAIR, "horizon_steps": 0},
        {**PAIR, "fetch": "maybe"},
        {**PAIR, "x": 1},
        {"symbol": "ABCDEFGHIJKLMNO/ABCDEFGHIJKLMNO:ABCDEFGHIJ"},  # longer than any symbol column
        {**PAIR, "timeframe": "7m"},  # well formed, but no exchange has such bars
        {**PAIR, "timeframe": "1M"},  # months are not a fixed duration
    ],
)
def test_bad_train_requests_are_422_and_record_nothing(api, body: dict) -> None:
    assert api.post("/model/train", json=body).status_code == 422
    assert api.get("/model/runs").json() == []


def test_a_bad_train_missing_body_is_422(api) -> None:
    assert api.post("/model/train_missing", json={"fetch": False, "extra": 1}).status_code == 422


def test_train_missing_refuses_while_training_runs_elsewhere(api, database, peer_settings) -> None:
    _watch(api, "BTC/USDT")
    lock = named_lock(database, TRAINING_LOCK, lock_dir=lock_dir_for(database, peer_settings.artifacts_dir))
    with held_lock(lock) as got:
        assert got
        response = api.post("/model/train_missing")
        assert response.status_code == 409 and "already running" in response.json()["detail"]
    assert api.get("/model/runs").json() == []


def test_train_missing_progress_counts_only_the_pairs_it_works_on(api, database, peer_settings) -> None:
    """A watchlist pair the model tables cannot hold is left out, and so is it from the progress total."""
    _watch(api, "BTC/USDT")
    with database.session() as session:  # a legacy row: the API no longer accepts such a symbol
        at = datetime(2026, 1, 1, tzinfo=UTC)
        session.add(
            WatchlistEntry(
                exchange="bybit",
                symbol="A" * 40 + "/USDT",
                source="manual",
                meta={},
                added_at=at,
                updated_at=at,
            )
        )
    calls: list[tuple[int, int, str]] = []
    context = JobContext(
        database, peer_settings, "cli", params={"fetch": False}, progress=lambda *call: calls.append(call)
    )
    report = ml_jobs.train_missing(context).result
    assert [p.symbol for p in report.pairs] == ["BTC/USDT"]
    assert calls == [(1, 1, "BTC/USDT: failed")]


def test_models_and_datasets_use_the_paper_brokers_fee_and_slippage(api, peer_settings) -> None:
    costs = {"fee_bps": 20.0, "slippage_bps": 0.0}
    assert api.post("/trade/paper/settings", json=costs).status_code == 200
    trained = api.post("/model/train", json={"symbol": "BTC/USDT", "timeframe": "1h", "horizon_steps": 4})
    assert trained.status_code == 200, trained.text
    meta_file = models_dir(peer_settings.artifacts_dir) / trained.json()["run"]["meta_file"]
    assert json.loads(meta_file.read_text())["costs"] == costs
    _watch(api, "ETH/USDT")
    [missing] = _missing(api)["pairs"]
    run = next(r for r in api.get("/model/runs", params={"symbol": "ETH/USDT"}).json())
    assert missing["action"] == "trained"
    meta = json.loads((models_dir(peer_settings.artifacts_dir) / run["meta_file"]).read_text())
    assert meta["costs"] == costs
    built = api.post("/dataset/build", json={"symbol": "BTC/USDT", "timeframe": "1h", "horizon_steps": 4})
    assert built.status_code == 200, built.text
    assert (built.json()["params"]["fee_bps"], built.json()["params"]["slippage_bps"]) == (20.0, 0.0)
