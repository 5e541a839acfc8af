"""What the System endpoints report: greeting, time, deep health and debug information."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import platform
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from sqlalchemy import text
from starlette.applications import Starlette

from myassistant import __version__
from myassistant.api.introspection import iter_routes
from myassistant.core import clock
from myassistant.core.config import Settings
from myassistant.core.db import Database, masked_url

VERSIONED_PACKAGES = (
    "fastapi",
    "starlette",
    "pydantic",
    "sqlalchemy",
    "alembic",
    "httpx",
    "pandas",
    "numpy",
    "scikit-learn",
    "xgboost",
    "ccxt",
    "feedparser",
    "apscheduler",
)
BOOT_MODULES = {"risk": "myassistant.signals.risk", "notify": "myassistant.notify.service"}


class Hello(BaseModel):
    message: str
    app: str
    version: str


class TimeNow(BaseModel):
    utc: datetime
    local: datetime
    timezone: str


class RouteInfo(BaseModel):
    path: str
    methods: list[str]
    names: list[str]
    tags: list[str]


class DebugInfo(BaseModel):
    app_version: str
    python: str
    platform: str
    cwd: str
    sys_path: list[str]
    versions: dict[str, str | None]
    database_url: str
    database_backend: str
    artifacts_dir: str
    routes: list[RouteInfo]
    scheduler: dict[str, Any]
    modules: dict[str, str]


def hello() -> Hello:
    return Hello(message="hello from myassistant", app="myassistant", version=__version__)


def time_now() -> TimeNow:
    utc = clock.now()
    local = utc.astimezone()
    return TimeNow(utc=utc, local=local, timezone=local.tzname() or "local")


def deep_ping(database: Database) -> dict[str, Any]:
    """Runs `SELECT 1`; reports latency or the reason it failed (no secrets)."""
    started = time.perf_counter()
    try:
        with database.session(write=False) as session:
            session.execute(text("SELECT 1"))
    except Exception as exc:  # the health check reports any failure instead of raising
        return {"status": "error", "db": "error", "reason": type(exc).__name__}
    return {
        "status": "ok",
        "db": "ok",
        "db_backend": database.backend,
        "db_latency_ms": round((time.perf_counter() - started) * 1000, 2),
    }


def module_path(module: str) -> str:
    """Where a module is loaded from, or why it is not."""
    try:
        spec = importlib.util.find_spec(module)
    except ModuleNotFoundError:
        spec = None
    if spec is None or spec.origin is None:
        return f"<{module} not available>"
    return str(Path(spec.origin).resolve())


def boot_lines() -> list[str]:
    """The start-up lines naming the risk and notify modules actually in use."""
    return [f"[boot] {label} module: {module_path(module)}" for label, module in BOOT_MODULES.items()]


# Packages published under more than one distribution name.
DISTRIBUTION_ALIASES = {"xgboost": ("xgboost", "xgboost-cpu")}


def _version(package: str) -> str | None:
    for distribution in DISTRIBUTION_ALIASES.get(package, (package,)):
        try:
            return importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def _routes(app: Starlette) -> list[RouteInfo]:
    """One entry per path, with every method it answers."""
    by_path: dict[str, RouteInfo] = {}
    for entry in iter_routes(app.routes):
        info = by_path.setdefault(entry.path, RouteInfo(path=entry.path, methods=[], names=[], tags=[]))
        info.methods = sorted(set(info.methods) | entry.methods)
        info.names.append(entry.name)
        info.tags = sorted(set(info.tags) | set(entry.tags))
    return sorted(by_path.values(), key=lambda r: r.path)


def debug_info(app: Starlette, settings: Settings) -> DebugInfo:
    scheduler = app.state.scheduler
    scheduler_state = (
        scheduler.state()
        if scheduler is not None
        else {"enabled": settings.scheduler_enabled, "running": False}
    )
    return DebugInfo(
        app_version=__version__,
        python=sys.version.split()[0],
        platform=platform.platform(),
        cwd=os.getcwd(),
        sys_path=sys.path[:5],
        versions={name: _version(name) for name in VERSIONED_PACKAGES},
        database_url=masked_url(settings.database_url),
        database_backend=app.state.db.backend,
        artifacts_dir=str(settings.artifacts_dir.resolve()),
        routes=_routes(app),
        scheduler=scheduler_state,
        modules={label: module_path(module) for label, module in BOOT_MODULES.items()},
    )
