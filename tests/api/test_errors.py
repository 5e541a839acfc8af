from __future__ import annotations

import logging

from fastapi.testclient import TestClient

from myassistant.api.app import create_app


def test_unexpected_error_is_a_bare_500_with_a_logged_request_id(make_settings, database, caplog) -> None:
    app = create_app(make_settings(), database=database)

    @app.get("/boom", tags=["System"])
    def boom() -> None:
        raise RuntimeError("secret internals at /srv/app/db.py line 42")

    with TestClient(app) as client:
        response = client.get("/boom")
    assert response.status_code == 500
    body = response.json()
    assert body == {"detail": "internal server error", "request_id": response.headers["x-request-id"]}
    assert "secret internals" not in response.text and "Traceback" not in response.text
    logged = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert any(body["request_id"] in r.getMessage() for r in logged)


def test_unknown_route_is_json_404(client: TestClient) -> None:
    response = client.get("/no/such/route")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}


def test_wrong_method_is_405(client: TestClient) -> None:
    assert client.put("/ping").status_code == 405


def test_malformed_json_body_is_422_naming_the_problem(client: TestClient) -> None:
    response = client.post("/memory", content=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert "json" in response.json()["detail"].lower()
