"""Alerts: which trouble is worth a Telegram message, once per incident, and its text. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from myassistant.core.i18n import Lang, TextCatalog
from myassistant.notify.logic import Decision
from myassistant.notify.schemas import NotifyConfig
from myassistant.notify.text import esc, fit_message, format_utc

JOB_FAILURES_FOR_ALERT = 3
FEED_FAILURES_FOR_ALERT = 3


@dataclass(frozen=True)
class Incident:
    """One ongoing problem; `key` stays the same until the problem ends (one message per key)."""

    key: str
    text_key: str  # which alert template
    values: tuple[tuple[str, str], ...]  # already escaped template values
    error: str | None = None
    since: datetime | None = None  # a feed's last success


def should_alert(config: NotifyConfig) -> Decision:
    if not config.enabled:
        return Decision(False, "notifications are disabled")
    if not config.token or config.chat_id is None:
        return Decision(False, "no bot token or chat_id configured")
    if not config.rules().alerts:
        return Decision(False, f"profile {config.active_profile!r} sends no alerts")
    return Decision(True, "alerts are on")


@dataclass(frozen=True)
class JobStreak:
    """A job's errors since its last successful run (`after_run_id` 0: it never succeeded)."""

    job: str
    after_run_id: int
    errors: int
    last_error: str | None


def job_incident(streak: JobStreak, threshold: int = JOB_FAILURES_FOR_ALERT) -> Incident | None:
    if streak.errors < threshold:
        return None
    return Incident(
        key=f"job:{streak.job}:after:{streak.after_run_id}",
        text_key="alert_job",
        values=(("job", esc(streak.job, 64)), ("count", str(streak.errors))),
        error=streak.last_error,
    )


def feed_incident(
    *,
    url: str,
    url_digest: str,
    failures: int,
    last_success_at: datetime | None,
    last_error: str | None,
    threshold: int = FEED_FAILURES_FOR_ALERT,
) -> Incident | None:
    if failures < threshold:
        return None
    since = last_success_at.isoformat() if last_success_at else "never"
    return Incident(
        key=f"feed:{url_digest}:since:{since}",
        text_key="alert_feed",
        values=(("count", str(failures)), ("url", esc(url, 300))),
        error=last_error,
        since=last_success_at,
    )


def stale_model_incident(
    *,
    exchange: str,
    symbol: str,
    timeframe: str,
    horizon_steps: int,
    status: str,
    run_id: int | None,
    reason: str,
) -> Incident | None:
    """An incident for a watchlist pair whose model went stale (health status `stale`)."""
    if status != "stale" or run_id is None:
        return None
    pair = f"{symbol} {timeframe} h{horizon_steps}"
    return Incident(
        key=f"model:{exchange}:{symbol}:{timeframe}:{horizon_steps}:run:{run_id}",
        text_key="alert_model",
        values=(("pair", esc(pair, 80)), ("run", str(run_id)), ("reason", esc(reason, 300))),
    )


ALERT_TEXTS = TextCatalog(
    {
        "en": {
            "alert_job": "⚠️ <b>Job {job} keeps failing</b>: {count} errors in a row since its last success.",
            "alert_feed": (
                "⚠️ <b>News feed keeps failing</b>: {count} failures in a row, last success {since}.\n{url}"
            ),
            "alert_model": "🕰 <b>Stale model</b>: {pair} · run #{run}\n{reason}",
            "alert_last_error": "Last error: {error}",
            "never": "never",
        },
        "ru": {
            "alert_job": (
                "⚠️ <b>Задача {job} не выполняется</b>: {count} ошибок подряд после последнего успеха."
            ),
            "alert_feed": (
                "⚠️ <b>Лента новостей не загружается</b>: {count} ошибок подряд, последний успех {since}.\n"
                "{url}"
            ),
            "alert_model": "🕰 <b>Модель устарела</b>: {pair} · запуск #{run}\n{reason}",
            "alert_last_error": "Последняя ошибка: {error}",
            "never": "никогда",
        },
    }
)


def render_alert(incident: Incident, lang: Lang) -> str:
    values = dict(incident.values)
    if incident.text_key == "alert_feed":
        values["since"] = (
            f"{format_utc(incident.since)} UTC" if incident.since else ALERT_TEXTS.t(lang, "never")
        )
    lines = [ALERT_TEXTS.t(lang, incident.text_key, **values)]
    if incident.error:
        lines.append(ALERT_TEXTS.t(lang, "alert_last_error", error=esc(incident.error, 500)))
    return fit_message(lines)
