"""Replay: the decision loop over history (tag Signal: it replays what the signal loop would have done)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import JSONResponse

from myassistant.api.deps import DatabaseDep, RowId, SessionDep, SettingsDep
from myassistant.core.errors import Conflict
from myassistant.jobs import service as jobs
from myassistant.replay import service
from myassistant.replay.schemas import ReplayAccepted, ReplayRead, ReplayRequest, ReplaySummary

router = APIRouter(tags=["Signal"])


@router.post(
    "/replay",
    response_model=ReplayRead,
    responses={
        202: {"model": ReplayAccepted},
        404: {"description": "unknown run_id"},
        409: {"description": "a replay is already running"},
        422: {"description": "bad window, pairs, run or policy (the field is named)"},
    },
)
def replay(body: ReplayRequest, request: Request, database: DatabaseDep, settings: SettingsDep) -> Any:
    """Replay the decision loop over a window (job `replay`); `wait: false` answers 202 at once."""
    with database.session() as session:
        queued = service.queue(session, settings=settings, spec=body)
    common = {
        "database": database,
        "settings": settings,
        "jobs": request.app.state.actions,
        "locks": request.app.state.job_locks,
        "name": service.JOB,
        "source": "api",
        "params": {"replay_id": queued.id},
    }
    try:
        if not body.wait:
            run_id = jobs.start_in_background(**common)
            accepted = ReplayAccepted(replay_id=queued.id, run_id=run_id)
            return JSONResponse(accepted.model_dump(), status_code=status.HTTP_202_ACCEPTED)
        jobs.run_now(**common)
    except Conflict:
        with database.session() as session:
            service.discard(session, replay_id=queued.id)
        raise
    with database.session(write=False) as session:
        return service.get(session, settings=settings, replay_id=queued.id)


@router.get("/replays", response_model=list[ReplaySummary])
def replays(session: SessionDep, limit: int = Query(50, ge=1, le=500)) -> list[ReplaySummary]:
    """Replays, newest first: parameters, metrics and status."""
    return service.list_(session, limit=limit)


@router.get("/replays/{replay_id}", response_model=ReplayRead, responses={404: {"description": "unknown"}})
def replay_detail(
    replay_id: RowId,
    session: SessionDep,
    settings: SettingsDep,
    limit: int = Query(200, ge=1, le=5000, description="trades and vetoes per page"),
    offset: int = Query(0, ge=0, le=10_000_000),
    curve_points: int = Query(500, ge=2, le=20_000, description="the equity curve, evenly thinned"),
) -> ReplayRead:
    """A replay's metrics, equity curve, trades, vetoes (what they would have earned) and models."""
    return service.get(
        session, settings=settings, replay_id=replay_id, limit=limit, offset=offset, curve_points=curve_points
    )
