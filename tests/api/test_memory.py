from __future__ import annotations

from fastapi.testclient import TestClient


def _add(client: TestClient, text: str, tags: list[str] | None = None, symbol: str | None = None) -> dict:
    response = client.post("/memory", json={"text": text, "tags": tags or [], "symbol": symbol})
    assert response.status_code == 201, response.text
    return response.json()


def test_added_note_is_listed_newest_first(client: TestClient, frozen_clock) -> None:
    first = _add(client, "BTC looks strong above 60k", ["btc", "Idea"], "btc/usdt")
    frozen_clock.advance(minutes=1)
    second = _add(client, "Reduce exposure before FOMC", ["macro"])
    notes = client.get("/memory").json()
    assert [n["id"] for n in notes] == [second["id"], first["id"]]
    assert first["tags"] == ["btc", "idea"]
    assert first["symbol"] == "BTC/USDT"
    assert first["created_at"].startswith("2026-01-15T12:00:00")


def test_notes_filter_by_text_tag_and_symbol(client: TestClient) -> None:
    _add(client, "ETH staking yield idea", ["eth", "yield"], "ETH/USDT")
    _add(client, "BTC halving notes", ["btc"], "BTC/USDT")
    _add(client, "100% sure_thing", ["misc"])
    assert [n["text"] for n in client.get("/memory", params={"q": "halving"}).json()] == ["BTC halving notes"]
    assert [n["text"] for n in client.get("/memory", params={"q": "STAKING"}).json()] == [
        "ETH staking yield idea"
    ]
    assert [n["text"] for n in client.get("/memory", params={"tag": "yield"}).json()] == [
        "ETH staking yield idea"
    ]
    assert [n["text"] for n in client.get("/memory", params={"symbol": "btc/usdt"}).json()] == [
        "BTC halving notes"
    ]
    assert [n["text"] for n in client.get("/memory", params={"q": "100%"}).json()] == ["100% sure_thing"]
    assert client.get("/memory", params={"q": "_"}).json()[0]["text"] == "100% sure_thing"
    assert client.get("/memory", params={"tag": "nothing"}).json() == []


def test_delete_removes_the_note_and_a_second_delete_is_404(client: TestClient) -> None:
    note = _add(client, "temporary")
    assert client.delete(f"/memory/{note['id']}").status_code == 204
    assert client.get("/memory").json() == []
    missing = client.delete(f"/memory/{note['id']}")
    assert missing.status_code == 404
    assert str(note["id"]) in missing.json()["detail"]


def test_invalid_note_is_refused_with_the_field_named(client: TestClient) -> None:
    response = client.post("/memory", json={"text": "   "})
    assert response.status_code == 422
    assert "body.text" in response.json()["detail"]
    response = client.post("/memory", json={"text": "ok", "tags": ["bad tag!"]})
    assert response.status_code == 422
    assert "body.tags" in response.json()["detail"]
    assert response.json()["errors"][0]["field"] == "body.tags"


def test_list_limit_out_of_range_is_422(client: TestClient) -> None:
    response = client.get("/memory", params={"limit": 0})
    assert response.status_code == 422
    assert "query.limit" in response.json()["detail"]


def test_delete_with_non_numeric_id_is_422(client: TestClient) -> None:
    assert client.delete("/memory/abc").status_code == 422


def test_delete_with_an_id_beyond_bigint_is_422_not_500(client: TestClient) -> None:
    assert client.delete(f"/memory/{2**70}").status_code == 422
