"""Alerts on trouble against the Telegram peer: one message per incident, a new one when it recurs."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from myassistant.alerts.service import check_alerts
from myassistant.catalog import job_table
from myassistant.jobs.runner import JobLocks
from myassistant.jobs.service import run_now
from myassistant.jobs.tables import JobRun
from myassistant.market import service as market
from myassistant.market.schemas import WatchlistEntryIn
from myassistant.news.tables import Feed
from tests.fixtures.decision import constant_model
from tests.fixtures.telegram_peer import set_notify_config

FEED = "https://news.example/feed.xml?x=<b>"


@pytest.fixture
def alerts_on(database, telegram_peer, fast_delivery, frozen_clock):
    def apply(**fields: object) -> None:
        with database.session() as session:
            set_notify_config(session, telegram_peer, **({"enabled": True} | fields))

    apply()
    return apply


def runs(database, job: str, *statuses: str) -> None:
    now = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
    with database.session() as session:
        for status in statuses:
            error = (
                f"{job} broke: token=123456789:AAHsecret-in-an-error-message-00000000"
                if status == "error"
                else None
            )
            session.add(
                JobRun(
                    job=job,
                    source="scheduler",
                    started_at=now,
                    finished_at=now,
                    status=status,
                    error=error,
                    stats={},
                )
            )


def check(database, settings) -> dict:
    return check_alerts(database, settings=settings)


def texts(peer) -> list[str]:
    return [m.plain_text for m in peer.state.messages(peer.chat_id)]


def test_a_job_failing_three_times_in_a_row_alerts_once(
    database, notify_settings, alerts_on, telegram_peer
) -> None:
    runs(database, "fetch_news", "ok", "error", "error")
    assert check(database, notify_settings)["incidents"] == 0
    runs(database, "fetch_news", "error")
    assert check(database, notify_settings) == {"incidents": 1, "sent": 1, "failed": 0, "already_handled": 0}
    runs(database, "fetch_news", "error")
    assert check(database, notify_settings)["already_handled"] == 1
    [text] = texts(telegram_peer)
    assert text.startswith("⚠️ Job fetch_news keeps failing: 3 errors in a row since its last success.")
    assert "Last error: fetch_news broke: token=***" in text
    assert "AAHsecret" not in text


def test_a_job_that_recovers_and_fails_again_is_a_new_incident(
    database, notify_settings, alerts_on, telegram_peer
) -> None:
    runs(database, "make_signals", "error", "error", "error")
    check(database, notify_settings)
    runs(database, "make_signals", "ok", "error", "error", "error")
    assert check(database, notify_settings)["sent"] == 1
    assert len(texts(telegram_peer)) == 2


def add_feed(database, *, failures: int, last_success_at: datetime | None) -> None:
    now = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
    with database.session() as session:
        feed = session.query(Feed).filter_by(url=FEED).one_or_none() or Feed(url=FEED, created_at=now)
        feed.consecutive_failures, feed.last_success_at = failures, last_success_at
        feed.last_status, feed.last_error = "error", "HTTP 503 from the feed"
        session.add(feed)


def test_a_feed_failing_repeatedly_alerts_once_per_outage(
    database, notify_settings, alerts_on, telegram_peer
) -> None:
    add_feed(database, failures=2, last_success_at=None)
    assert check(database, notify_settings)["incidents"] == 0
    add_feed(database, failures=3, last_success_at=None)
    assert check(database, notify_settings)["sent"] == 1
    add_feed(database, failures=7, last_success_at=None)
    assert check(database, notify_settings)["already_handled"] == 1
    add_feed(database, failures=3, last_success_at=datetime(2026, 1, 15, 9, 30, tzinfo=UTC))
    assert check(database, notify_settings)["sent"] == 1
    first, second = texts(telegram_peer)
    assert "3 failures in a row, last success never." in first and FEED in first
    assert "last success 2026-01-15 09:30 UTC." in second
    assert "Last error: HTTP 503 from the feed" in second


def test_a_stale_model_alerts_once(database, notify_settings, alerts_on, telegram_peer, frozen_clock) -> None:
    with database.session() as session:
        run = constant_model(session, notify_settings, prob=0.6)
        market.add_to_watchlist(
            session, settings=notify_settings, entries=[WatchlistEntryIn(symbol="BTC/USDT")]
        )
    assert check(database, notify_settings)["incidents"] == 0
    frozen_clock.advance(days=8)
    assert check(database, notify_settings)["sent"] == 1
    assert check(database, notify_settings)["already_handled"] == 1
    [text] = texts(telegram_peer)
    assert text.startswith(f"🕰 Stale model: BTC/USDT 15m h12 · run #{run.id}")


@pytest.mark.parametrize(
    ("fields", "reason"),
    [({"enabled": False}, "disabled"), ({"profiles": {"default": {"alerts": False}}}, "sends no alerts")],
)
def test_alerts_follow_the_config(
    database, notify_settings, alerts_on, telegram_peer, fields, reason: str
) -> None:
    alerts_on(**fields)
    runs(database, "fetch_news", "error", "error", "error")
    stats = check(database, notify_settings)
    assert stats["sent"] == 0 and reason in stats["skipped"]
    assert telegram_peer.state.messages() == []


def test_a_failed_alert_is_sent_by_the_next_check(
    database, notify_settings, alerts_on, telegram_peer
) -> None:
    runs(database, "fetch_news", "error", "error", "error")
    telegram_peer.state.fail_next("sendMessage", 500, times=4)
    assert check(database, notify_settings)["failed"] == 1
    assert check(database, notify_settings)["sent"] == 1
    assert check(database, notify_settings)["already_handled"] == 1
    assert len(texts(telegram_peer)) == 1


def test_check_alerts_is_a_scheduled_job(database, notify_settings, alerts_on, telegram_peer) -> None:
    runs(database, "fetch_news", "error", "error", "error")
    outcome = run_now(
        database=database,
        settings=notify_settings,
        jobs=job_table(),
        locks=JobLocks(database, notify_settings),
        name="check_alerts",
        source="test",
    )
    assert outcome.status == "ok" and outcome.stats["sent"] == 1
    assert job_table().get("check_alerts").trigger_args == {"minute": "*/10", "second": 30}
