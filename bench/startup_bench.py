"""Start-up benchmark (issue 11, SPEC §18), every figure next to a reference measured in the same run.

1. Time from process start to the first 200 from `/ping` (target < 2 s), for a fresh database (the
   service migrates it first) and for one already migrated; reference: `python -c "import fastapi,
   sqlalchemy"` (the two libraries every start needs) in the same run.
2. The service's RSS when idle after start (target < 200 MB).
3. RSS of the service plus all its children 10 s after a `train_missing` over 5 pairs ends (target
   < 1.5 x idle): training workers must be released when a run ends.

The service is `myassistant serve` in its own process, with its scheduler on, against the local exchange
peer (`myassistant peer exchange`); nothing leaves loopback.

Usage: python bench/startup_bench.py [--pairs 5] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from myassistant.peers.exchange import DEFAULT_MARKETS  # noqa: E402
from myassistant.peers.server import free_port  # noqa: E402

UNREACHABLE = "http://127.0.0.1:9"
MB = 1024 * 1024


def reference_import_s(repeat: int) -> float:
    """Best wall time of a bare `import fastapi, sqlalchemy` in a new interpreter."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import fastapi, sqlalchemy"], check=True)
        times.append(time.perf_counter() - started)
    return min(times)


def service_env(workdir: Path, exchange_url: str) -> dict[str, str]:
    return os.environ | {
        "DATABASE_URL": f"sqlite:///{(workdir / 'bench.db').as_posix()}",
        "ARTIFACTS_DIR": str(workdir / "artifacts"),
        "EXCHANGE_API_OVERRIDE": exchange_url,
        "TELEGRAM_API_BASE": UNREACHABLE,
        "NEWS_FEEDS": f"{UNREACHABLE}/feed.xml",
        "SCHEDULER_ENABLED": "1",
        "LOG_LEVEL": "WARNING",
    }


@contextmanager
def running(
    args: list[str], env: dict[str, str], url: str
) -> Iterator[tuple[subprocess.Popen[bytes], float]]:
    """Start `myassistant <args>`; yield the process and the seconds until /ping answered 200."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "myassistant.cli", *args], env=env, stdout=subprocess.DEVNULL
    )
    try:
        while True:
            try:
                if httpx.get(f"{url}/ping", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None:
                raise SystemExit(f"`myassistant {' '.join(args)}` exited with {process.returncode}")
            time.sleep(0.01)
        yield process, time.perf_counter() - started
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()


def rss_mb(pid: int, *, children: bool = False) -> float:
    process = psutil.Process(pid)
    members = [process, *process.children(recursive=True)] if children else [process]
    total = 0
    for member in members:
        with suppress(psutil.NoSuchProcess):
            total += member.memory_info().rss
    return total / MB


def train_missing(url: str, pairs: int) -> dict[str, object]:
    entries = [{"symbol": market.symbol} for market in DEFAULT_MARKETS[:pairs]]
    httpx.post(f"{url}/watchlist", json={"entries": entries}, timeout=30).raise_for_status()
    response = httpx.post(f"{url}/model/train_missing", json={"fetch": True}, timeout=1800)
    response.raise_for_status()
    report: dict[str, object] = response.json()
    return report


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    reference = reference_import_s(args.repeat)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        peer_port, port = free_port(), free_port()
        exchange_url = f"http://127.0.0.1:{peer_port}"
        peer = subprocess.Popen(
            [sys.executable, "-m", "myassistant.cli", "peer", "exchange", "--port", str(peer_port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            env = service_env(workdir, exchange_url)
            url = f"http://127.0.0.1:{port}"
            serve = ["serve", "--port", str(port)]
            with running(serve, env, url) as (_, fresh_s):
                pass
            warm = []
            for _ in range(args.repeat):
                with running(serve, env, url) as (_, seconds):
                    warm.append(seconds)
            with running(serve, env, url) as (process, _):
                time.sleep(3)
                idle = rss_mb(process.pid, children=True)
                started = time.perf_counter()
                report = train_missing(url, args.pairs)
                trained_s = time.perf_counter() - started
                just_after = rss_mb(process.pid, children=True)
                time.sleep(10)
                after = rss_mb(process.pid, children=True)
                parent_after = rss_mb(process.pid)
        finally:
            peer.terminate()
            peer.wait(15)

    print(f"reference: python -c 'import fastapi, sqlalchemy'   {reference:6.2f} s (best of {args.repeat})")
    print(
        f"start to first /ping 200, migrated database      {min(warm):6.2f} s (best of {args.repeat}; "
        f"{min(warm) / reference:.1f}x the reference; target < 2 s)"
    )
    print(f"start to first /ping 200, fresh database          {fresh_s:6.2f} s (migrations included)")
    print(f"idle RSS after start (service + children)         {idle:6.1f} MB (target < 200 MB)")
    print(
        f"train_missing over {args.pairs} pairs                        {trained_s:6.1f} s "
        f"(trained {report['trained']}, failed {report['failed']})"
    )
    print(f"RSS right after train_missing                     {just_after:6.1f} MB")
    print(
        f"RSS 10 s after train_missing (service + children) {after:6.1f} MB "
        f"({after / idle:.2f}x idle; target < 1.5x); the service alone {parent_after:.1f} MB"
    )


if __name__ == "__main__":
    main()
