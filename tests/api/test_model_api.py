from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from myassistant.ml import registry
from myassistant.ml.artifacts import models_dir
from tests.fixtures.ml import register_run

PAIR = {"exchange": "bybit", "symbol": "BTC/USDT", "timeframe": "15m", "horizon_steps": 12}


@pytest.fixture
def runs(database, settings, frozen_clock):
    """Two promoted runs for BTC/USDT 15m h12 (the second better) and one for ETH/USDT."""
    registry.MODEL_CACHE.clear()
    with database.session() as session:
        first = register_run(session, settings, test_auc=0.60, seed=1)
        frozen_clock.advance(hours=1)
        second = register_run(session, settings, test_auc=0.66, seed=2)
        eth = register_run(session, settings, symbol="ETH/USDT", seed=3)
        ids = (first.id, second.id, eth.id)
    yield ids
    registry.MODEL_CACHE.clear()


def test_runs_are_listed_newest_first_and_filtered(client: TestClient, runs) -> None:
    first, second, eth = runs
    assert [r["id"] for r in client.get("/model/runs").json()] == [eth, second, first]
    btc = client.get(
        "/model/runs", params={"symbol": "btc/usdt", "exchange": "BYBIT", "horizon_steps": 12}
    ).json()
    assert [r["id"] for r in btc] == [second, first]
    assert client.get("/model/runs", params={"timeframe": "1h"}).json() == []
    assert len(client.get("/model/runs", params={"limit": 1}).json()) == 1
    assert client.get("/model/runs", params={"status": "failed"}).json() == []


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 5000},
        {"timeframe": "15x"},
        {"timeframe": "7m"},
        {"horizon_steps": 0},
        {"symbol": "BTCUSDT"},
        {"status": "ok"},
    ],
)
def test_bad_run_filters_are_422(client: TestClient, params: dict) -> None:
    response = client.get("/model/runs", params=params)
    assert response.status_code == 422
    assert "query." in response.json()["detail"]


def test_active_shows_pin_promoted_newest_and_effective_choice(client: TestClient, runs) -> None:
    first, second, _ = runs
    view = client.get("/model/active", params={"symbol": "BTC/USDT"}).json()  # defaults: bybit 15m h12
    assert view["promoted_run"]["id"] == second and view["newest_run"]["id"] == second
    assert view["pinned_run"] is None and view["effective_source"] == "pair"
    assert client.get("/model/active").status_code == 422
    empty = client.get("/model/active", params={"symbol": "XRP/USDT", "horizon_steps": 3}).json()
    assert empty["effective_run"] is None and "no model" in empty["note"]
    fallback = client.get("/model/active", params={"symbol": "SOL/USDT"}).json()
    assert fallback["effective_source"] == "fallback"


def test_pin_unpin_and_rollback_through_the_api(client: TestClient, runs) -> None:
    first, second, _ = runs
    pinned = client.post("/model/active", json={**PAIR, "run_id": first})
    assert pinned.status_code == 200, pinned.text
    assert pinned.json()["effective_run"]["id"] == first and pinned.json()["effective_source"] == "pin"
    unpinned = client.post("/model/active", json={**PAIR, "action": "unpin"}).json()
    assert unpinned["effective_run"]["id"] == second
    rolled = client.post("/model/active", json={**PAIR, "action": "rollback"}).json()
    assert rolled["pinned_run"]["id"] == first
    trail = client.get("/model/promotions", params={"symbol": "BTC/USDT"}).json()
    assert [e["action"] for e in trail] == ["rolled_back", "unpinned", "pinned", "promoted", "promoted"]
    assert trail[0]["reason"] == f"rolled back from run {second} to run {first}"


def test_pin_by_registered_path_relative_or_absolute(client: TestClient, runs, settings) -> None:
    first, *_ = runs
    run = client.get("/model/runs", params={"symbol": "BTC/USDT"}).json()[-1]
    by_path = client.post(
        "/model/active", json={**PAIR, "path": str(models_dir(settings.artifacts_dir) / run["model_file"])}
    )
    assert by_path.status_code == 200 and by_path.json()["pinned_run"]["id"] == first
    relative = client.post("/model/active", json={**PAIR, "path": run["meta_file"]})
    assert relative.status_code == 200 and relative.json()["pinned_run"]["id"] == first


def test_every_path_outside_the_registry_gets_one_message_naming_no_server_path(
    client: TestClient, runs, settings, tmp_path
) -> None:
    models = models_dir(settings.artifacts_dir)
    outside = settings.artifacts_dir / "x.model.json"
    outside.write_text("{}")
    unregistered = models / "stray.model.json"
    unregistered.write_text("{}")
    paths = [
        "/etc/passwd",  # exists, outside
        str(outside),  # exists, next to the models folder
        str(tmp_path / "missing.model.json"),  # does not exist
        str(models / "missing.model.json"),  # inside, does not exist
        str(unregistered),  # inside, exists, not a registered run's file
        "stray.model.json",
        "../../etc/passwd",
        str(models),  # a directory
        "a\\..\\..\\x",
    ]
    answers = [client.post("/model/active", json={**PAIR, "path": path}) for path in paths]
    assert {response.status_code for response in answers} == {422}
    details = {response.json()["detail"] for response in answers}
    assert len(details) == 1, details
    (detail,) = details
    assert str(tmp_path) not in detail and "/etc" not in detail and "exist" not in detail


@pytest.mark.parametrize(
    "body, status",
    [
        ({**PAIR, "run_id": 999}, 404),
        ({**PAIR}, 422),
        ({**PAIR, "run_id": 1, "path": "a"}, 422),
        ({**PAIR, "action": "unpin", "run_id": 1}, 422),
        ({**PAIR, "action": "unpin"}, 412),
        ({**PAIR, "action": "rollback"}, 412),
        ({**PAIR, "action": "explode"}, 422),
        ({**PAIR, "symbol": "BTC", "run_id": 1}, 422),
        ({**PAIR, "horizon_steps": -1, "run_id": 1}, 422),
        ({**PAIR, "run_id": 1, "extra": True}, 422),
    ],
)
def test_bad_pin_requests_are_4xx_with_a_reason(client: TestClient, body: dict, status: int) -> None:
    response = client.post("/model/active", json=body)
    assert response.status_code == status, response.text
    assert response.json()["detail"]


def test_policy_defaults_update_and_validation(client: TestClient) -> None:
    policy = client.get("/model/policy").json()
    assert policy["value"] == {
        "max_age_days": 7,
        "retrain_if_auc_below": 0.55,
        "min_train_rows": 200,
        "train_bars": 8000,
    }
    assert (policy["name"], policy["version"], policy["updated_at"]) == ("model_policy", 0, None)
    updated = client.post("/model/policy", json={"max_age_days": 3, "expected_version": 0}).json()
    assert updated["value"]["max_age_days"] == 3 and updated["value"]["min_train_rows"] == 200
    assert updated["version"] == 1
    assert client.get("/model/policy").json()["value"]["max_age_days"] == 3
    stale = client.post("/model/policy", json={"min_train_rows": 500, "expected_version": 0})
    assert stale.status_code == 409
    bad_values = (
        {"max_age_days": 0},
        {"retrain_if_auc_below": 1.5},
        {"min_train_rows": 10},
        {"train_bars": 50},
        {"min_train_rows": 9000},  # more than train_bars could ever give
        {"nope": 1},
    )
    for bad in bad_values:
        response = client.post("/model/policy", json=bad)
        assert response.status_code == 422, bad
        assert response.json()["detail"]


def test_run_ids_beyond_bigint_are_422_not_500(client: TestClient) -> None:
    response = client.post("/model/active", json={**PAIR, "run_id": 2**70})
    assert response.status_code == 422


def test_promotions_are_listed_with_reasons_and_filters(client: TestClient, runs) -> None:
    trail = client.get("/model/promotions").json()
    assert [(e["symbol"], e["action"]) for e in trail] == [
        ("ETH/USDT", "promoted"),
        ("BTC/USDT", "promoted"),
        ("BTC/USDT", "promoted"),
    ]
    assert "beats current run" in trail[1]["reason"]
    assert trail[1]["comparison"]["basis"] == "own_test_windows"  # registered runs carry no test rows
    assert trail[1]["comparison"]["candidate"]["auc"] > trail[1]["comparison"]["current"]["auc"]
    assert trail[2]["comparison"] is None  # a first promotion compares nothing
    assert client.get("/model/promotions", params={"symbol": "eth/usdt"}).json()[0]["symbol"] == "ETH/USDT"
    assert client.get("/model/promotions", params={"limit": 0}).status_code == 422
