"""The OpenAPI schema tells the truth: the product's error bodies, every status an operation answers,
and request bodies as narrow as what the service accepts (the fuzz suites check the answers)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from myassistant.api.app import create_app
from myassistant.catalog import action_table, job_table
from myassistant.market.logic import MAX_SYMBOL_LENGTH, SYMBOL_PATTERN_ANY_CASE, VALID_TIMEFRAMES

TOKEN = "test-token-0123456789abcdef"
REF = "#/components/schemas/"


def _operations(schema: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            yield method.upper(), path, operation


def _body_ref(response: dict[str, Any]) -> str | None:
    return response.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref")


@pytest.fixture
def schema(client: TestClient) -> dict[str, Any]:
    return client.get("/openapi.json").json()


def test_every_422_is_declared_as_the_body_the_service_sends(schema, client: TestClient) -> None:
    components = schema["components"]["schemas"]
    assert "HTTPValidationError" not in components and "ValidationError" not in components
    declared = [
        (method, path, _body_ref(op["responses"]["422"]))
        for method, path, op in _operations(schema)
        if "422" in op["responses"]
    ]
    assert len(declared) > 30
    assert {ref for *_, ref in declared} == {f"{REF}ValidationErrorBody"}
    body = client.post("/memory", json={"text": ""}).json()
    assert set(body) == {"detail", "errors"} and isinstance(body["detail"], str)
    assert set(components["ValidationErrorBody"]["properties"]) == {"detail", "errors", "more_errors"}
    assert set(components["FieldError"]["properties"]) == set(body["errors"][0])


def test_every_operation_declares_400_413_and_an_error_body_for_each_error(schema) -> None:
    for method, path, operation in _operations(schema):
        responses = operation["responses"]
        assert "413" in responses, (method, path)
        assert ("400" in responses) == ("requestBody" in operation), (method, path)
        assert ("422" in responses) == bool(operation.get("parameters") or "requestBody" in operation)
        for status, response in responses.items():
            if status[0] in "45":
                assert _body_ref(response) in {f"{REF}ErrorBody", f"{REF}ValidationErrorBody"}, (
                    method,
                    path,
                    status,
                )
        assert "401" not in responses and "security" not in operation  # no token configured


def test_with_a_token_every_mutating_operation_declares_401_and_the_bearer_scheme(
    make_settings, database
) -> None:
    with TestClient(create_app(make_settings(api_token=TOKEN), database=database)) as client:
        schema = client.get("/openapi.json").json()
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    for method, path, operation in _operations(schema):
        mutating = method not in {"GET", "HEAD", "OPTIONS"}
        assert ("401" in operation["responses"]) == mutating, (method, path)
        assert ("security" in operation) == mutating, (method, path)


def test_route_specific_statuses_are_declared(schema) -> None:
    statuses = {(method, path): set(op["responses"]) for method, path, op in _operations(schema)}
    assert {"409"} <= statuses[("POST", "/automation/run")]
    assert {"409"} <= statuses[("POST", "/risk/policy")]
    assert {"412", "502", "503"} <= statuses[("POST", "/notify/test")]
    assert {"404"} <= statuses[("DELETE", "/memory/{note_id}")]


def test_automation_run_accepts_exactly_the_jobs_and_actions_with_their_parameters(schema) -> None:
    body = schema["paths"]["/automation/run"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    names = {
        (key, variant["properties"][key]["const"])
        for variant in body["oneOf"]
        for key in ("job", "action")
        if key in variant["properties"]
    }
    expected = {("job", name) for name in job_table().names()} | {
        ("action", n) for n in action_table().names()
    }
    assert names == expected
    assert all(variant["additionalProperties"] is False for variant in body["oneOf"])
    signal_once = next(
        v for v in body["oneOf"] if v["properties"].get("action", {}).get("const") == "signal_once"
    )
    assert "symbol" in signal_once["properties"]


def _parameter(schema: dict[str, Any], path: str, name: str) -> dict[str, Any]:
    (parameter,) = [p for p in schema["paths"][path]["get"]["parameters"] if p["name"] == name]
    return parameter["schema"]


def _string_options(node: dict[str, Any]) -> list[dict[str, Any]]:
    return [option for option in node.get("anyOf", [node]) if option.get("type") == "string"]


def test_prices_latest_describes_the_symbols_exchanges_and_timeframes_it_accepts(schema) -> None:
    (symbol,) = _string_options(_parameter(schema, "/prices/latest", "symbol"))
    assert re.fullmatch(symbol["pattern"], "btc/usdt") and not re.fullmatch(symbol["pattern"], "BTCUSDT")
    (timeframe,) = _string_options(_parameter(schema, "/prices/latest", "timeframe"))
    assert timeframe["enum"] == list(VALID_TIMEFRAMES)
    (exchange,) = _string_options(_parameter(schema, "/prices/latest", "exchange"))
    assert not re.fullmatch(exchange["pattern"], "by-bit")


def _body_properties(schema: dict[str, Any], path: str) -> dict[str, Any]:
    body = schema["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
    ref = next(option["$ref"] for option in body.get("anyOf", [body]) if "$ref" in option)
    component: dict[str, Any] = schema["components"]["schemas"][ref.removeprefix(REF)]
    return component


def test_dataset_build_describes_the_pairs_and_times_it_accepts(schema) -> None:
    component = _body_properties(schema, "/dataset/build")
    properties = component["properties"]
    # One rule for a pair's symbol everywhere (market.logic), at most as long as the pair tables hold.
    assert properties["symbol"]["pattern"] == SYMBOL_PATTERN_ANY_CASE
    assert properties["symbol"]["maxLength"] == MAX_SYMBOL_LENGTH
    (start,) = _string_options(properties["start"])
    assert re.match(start["pattern"], "2026-01-01T00:00:00Z") and not re.match(start["pattern"], "1999-01-01")
    assert component["not"] == {"required": ["start", "bars"]}


def test_notify_config_describes_what_it_accepts(schema) -> None:
    properties = _body_properties(schema, "/notify/config")["properties"]
    for name in ("enabled", "profiles", "active_profile"):  # may be omitted, never null
        assert all(option.get("type") != "null" for option in properties[name]["anyOf"]), name
    (token,) = _string_options(properties["token"])
    assert re.fullmatch(token["pattern"], "123456:" + "a" * 35) and not re.fullmatch(token["pattern"], "abc")
    assert {option.get("type") for option in properties["chat_id"]["anyOf"]} == {"integer", "string", "null"}


def test_request_text_is_declared_free_of_control_characters(schema) -> None:
    (q,) = _string_options(_parameter(schema, "/memory", "q"))
    assert re.fullmatch(q["pattern"], "plain text\twith a tab")
    assert not re.fullmatch(q["pattern"], "a\x00b") and not re.fullmatch(q["pattern"], "\x1b[2J")
