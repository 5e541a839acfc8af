from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from myassistant.cli import app
from tests.conftest import using_postgres

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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
@pytest.mark.skipif(using_postgres(), reason="the default set-up is SQLite")
def test_serve_starts_from_scratch_and_answers_ping_and_docs(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "API_TOKEN", "HOST"}}
    env.update({"PORT": str(port), "SCHEDULER_ENABLED": "0"})
    process = subprocess.Popen(
        [sys.executable, "-m", "myassistant.cli", "serve"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/ping", timeout=1).json() == {"status": "ok"}:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.2)
        assert httpx.get(f"{base}/ping?deep=1").json()["db"] == "ok"
        docs = httpx.get(f"{base}/docs")
        assert docs.status_code == 200 and "static-offline-docs" in docs.text
        assert httpx.get(f"{base}/static-offline-docs/swagger-ui.css").status_code == 200
        assert (tmp_path / "data" / "myassistant.db").exists()
    finally:
        process.terminate()
        output = process.communicate(timeout=15)[0]
    assert "[boot] risk module:" in output
    assert "[boot] notify module:" in output
