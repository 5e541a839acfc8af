"""Summary messages: the daily report (a short message and the HTML file) and each training run.

Both go through `send_once`, the path signals and alerts take: the (key, chat) row is reserved and
committed before Telegram is called, so a job run twice, or a crash and a rerun, never sends one
twice. Keys: `report:<day>` and `report-file:<day>` (once per report date and chat), and
`training:<job run id>` (once per run).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from myassistant.core.config import Settings
from myassistant.core.db import Database
from myassistant.core.i18n import Lang
from myassistant.core.logging import REDACTOR
from myassistant.notify import logic
from myassistant.notify.logic import TrainingLine
from myassistant.notify.schemas import NotificationResult, NotifyConfig
from myassistant.notify.service import Message, get_config, send_once
from myassistant.notify.telegram import Document


@dataclass(frozen=True)
class Recipient:
    """The configured chat and its language; `send` is False (and `reason` says why) when summaries
    are off."""

    config: NotifyConfig
    lang: Lang
    send: bool
    reason: str


def recipient(database: Database, *, settings: Settings) -> Recipient:
    with database.session(write=False) as session:
        config = get_config(session).value
    decision = logic.should_send_summary(config)
    return Recipient(config, config.effective_lang(settings.ui_lang), decision.send, decision.reason)


def _outcome(result: NotificationResult) -> dict[str, Any]:
    return {"status": result.status, "reason": result.reason}


def send_daily_report(
    database: Database,
    *,
    settings: Settings,
    to: Recipient,
    day: date,
    summary: Sequence[str],
    document: Document,
    source: str = "scheduler",
) -> dict[str, Any]:
    """The report's summary as a message, then its file as a document, each at most once per day and chat.

    `summary`: plain-text lines in the recipient's language (escaped here).
    """
    if not to.send:
        return {"skipped": to.reason}
    text = logic.render_daily_report(day, summary, to.lang)
    message = send_once(
        database,
        settings=settings,
        config=to.config,
        message=Message(f"report:{day}", "report", source, text),
    )
    caption = logic.render_report_caption(day, to.lang)
    file = send_once(
        database,
        settings=settings,
        config=to.config,
        message=Message(f"report-file:{day}", "report", source, caption, document=document),
    )
    return {"summary": _outcome(message), "document": _outcome(file)}


def send_training_summary(
    database: Database,
    *,
    settings: Settings,
    run_id: int,
    source: str,
    lines: Sequence[TrainingLine],
) -> dict[str, Any]:
    """One message for one training run (job run `run_id`): what it trained, skipped and failed."""
    to = recipient(database, settings=settings)
    if not to.send:
        return {"skipped": to.reason}
    # Training errors quote the exchange and the file system: no secret may ride along to Telegram.
    text = REDACTOR.redact(logic.render_training_summary(lines, to.lang, run_id=run_id, source=source))
    result = send_once(
        database,
        settings=settings,
        config=to.config,
        message=Message(f"training:{run_id}", "training", source, text),
    )
    return _outcome(result)
