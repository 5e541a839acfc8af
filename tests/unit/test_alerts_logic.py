"""Pure parts of alerts: incidents (one key per outage), whether alerts are on, and the alert text."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from myassistant.alerts import logic
from myassistant.alerts.logic import JobStreak
from myassistant.notify.schemas import NotifyConfig, NotifyRules

TOKEN = "123456789:" + "A" * 35
BAR = datetime(2026, 1, 15, 11, 45, tzinfo=UTC)


def test_a_job_incident_needs_three_errors_and_its_key_names_the_streak() -> None:
    assert logic.job_incident(JobStreak("fetch_news", 41, 2, "boom")) is None
    incident = logic.job_incident(JobStreak("fetch_news", 41, 3, "boom"))
    assert incident is not None and incident.key == "job:fetch_news:after:41"
    later = logic.job_incident(JobStreak("fetch_news", 41, 9, "later"))
    assert later is not None and later.key == incident.key  # same outage


def test_a_feed_incident_key_changes_only_when_the_feed_recovered_in_between() -> None:
    def key(success: datetime | None, failures: int = 3) -> str | None:
        incident = logic.feed_incident(
            url="u", url_digest="d", failures=failures, last_success_at=success, last_error=None
        )
        return incident.key if incident else None

    assert key(None, failures=2) is None
    assert key(None) == key(None, failures=10) != key(BAR)


def test_only_a_stale_model_with_a_run_is_an_incident() -> None:
    pair: dict[str, Any] = {
        "exchange": "bybit",
        "symbol": "BTC/USDT",
        "timeframe": "15m",
        "horizon_steps": 12,
    }
    incident = logic.stale_model_incident(**pair, status="stale", run_id=3, reason="run 3: 9.0 days old")
    assert incident is not None and incident.key == "model:bybit:BTC/USDT:15m:12:run:3"
    assert logic.stale_model_incident(**pair, status="missing", run_id=None, reason="") is None
    assert logic.stale_model_incident(**pair, status="weak", run_id=3, reason="") is None


def test_alert_text_is_escaped_and_localised() -> None:
    incident = logic.job_incident(JobStreak("fetch<news>", 0, 3, "HTTP <503> & more"))
    assert incident is not None
    text = logic.render_alert(incident, "en")
    assert "fetch&lt;news&gt;" in text and "Last error: HTTP &lt;503&gt; &amp; more" in text
    assert logic.render_alert(incident, "ru").startswith("⚠️ <b>Задача fetch&lt;news&gt; не выполняется</b>")
    feed = logic.feed_incident(url="u", url_digest="d", failures=3, last_success_at=None, last_error=None)
    assert feed is not None and "последний успех никогда" in logic.render_alert(feed, "ru")


@pytest.mark.parametrize(
    ("config", "send"),
    [
        (NotifyConfig(), False),
        (NotifyConfig(enabled=True, token=TOKEN, chat_id=5), True),
        (
            NotifyConfig(
                enabled=True, token=TOKEN, chat_id=5, profiles={"default": NotifyRules(alerts=False)}
            ),
            False,
        ),
    ],
)
def test_alerts_follow_enabled_and_the_active_profile(config: NotifyConfig, send: bool) -> None:
    assert logic.should_alert(config).send is send
