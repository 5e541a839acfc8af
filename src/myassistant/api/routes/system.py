"""System: liveness, time, diagnostics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from myassistant.api import diagnostics
from myassistant.api.concurrency import run_read
from myassistant.api.deps import DatabaseDep, SettingsDep
from myassistant.api.diagnostics import DebugInfo, Hello, TimeNow

router = APIRouter(tags=["System"])


@router.get("/hello", response_model=Hello)
def hello() -> Hello:
    """Greeting with the product name and version."""
    return diagnostics.hello()


@router.get("/time", response_model=TimeNow)
def time_now() -> TimeNow:
    """Current time in UTC and in the server's local zone."""
    return diagnostics.time_now()


@router.get("/ping", response_model=dict[str, Any], responses={503: {"description": "database unreachable"}})
async def ping(
    database: DatabaseDep, deep: bool = Query(False, description="also check the database")
) -> Any:
    """Fast health check; `?deep=1` also runs a query on the database."""
    if not deep:
        return {"status": "ok"}
    result = await run_read(database, diagnostics.deep_ping, database)
    return JSONResponse(result, status_code=200 if result["status"] == "ok" else 503)


@router.get("/_debug/info", response_model=DebugInfo)
def debug_info(request: Request, settings: SettingsDep) -> DebugInfo:
    """Routes, working directory, import path, versions, masked database URL, scheduler state."""
    return diagnostics.debug_info(request.app, settings)
