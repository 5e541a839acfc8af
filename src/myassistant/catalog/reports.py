"""The daily report as a job (scheduler, POST /report/daily, POST /automation/run, CLI), and its
Telegram delivery after the scheduled build."""

from __future__ import annotations

from typing import Any

from myassistant.core import clock
from myassistant.jobs.runner import JobContext, parse_params
from myassistant.notify import summaries
from myassistant.notify.telegram import Document
from myassistant.reports import logic, service
from myassistant.reports.schemas import ReportRequest

SCHEDULED = "scheduler"


def build_report(context: JobContext) -> dict[str, Any]:
    """Build one day's report (params: date, default yesterday UTC; lang, default UI_LANG); after the
    scheduled build, send its summary and file to Telegram when notifications are on."""
    request = parse_params(ReportRequest, context.params)
    day = request.date or logic.default_day(clock.now())
    lang = request.lang or context.settings.ui_lang
    built = service.build(
        context.database, settings=context.settings, day=day, lang=lang, job_run_id=context.run_id
    )
    stats: dict[str, Any] = built.record.model_dump(mode="json")
    if context.source == SCHEDULED:
        stats["telegram"] = _send(context, built)
    return stats


def _send(context: JobContext, built: service.BuiltReport) -> dict[str, Any]:
    """The summary and the file, in the chat's language (built in that language too when it differs)."""
    to = summaries.recipient(context.database, settings=context.settings)
    if not to.send:
        return {"skipped": to.reason}
    record = built.record
    if to.lang != record.lang:
        built = service.build(
            context.database,
            settings=context.settings,
            day=record.date,
            lang=to.lang,
            job_run_id=context.run_id,
        )
    document = Document(built.path.name, built.path.read_bytes(), "text/html")
    return summaries.send_daily_report(
        context.database,
        settings=context.settings,
        to=to,
        day=record.date,
        summary=logic.summary_lines(built.summary, to.lang),
        document=document,
        source=context.source,
    )
