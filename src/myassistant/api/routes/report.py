"""Report: build the daily HTML report (through the job runner), read it, list what was built."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse

from myassistant.api.deps import DatabaseDep, SessionDep, SettingsDep
from myassistant.core.errors import DomainError
from myassistant.core.logging import REDACTOR
from myassistant.jobs import service as jobs
from myassistant.reports import service
from myassistant.reports.schemas import Lang, ReportDay, ReportRead, ReportRequest

router = APIRouter(tags=["Report"])

JOB = "build_report"
HTML: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/html": {}}, "description": "the report's HTML"}
}
LANG_QUERY = Query(None, description="en or ru; default: UI_LANG")


class ReportBuildFailed(DomainError):
    """The build crashed (the job run records why)."""

    status_code = 500


@router.post(
    "/report/daily",
    response_model=ReportRead,
    responses={
        409: {"description": "a report is being built right now"},
        500: {"description": "the build failed (the job run records why; `run_id` names it)"},
        422: {"description": "a malformed or future date, or an unknown language"},
    },
)
def build_daily(
    request: Request, database: DatabaseDep, settings: SettingsDep, body: ReportRequest | None = None
) -> ReportRead:
    """Build a day's report now (default: yesterday, UTC; in UI_LANG) and answer its record.

    Runs as the `build_report` job (a job_runs row with source "api"); a rebuild replaces the day's
    file and record. Telegram gets reports from the scheduled build only.
    """
    outcome = jobs.run_now(
        database=database,
        settings=settings,
        jobs=request.app.state.jobs,
        locks=request.app.state.job_locks,
        name=JOB,
        source="api",
        params=body.model_dump(mode="json", exclude_none=True) if body else {},
    )
    if outcome.status != "ok":
        error = REDACTOR.redact(outcome.error or "unknown error")
        raise ReportBuildFailed(f"the report build failed: {error}", run_id=outcome.run_id)
    return ReportRead.model_validate(outcome.stats)


def _html(settings: SettingsDep, record: ReportRead) -> HTMLResponse:
    return HTMLResponse(service.read_html(settings, record))


@router.get(
    "/report/latest",
    response_class=HTMLResponse,
    responses={**HTML, 404: {"description": "no report built yet"}},
)
def latest(session: SessionDep, settings: SettingsDep, lang: Lang | None = LANG_QUERY) -> HTMLResponse:
    """The newest day's report, as HTML."""
    return _html(settings, service.latest_report(session, lang=lang or settings.ui_lang))


@router.get(
    "/report/{date}",
    response_class=HTMLResponse,
    responses={**HTML, 404: {"description": "that day's report was never built"}},
)
def by_date(
    session: SessionDep,
    settings: SettingsDep,
    date: Annotated[ReportDay, Path(description="the UTC day, YYYY-MM-DD")],
    lang: Lang | None = LANG_QUERY,
) -> HTMLResponse:
    """One day's report, as HTML."""
    return _html(settings, service.get_report(session, day=date, lang=lang or settings.ui_lang))


@router.get("/reports", response_model=list[ReportRead])
def list_reports(session: SessionDep, limit: int = Query(100, ge=1, le=1000)) -> list[ReportRead]:
    """Built reports, newest day first: date, language, file (relative to ARTIFACTS_DIR), size, sha256."""
    return service.list_reports(session, limit=limit)
