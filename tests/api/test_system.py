from __future__ import annotations

import logging
import sys

import pytest
from fastapi.testclient import TestClient

from myassistant.api.app import create_app
from myassistant.core.db import Database
from tests.conftest import FROZEN_AT


def test_hello_names_the_product(client: TestClient) -> None:
    body = client.get("/hello").json()
    assert body["app"] == "myassistant"
    assert body["version"]


def test_time_reports_utc_and_local(client: TestClient, frozen_clock) -> None:
    body = client.get("/time").json()
    assert body["utc"].startswith("2026-01-15T12:00:00")
    assert body["utc"].endswith(("Z", "+00:00"))
    assert body["timezone"]
    assert body["local"]


def test_ping_is_ok_without_touching_the_database(client: TestClient) -> None:
    assert client.get("/ping").json() == {"status": "ok"}


def test_deep_ping_checks_the_database(client: TestClient, database: Database) -> None:
    body = client.get("/ping", params={"deep": 1}).json()
    assert body["status"] == "ok"
    assert body["db"] == "ok"
    assert body["db_backend"] == database.backend


def test_deep_ping_reports_unreachable_database_as_503(make_settings, tmp_path) -> None:
    broken = Database(f"sqlite:///{(tmp_path / 'missing' / 'nope.db').as_posix()}")
    app = create_app(make_settings(), database=broken)
    with TestClient(app) as client:
        response = client.get("/ping?deep=1")
    assert response.status_code == 503
    assert response.json()["status"] == "error"


def test_debug_info_lists_routes_versions_and_masks_the_database_password(make_settings, database) -> None:
    settings = make_settings(database_url="postgresql+psycopg://bob:hunter2secret@db.example/x")
    with TestClient(create_app(settings, database=database)) as client:
        body = client.get("/_debug/info").json()
    assert "hunter2secret" not in str(body)
    assert body["database_url"] == "postgresql+psycopg://bob:***@db.example/x"
    paths = {route["path"]: route["methods"] for route in body["routes"]}
    assert paths["/ping"] == ["GET"]
    assert "POST" in paths["/memory"]
    assert body["versions"]["fastapi"]
    assert body["cwd"] and body["sys_path"]
    assert body["scheduler"]["enabled"] is False


def test_every_api_route_has_exactly_one_known_tag(client: TestClient) -> None:
    known = {
        "News",
        "Prices",
        "Dataset",
        "Model",
        "Signal",
        "Risk",
        "Notify",
        "Trade",
        "Report",
        "Automation",
        "Watchlist",
        "Memory",
        "System",
    }
    schema = client.get("/openapi.json").json()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            tags = operation.get("tags", [])
            assert len(tags) == 1 and tags[0] in known, f"{method.upper()} {path} has tags {tags}"


def test_offline_docs_serve_swagger_assets_locally(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assert "cdn.jsdelivr.net" not in page.text
    assert "/static-offline-docs/swagger-ui-bundle.js" in page.text
    asset = client.get("/static-offline-docs/swagger-ui-bundle.js")
    assert asset.status_code == 200 and len(asset.content) > 100_000
    assert client.get("/openapi.json").status_code == 200


def test_docs_fall_back_to_cdn_when_fastapi_offline_is_missing(make_settings, database, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "fastapi_offline", None)
    with TestClient(create_app(make_settings(), database=database)) as client:
        page = client.get("/docs")
    assert page.status_code == 200
    assert "cdn.jsdelivr.net" in page.text


def test_docs_can_be_disabled(make_settings, database) -> None:
    with TestClient(create_app(make_settings(enable_docs=False), database=database)) as client:
        assert client.get("/docs").status_code == 404
        assert client.get("/openapi.json").status_code == 404
        assert client.get("/ping").status_code == 200


def test_boot_log_names_the_risk_and_notify_modules(make_settings, database, caplog) -> None:
    caplog.set_level(logging.INFO, logger="myassistant")
    with TestClient(create_app(make_settings(), database=database)):
        pass
    lines = [record.getMessage() for record in caplog.records]
    assert any(line.startswith("[boot] risk module: ") for line in lines)
    assert any(line.startswith("[boot] notify module: ") for line in lines)


@pytest.mark.parametrize("path", ["/hello", "/time", "/ping"])
def test_responses_carry_a_request_id(client: TestClient, path: str) -> None:
    assert len(client.get(path).headers["x-request-id"]) == 16


def test_frozen_time_is_the_fixture_value(frozen_clock) -> None:
    from myassistant.core import clock

    assert clock.now() == FROZEN_AT
