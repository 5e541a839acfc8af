from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from myassistant.cli import app
from myassistant.peers.server import free_port
from tests.conftest import using_postgres
from tests.fixtures.cli_process import serving_cli

runner = CliRunner()


def test_migrate_creates_the_schema(tmp_path: Path, monkeypatch) -> None:
    db_path = tmp_path / "data" / "cli.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{db_path.as_posix()}")
    monkeypatch.setenv("ARTIFACTS_DIR", str(tmp_path / "artifacts"))
    result = runner.invoke(app, ["migrate"])
    assert result.exit_code == 0, result.output
    assert "up to date" in result.output
    assert db_path.exists()


def test_serve_refuses_a_public_bind_without_a_token(monkeypatch) -> None:
    monkeypatch.delenv("API_TOKEN", raising=False)
    result = runner.invoke(app, ["serve", "--host", "0.0.0.0"])
    assert result.exit_code == 2
    assert "API_TOKEN" in result.output


@pytest.mark.slow
@pytest.mark.skipif(using_postgres(), reason="the default set-up is SQLite")
def test_serve_starts_from_scratch_and_answers_ping_and_docs(tmp_path: Path) -> None:
    port = free_port()
    env = {"PORT": str(port), "SCHEDULER_ENABLED": "0"}
    with serving_cli("serve", port=port, cwd=tmp_path, env=env) as server:
        base = server.base_url
        assert httpx.get(f"{base}/ping?deep=1").json()["db"] == "ok"
        docs = httpx.get(f"{base}/docs")
        assert docs.status_code == 200 and "static-offline-docs" in docs.text
        assert httpx.get(f"{base}/static-offline-docs/swagger-ui.css").status_code == 200
        assert (tmp_path / "data" / "myassistant.db").exists()
    output = server.output
    assert "[boot] risk module:" in output
    assert "[boot] notify module:" in output
