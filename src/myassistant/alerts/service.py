"""Alerts on trouble: a job that keeps failing, a feed that keeps failing, a model gone stale.

Each incident has a key that stays the same until the problem ends (the job succeeds, the feed
answers, the model is retrained), and goes through the same reserve-then-send path as signals:
one message per incident and chat, a failed one retried by the next check while it lasts.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from myassistant.alerts import logic
from myassistant.alerts.logic import Incident, JobStreak
from myassistant.core.config import Settings
from myassistant.core.db import Database
from myassistant.core.logging import REDACTOR
from myassistant.jobs.runner import ERROR, OK
from myassistant.jobs.tables import JobRun
from myassistant.ml import health as ml
from myassistant.news import service as news
from myassistant.notify.service import Message, get_config, send_once

logger = logging.getLogger("myassistant.notify")

MAX_ALERTS_PER_CHECK = 10  # the rest wait for the next check: a flood helps nobody


def job_streaks(session: Session) -> list[JobStreak]:
    """Each job's errors since its last successful run, for jobs with at least one such error."""
    last_ok = (
        select(JobRun.job, func.max(JobRun.id).label("ok_id"))
        .where(JobRun.status == OK)
        .group_by(JobRun.job)
        .subquery()
    )
    after = func.coalesce(last_ok.c.ok_id, 0)
    rows = session.execute(
        select(JobRun.job, after, func.count(), func.max(JobRun.id))
        .outerjoin(last_ok, JobRun.job == last_ok.c.job)
        .where(JobRun.status == ERROR, JobRun.id > after)
        .group_by(JobRun.job, last_ok.c.ok_id)
        .order_by(JobRun.job)
    ).all()
    last_ids = [row[3] for row in rows]
    errors: dict[int, str | None] = {
        run_id: error
        for run_id, error in session.execute(select(JobRun.id, JobRun.error).where(JobRun.id.in_(last_ids)))
    }
    return [
        JobStreak(job, int(after_id), int(count), errors.get(last_id))
        for job, after_id, count, last_id in rows
    ]


def incidents(session: Session, *, settings: Settings) -> list[Incident]:
    """Every ongoing incident: failing jobs, failing feeds, stale models of the watchlist."""
    found = [logic.job_incident(streak) for streak in job_streaks(session)]
    found += [
        logic.feed_incident(
            url=feed.url,
            url_digest=hashlib.sha256(feed.url.encode()).hexdigest()[:16],
            failures=feed.consecutive_failures,
            last_success_at=feed.last_success_at,
            last_error=feed.last_error,
        )
        for feed in news.list_feeds(session, min_consecutive_failures=logic.FEED_FAILURES_FOR_ALERT)
    ]
    found += [
        logic.stale_model_incident(
            exchange=health.exchange,
            symbol=health.symbol,
            timeframe=health.timeframe,
            horizon_steps=health.horizon_steps,
            status=health.status,
            run_id=health.run_id,
            reason=health.reason,
        )
        for health in ml.health_report(session, settings=settings)
    ]
    return [incident for incident in found if incident is not None]


def check_alerts(database: Database, *, settings: Settings) -> dict[str, Any]:
    """Send one message per new incident (and retry failed ones); returns counts and why when none."""
    with database.session(write=False) as session:
        config = get_config(session).value
        decision = logic.should_alert(config)
        found = incidents(session, settings=settings) if decision.send else []
    stats: dict[str, Any] = {"incidents": len(found), "sent": 0, "failed": 0, "already_handled": 0}
    if not decision.send:
        return stats | {"skipped": decision.reason}
    lang = config.effective_lang(settings.ui_lang)
    for incident in found[:MAX_ALERTS_PER_CHECK]:
        # Error texts come from anywhere (exchange, feeds, jobs): no secret may ride along to Telegram.
        text = REDACTOR.redact(logic.render_alert(incident, lang))
        message = Message(incident.key, "alert", "alert", text)
        result = send_once(database, settings=settings, config=config, message=message)
        if result.status in stats:
            stats[result.status] += 1
    return stats
