"""Training runs in a process of its own, and stopping the service stops it and its workers (issue 11:
a service that stays small; issue 15, defect 7)."""

from __future__ import annotations

import signal
import sys
import time

import httpx
import psutil
import pytest

from myassistant.peers.server import free_port
from tests.fixtures.cli_process import serving_cli

PAIRS = ["BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT"]


def _workers(pid: int) -> list[psutil.Process]:
    """The joblib (loky) worker processes under the service."""
    found = []
    for child in psutil.Process(pid).children(recursive=True):
        try:
            if "loky" in " ".join(child.cmdline()):
                found.append(child)
        except psutil.NoSuchProcess:
            continue
    return found


def _working(service: psutil.Process) -> list[list[str]]:
    """The command lines of the service's descendants, but for Python's multiprocessing resource
    tracker (a small helper that lives as long as the service once a process was spawned)."""
    found = []
    for child in service.children(recursive=True):
        try:
            command = child.cmdline()
        except psutil.NoSuchProcess:
            continue
        if not any("resource_tracker" in part for part in command):
            found.append(command)
    return found


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM is how a POSIX service manager stops it")
def test_sigterm_during_training_leaves_no_worker_process_behind(tmp_path, exchange_url) -> None:
    port = free_port()
    env = {"PORT": str(port), "EXCHANGE_API_OVERRIDE": exchange_url, "SCHEDULER_ENABLED": "0"}
    with serving_cli("serve", port=port, cwd=tmp_path, env=env) as server:
        base = server.base_url
        assert httpx.post(f"{base}/watchlist", json={"entries": [{"symbol": s} for s in PAIRS]}).is_success
        started = httpx.post(f"{base}/automation/run", json={"action": "train_missing", "wait": False})
        assert started.status_code == 202, started.text
        [service] = [p for p in psutil.Process().children() if "serve" in p.cmdline()]
        deadline = time.monotonic() + 180
        workers: list[psutil.Process] = []
        while not workers and time.monotonic() < deadline:
            workers = _workers(service.pid)
            time.sleep(0.1)
        assert workers, "training never started its worker processes"
        service.send_signal(signal.SIGTERM)
        service.wait(60)
    gone, alive = psutil.wait_procs(workers, timeout=20)
    assert alive == [], f"workers still running after the service stopped: {[p.pid for p in alive]}"


@pytest.mark.slow
def test_training_runs_in_a_process_of_its_own_that_leaves_nothing_behind(tmp_path, exchange_url) -> None:
    """The service stays small: training (pandas, XGBoost, a worker pool) lives and dies in a child."""
    port = free_port()
    env = {"PORT": str(port), "EXCHANGE_API_OVERRIDE": exchange_url, "SCHEDULER_ENABLED": "0"}
    with serving_cli("serve", port=port, cwd=tmp_path, env=env) as server:
        base = server.base_url
        assert httpx.post(
            f"{base}/watchlist", json={"entries": [{"symbol": s} for s in PAIRS[:2]]}
        ).is_success
        [service] = [p for p in psutil.Process().children() if "serve" in p.cmdline()]
        report = httpx.post(f"{base}/model/train_missing", json={"fetch": True}, timeout=600)
        assert report.status_code == 200, report.text
        assert report.json()["trained"] == 2
        deadline = time.monotonic() + 20
        while _working(service) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _working(service) == []
        [run] = httpx.get(f"{base}/automation/runs", params={"job": "train_missing"}).json()
        assert run["status"] == "ok" and run["source"] == "api"
