"""The alerts job: a Telegram message, once per incident, when a job or feed keeps failing or a model
goes stale."""

from __future__ import annotations

from typing import Any

from myassistant.alerts import service as alerts
from myassistant.jobs.runner import JobContext


def check_alerts(context: JobContext) -> dict[str, Any]:
    """The scheduled check: alert on jobs and feeds that keep failing and on stale models."""
    return alerts.check_alerts(context.database, settings=context.settings)
