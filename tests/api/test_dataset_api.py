"""Dataset endpoints: build from stored prices and news into a parquet artifact, list them."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from myassistant.ml.artifacts import sha256_of
from myassistant.ml.features import FEATURE_COLUMNS, WARMUP_BARS
from tests.fixtures.ml import make_news, make_prices, store_news, store_prices

BODY = {"symbol": "BTC/USDT", "timeframe": "1h", "horizon_steps": 4}
BARS = WARMUP_BARS + 1000


def _iso(ts: pd.Timestamp) -> str:
    return ts.isoformat().replace("+00:00", "Z")


@pytest.fixture
def stored(database, frozen_clock):
    prices = make_prices(BARS, seed=9, timeframe="1h")
    news = make_news(1500, seed=3, span_days=BARS / 24)
    with database.session() as session:
        store_prices(session, prices, exchange="bybit", symbol="BTC/USDT", timeframe="1h")
        store_news(session, news)
    return prices


def test_without_prices_the_build_is_refused_naming_the_pair_and_the_fix(client: TestClient) -> None:
    response = client.post("/dataset/build", json=BODY)
    assert response.status_code == 412
    assert response.json()["detail"].startswith("no prices stored for bybit BTC/USDT 1h; fetch prices")


def test_build_stores_a_parquet_artifact_and_its_metadata_row(client: TestClient, stored, settings) -> None:
    response = client.post("/dataset/build", json={**BODY, "bars": 800})
    assert response.status_code == 200, response.text
    built = response.json()
    assert (built["rows"], built["labelled_rows"]) == (800, 795)
    assert built["data_start"] == _iso(stored.index[-800])
    assert built["features"] == list(FEATURE_COLUMNS)
    balance = built["class_balance"]
    assert balance["positives"] + balance["negatives"] == 795 and 0 < balance["positive_rate"] < 1
    assert built["relative_path"] == "datasets/bybit_BTC-USDT_1h_h4_20260115T120000Z.parquet"
    path = Path(built["path"])
    assert path == (settings.artifacts_dir / built["relative_path"]).resolve()
    assert sha256_of(path.read_bytes()) == built["sha256"] and path.stat().st_size == built["size_bytes"]
    frame = pd.read_parquet(path)
    assert list(frame.columns) == [*FEATURE_COLUMNS, "label"] and len(frame) == 800
    assert frame.index[0] == stored.index[-800] and frame["label"].notna().sum() == 795
    assert built["params"]["news_articles"] > 0 and built["params"]["warmup_bars"] == WARMUP_BARS

    again = client.post("/dataset/build", json={**BODY, "bars": 800}).json()
    assert again["relative_path"].endswith("Z-2.parquet") and again["sha256"] == built["sha256"]


def test_default_rows_are_the_policys_train_bars_and_a_range_can_be_chosen(
    client: TestClient, stored
) -> None:
    client.post("/model/policy", json={"train_bars": 600})
    assert client.post("/dataset/build", json=BODY).json()["rows"] == 600
    start, end = stored.index[-500], stored.index[-101]
    ranged = client.post("/dataset/build", json={**BODY, "start": start.isoformat(), "end": end.isoformat()})
    assert ranged.status_code == 200, ranged.text
    body = ranged.json()
    assert (
        body["rows"] == 400
        and body["data_start"].startswith("2025-")
        and body["data_end"] != body["data_start"]
    )


def test_too_few_rows_are_refused(client: TestClient, stored) -> None:
    response = client.post("/dataset/build", json={**BODY, "bars": 150})
    assert response.status_code == 412 and "too few rows" in response.json()["detail"]


@pytest.mark.parametrize(
    "extra",
    [
        {"bars": 0},
        {"start": "2025-03-01T00:00:00Z", "bars": 10},
        {"start": "2025-03-02T00:00:00Z", "end": "2025-03-01T00:00:00Z"},
        {"start": "9999-12-31T23:59:59-14:00"},
        {"end": "1999-01-01T00:00:00Z"},
        {"timeframe": "1x"},
        {"unknown": True},
    ],
)
def test_bad_build_requests_are_422(client: TestClient, extra: dict) -> None:
    response = client.post("/dataset/build", json={**BODY, **extra})
    assert response.status_code == 422, response.text


def test_datasets_are_listed_newest_first_with_filters(client: TestClient, stored, frozen_clock) -> None:
    first = client.post("/dataset/build", json={**BODY, "bars": 300}).json()
    frozen_clock.advance(minutes=5)
    second = client.post("/dataset/build", json={**BODY, "bars": 400, "horizon_steps": 8}).json()
    assert [d["id"] for d in client.get("/datasets").json()] == [second["id"], first["id"]]
    assert [d["id"] for d in client.get("/datasets", params={"horizon_steps": 4}).json()] == [first["id"]]
    assert len(client.get("/datasets", params={"symbol": "btc/usdt", "exchange": "BYBIT"}).json()) == 2
    assert client.get("/datasets", params={"timeframe": "15m"}).json() == []
    assert client.get("/datasets", params={"limit": 0}).status_code == 422
