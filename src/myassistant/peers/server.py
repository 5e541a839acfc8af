"""Runs a peer's ASGI app as a real HTTP server on loopback, in a background thread or in the foreground."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn
from starlette.types import ASGIApp

LOOPBACK = "127.0.0.1"


def free_port(host: str = LOOPBACK) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@dataclass
class RunningServer:
    """A server started by `serve_in_thread`; `url` has no trailing slash."""

    url: str
    host: str
    port: int
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self, timeout: float = 10.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)


def _config(app: ASGIApp, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        lifespan="off",
        access_log=False,
        timeout_graceful_shutdown=1,
    )


def start_in_thread(
    app: ASGIApp, *, host: str = LOOPBACK, port: int = 0, timeout: float = 10.0
) -> RunningServer:
    """Start `app` on host:port (0 = a free port) and wait until it accepts connections."""
    if host != LOOPBACK and not host.startswith("127."):
        raise ValueError("peers only listen on loopback")
    port = port or free_port(host)
    server = uvicorn.Server(_config(app, host, port))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), name=f"peer:{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"peer server on {host}:{port} did not start")
        time.sleep(0.01)
    return RunningServer(url=f"http://{host}:{port}", host=host, port=port, server=server, thread=thread)


@contextmanager
def serving(app: ASGIApp, *, host: str = LOOPBACK, port: int = 0) -> Iterator[RunningServer]:
    """Context manager form of `start_in_thread`."""
    running = start_in_thread(app, host=host, port=port)
    try:
        yield running
    finally:
        running.stop()


def serve_forever(app: ASGIApp, *, host: str = LOOPBACK, port: int) -> None:
    """Foreground server for the CLI (`myassistant peer ...`); Ctrl+C stops it."""
    uvicorn.run(app, host=host, port=port, log_level="info")
