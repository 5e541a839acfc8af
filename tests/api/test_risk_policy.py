from __future__ import annotations


def test_policy_reads_as_defaults_before_first_write(client) -> None:
    body = client.get("/risk/policy").json()
    assert body["name"] == "risk_policy" and body["version"] == 0 and body["updated_at"] is None
    assert body["value"]["enabled"] is True and body["value"]["max_vol_norm"] == 3.0


def test_partial_update_changes_only_the_given_fields(client) -> None:
    first = client.post("/risk/policy", json={"max_vol_norm": 2.5, "blacklist": ["doge"]})
    assert first.status_code == 200, first.text
    assert first.json()["version"] == 1
    second = client.post("/risk/policy", json={"max_ret_std_24": None, "cooldown_minutes": 30})
    value = second.json()["value"]
    assert (value["max_vol_norm"], value["blacklist"], value["cooldown_minutes"]) == (2.5, ["DOGE"], 30)
    assert client.get("/risk/policy").json()["version"] == 2


def test_null_switches_a_filter_off(client) -> None:
    assert client.post("/risk/policy", json={"max_vol_norm": None}).json()["value"]["max_vol_norm"] is None


def test_stale_expected_version_is_409(client) -> None:
    client.post("/risk/policy", json={"cooldown_minutes": 10})
    response = client.post("/risk/policy", json={"cooldown_minutes": 20, "expected_version": 0})
    assert response.status_code == 409
    assert "changed since version 0" in response.json()["detail"]
    ok = client.post("/risk/policy", json={"cooldown_minutes": 20, "expected_version": 1})
    assert ok.status_code == 200 and ok.json()["version"] == 2


def test_invalid_values_are_422_naming_the_field(client) -> None:
    for body, name in [
        ({"min_prob_margin": 2}, "min_prob_margin"),
        ({"max_vol_norm": -1}, "max_vol_norm"),
        ({"cooldown_minutes": "soon"}, "cooldown_minutes"),
        ({"unknown": 1}, "unknown"),
    ]:
        response = client.post("/risk/policy", json=body)
        assert response.status_code == 422, body
        assert name in response.json()["detail"]
    assert client.get("/risk/policy").json()["version"] == 0
