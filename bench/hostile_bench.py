"""Hostile-body benchmark (issue 15): what a huge or malformed body costs the real service.

The service runs as `myassistant serve` in its own process (SQLite, API_TOKEN set). For each body:
the time to its answer, the answer's size, the latency of `GET /ping` polled meanwhile from another
connection, and the service's RSS before and after. Reference, measured in the same run: a plain
`GET /ping` on the idle service (and a normal small POST).

Bodies: 10 MB of ~600,000 unknown keys to POST /risk/policy, and 50 MB (declared Content-Length, and
chunked without one), each with and without the token. A second service with MAX_BODY_BYTES raised to
16 MiB shows the other bound: the 10 MB many-key body is parsed, then refused by its JSON value count.

Usage: python bench/hostile_bench.py [--pings 200]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.timing import percentiles  # noqa: E402

from myassistant.core import migrate  # noqa: E402
from myassistant.peers.server import free_port  # noqa: E402

TOKEN = "bench-token-0123456789abcdef"
CLOSED = "http://127.0.0.1:9"
MB = 1024 * 1024


@dataclass
class Service:
    base: str
    process: psutil.Process

    def rss_mb(self) -> float:
        return float(self.process.memory_info().rss) / MB


@contextmanager
def service(folder: Path, **env: str) -> Iterator[Service]:
    """`myassistant serve` on a free loopback port with its own SQLite file, until the block ends."""
    folder.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{(folder / 'bench.db').as_posix()}"
    migrate.upgrade(url)
    port = free_port()
    child_env = {
        **os.environ,
        "DATABASE_URL": url,
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "API_TOKEN": TOKEN,
        "SCHEDULER_ENABLED": "0",
        "LOG_LEVEL": "WARNING",
        "ARTIFACTS_DIR": str(folder / "artifacts"),
        "NEWS_FEEDS": f"{CLOSED}/feed.rss",
        "EXCHANGE_API_OVERRIDE": CLOSED,
        "TELEGRAM_API_BASE": CLOSED,
        **env,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "myassistant.cli", "serve"],
        env=child_env,
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/ping", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the service did not start")
            time.sleep(0.2)
        yield Service(base=base, process=psutil.Process(process.pid))
    finally:
        process.terminate()
        process.wait(15)


def ping_latencies(base: str, count: int) -> list[float]:
    """Milliseconds of `count` sequential GET /ping on one keep-alive connection."""
    out = []
    with httpx.Client(base_url=base, timeout=30) as client:
        client.get("/ping")
        for _ in range(count):
            started = time.perf_counter()
            client.get("/ping")
            out.append((time.perf_counter() - started) * 1000)
    return out


class PingWatch:
    """GET /ping over its own connection, back to back, while something else runs."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(base_url=self.base, timeout=60) as client:
            while not self._stop.is_set():
                started = time.perf_counter()
                client.get("/ping")
                self.samples.append((time.perf_counter() - started) * 1000)
                time.sleep(0.005)

    def __enter__(self) -> PingWatch:
        self._thread.start()
        time.sleep(0.05)
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def many_keys_body(keys: int = 600_000) -> bytes:
    """`{"key0000000": 0, ...}`: 600,000 keys make 10 MB, the body of the issue's report."""
    return json.dumps({f"key{n:07d}": 0 for n in range(keys)}).encode()


def chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    block = b" " * size
    for _ in range(total // size):
        yield block


def measure(svc: Service, label: str, send: dict[str, Any], with_token: bool) -> None:
    headers = {"Content-Type": "application/json"}
    if with_token:
        headers["Authorization"] = f"Bearer {TOKEN}"
    rss_before = svc.rss_mb()
    with PingWatch(svc.base) as watch, httpx.Client(base_url=svc.base, timeout=120) as client:
        started = time.perf_counter()
        try:
            response = client.post("/risk/policy", headers=headers, **send)
            status, size = str(response.status_code), len(response.content)
        except httpx.TransportError as exc:
            status, size = type(exc).__name__, 0
        elapsed_ms = (time.perf_counter() - started) * 1000
        time.sleep(0.05)
    rss_after = svc.rss_mb()
    p50, worst = (percentiles(watch.samples, 50)[0], max(watch.samples)) if watch.samples else (0.0, 0.0)
    token = "token   " if with_token else "no token"
    print(
        f"{label:34s} {token} -> {status:>4s} in {elapsed_ms:8.1f} ms, answer {size:7,d} B; "
        f"/ping meanwhile p50 {p50:6.2f} ms max {worst:7.2f} ms ({len(watch.samples)} pings); "
        f"RSS {rss_before:6.1f} -> {rss_after:6.1f} MB"
    )


def run(pings: int) -> None:
    ten_mb = many_keys_body()
    fifty_mb = b" " * (50 * MB)
    print(f"bodies: {len(ten_mb) / MB:.1f} MB of {ten_mb.count(b':'):,} unknown keys; 50.0 MB of spaces")
    with tempfile.TemporaryDirectory() as tmp:
        with service(Path(tmp, "default")) as svc:
            idle = ping_latencies(svc.base, pings)
            p50, p99 = percentiles(idle, 50, 99)
            print(f"reference: plain GET /ping on the idle service: p50 {p50:.2f} ms, p99 {p99:.2f} ms")
            with httpx.Client(base_url=svc.base) as client:
                started = time.perf_counter()
                normal = client.post(
                    "/risk/policy",
                    json={"cooldown_minutes": 30},
                    headers={"Authorization": f"Bearer {TOKEN}"},
                )
                print(
                    f"reference: a normal POST /risk/policy: {normal.status_code} in "
                    f"{(time.perf_counter() - started) * 1000:.1f} ms, answer {len(normal.content)} B"
                )
            print(f"service RSS at rest: {svc.rss_mb():.1f} MB (MAX_BODY_BYTES default, 1 MiB)")
            for with_token in (False, True):
                measure(svc, "10 MB, 600k unknown keys", {"content": ten_mb}, with_token)
                measure(svc, "50 MB, Content-Length", {"content": fifty_mb}, with_token)
                measure(svc, "50 MB, chunked (no length)", {"content": chunks(50 * MB)}, with_token)
        with service(Path(tmp, "raised"), MAX_BODY_BYTES=str(16 * MB)) as svc:
            print(f"MAX_BODY_BYTES raised to 16 MiB; service RSS at rest {svc.rss_mb():.1f} MB")
            measure(svc, "10 MB, 600k unknown keys", {"content": ten_mb}, True)
            idle = ping_latencies(svc.base, pings)
            p50, p99 = percentiles(idle, 50, 99)
            print(
                f"reference: plain GET /ping on this service afterwards: p50 {p50:.2f} ms, p99 {p99:.2f} ms"
            )
    print(
        "before issue 15 (its report): the 10 MB body answered 422 after 11.8 s with 83 MB, /ping stalled "
        "6.3 s, +217 MB RSS; a 50 MB body without a token was read whole before its 401"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pings", type=int, default=200)
    args = parser.parse_args()
    run(args.pings)


if __name__ == "__main__":
    main()
