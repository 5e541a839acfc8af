"""With API_TOKEN set, every mutating route refuses requests without it."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from myassistant.api.app import create_app
from myassistant.api.introspection import iter_routes

TOKEN = "test-token-0123456789abcdef"


@pytest.fixture
def secured(make_settings, database):
    app = create_app(make_settings(api_token=TOKEN), database=database)
    with TestClient(app) as client:
        yield app, client


def _mutating_routes(app) -> list[tuple[str, str]]:
    routes = []
    for route in iter_routes(app.routes):
        for method in sorted(route.methods - {"GET", "HEAD", "OPTIONS"}):
            routes.append((method, re.sub(r"\{[^}]+\}", "1", route.path)))
    return routes


def test_there_are_mutating_routes_to_check(secured) -> None:
    app, _ = secured
    assert ("POST", "/memory") in _mutating_routes(app)
    assert ("DELETE", "/memory/1") in _mutating_routes(app)


def test_every_mutating_route_needs_the_token(secured) -> None:
    app, client = secured
    for method, path in _mutating_routes(app):
        for headers in ({}, {"Authorization": "Bearer wrong-token-0123456789"}, {"Authorization": TOKEN}):
            response = client.request(method, path, json={}, headers=headers)
            assert response.status_code == 401, f"{method} {path} with {headers} -> {response.status_code}"
            assert response.headers["www-authenticate"] == "Bearer"
        allowed = client.request(method, path, json={}, headers={"Authorization": f"Bearer {TOKEN}"})
        assert allowed.status_code != 401, f"{method} {path} refused a valid token"


def test_reads_stay_open_with_a_token_configured(secured) -> None:
    _, client = secured
    assert client.get("/ping").status_code == 200
    assert client.get("/memory").status_code == 200


def test_without_a_token_configured_mutations_are_open_on_loopback(client: TestClient) -> None:
    assert client.post("/memory", json={"text": "hi"}).status_code == 201
