"""Telegram after the scheduled report and after each training run: once, only when notifications are on."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from myassistant.api.app import create_app
from myassistant.catalog import job_table
from myassistant.core import configdocs
from myassistant.jobs import service as jobs
from myassistant.jobs.runner import JobLocks
from myassistant.market import service as market
from myassistant.market.schemas import WatchlistEntryIn
from myassistant.ml import registry
from myassistant.ml.policy import MODEL_POLICY
from myassistant.notify import summaries
from myassistant.notify.logic import TrainingLine
from myassistant.notify.tables import Notification
from tests.fixtures.ml import make_prices, register_run, store_prices
from tests.fixtures.report import REPORT_DAY, seed_report_day
from tests.fixtures.telegram_peer import set_notify_config


def _scheduled_build(database, settings, **params: object):
    return jobs.run_now(
        database=database,
        settings=settings,
        jobs=job_table(),
        locks=JobLocks(database, settings),
        name="build_report",
        source="scheduler",
        params=params,
    )


def _notify(database, peer, **fields: object) -> None:
    with database.session() as session:
        set_notify_config(session, peer, **({"enabled": True} | fields))


def _notifications(database) -> list[tuple[str, str, str]]:
    with database.session(write=False) as session:
        rows = session.scalars(select(Notification).order_by(Notification.id)).all()
        return [(row.kind, row.dedupe_key, row.status) for row in rows]


def test_the_scheduled_build_sends_the_summary_and_the_file_once_even_when_run_twice(
    database, notify_settings, telegram_peer, fast_delivery, frozen_clock
) -> None:
    seed_report_day(database, notify_settings, frozen_clock)
    _notify(database, telegram_peer)
    first = _scheduled_build(database, notify_settings)
    second = _scheduled_build(database, notify_settings)
    assert first.status == second.status == "ok", first.error
    assert first.stats["telegram"]["summary"]["status"] == "sent"
    assert first.stats["telegram"]["document"]["status"] == "sent"
    assert second.stats["telegram"]["summary"]["status"] == "already_handled"
    assert second.stats["telegram"]["document"]["status"] == "already_handled"

    [message] = telegram_peer.state.messages(telegram_peer.chat_id)
    assert message.plain_text.startswith(
        "📊 Daily report · 2026-01-14\nEquity 10,057.65 USDT (+57.65, +0.58%)"
    )
    assert "Signals 6 · BUY 2 · blocked 3" in message.plain_text
    assert "Failed job runs 2 · failing feeds 1 · stale models 1" in message.plain_text
    [document] = telegram_peer.state.documents(telegram_peer.chat_id)
    path = notify_settings.artifacts_dir / "reports" / "daily_2026-01-14_en.html"
    assert (document.file_name, document.mime_type) == ("daily_2026-01-14_en.html", "text/html")
    assert document.content == path.read_bytes()
    assert document.plain_caption == "📄 Daily report · 2026-01-14"
    assert _notifications(database) == [
        ("report", "report:2026-01-14", "sent"),
        ("report", "report-file:2026-01-14", "sent"),
    ]


def test_a_file_telegram_failed_to_take_is_sent_by_the_next_run_and_the_summary_is_not_repeated(
    database, notify_settings, telegram_peer, fast_delivery, frozen_clock
) -> None:
    _notify(database, telegram_peer)
    telegram_peer.state.fail_next("sendDocument", 500, times=4)  # every attempt of the first run
    first = _scheduled_build(database, notify_settings)
    assert first.stats["telegram"]["document"]["status"] == "failed"
    second = _scheduled_build(database, notify_settings)
    assert second.stats["telegram"]["document"]["status"] == "sent"
    assert len(telegram_peer.state.messages(telegram_peer.chat_id)) == 1
    assert len(telegram_peer.state.documents(telegram_peer.chat_id)) == 1


def test_the_chat_gets_the_report_in_its_own_language(
    database, notify_settings, telegram_peer, fast_delivery, frozen_clock
) -> None:
    _notify(database, telegram_peer, lang="ru")
    outcome = _scheduled_build(database, notify_settings)
    assert outcome.stats["lang"] == "en"  # the build itself follows UI_LANG
    [document] = telegram_peer.state.documents()
    assert document.file_name == "daily_2026-01-14_ru.html"
    assert "Дневной отчёт · 2026-01-14" in document.content.decode("utf-8")
    [message] = telegram_peer.state.messages()
    assert message.plain_text.startswith("📊 Дневной отчёт · 2026-01-14\nБумажного счёта пока нет.")


def test_nothing_is_sent_when_notifications_are_off_or_the_build_is_manual(
    database, notify_settings, telegram_peer, frozen_clock
) -> None:
    _notify(database, telegram_peer, enabled=False)
    outcome = _scheduled_build(database, notify_settings)
    assert outcome.stats["telegram"] == {"skipped": "notifications are disabled"}
    _notify(database, telegram_peer)
    manual = jobs.run_now(
        database=database,
        settings=notify_settings,
        jobs=job_table(),
        locks=JobLocks(database, notify_settings),
        name="build_report",
        source="api",
        params={"date": REPORT_DAY.isoformat()},
    )
    assert manual.status == "ok" and "telegram" not in manual.stats
    assert telegram_peer.state.messages() == [] and telegram_peer.state.documents() == []
    assert _notifications(database) == []


def _training_day(database, settings) -> None:
    """BTC has a fresh model (skipped), SOL has stored history (trained), ETH has none (failed)."""
    with database.session() as session:
        configdocs.patch(session, MODEL_POLICY, {"train_bars": 300, "retrain_if_auc_below": 0.0})
        entries = [
            WatchlistEntryIn(symbol="BTC/USDT"),
            WatchlistEntryIn(symbol="SOL/USDT", timeframe="1h", horizon_steps=4),
            WatchlistEntryIn(symbol="ETH/USDT"),
        ]
        market.add_to_watchlist(session, settings=settings, entries=entries)
        register_run(session, settings, symbol="BTC/USDT", test_auc=0.64)
        prices = make_prices(2400, seed=5, timeframe="1h", autocorrelation=0.2)
        store_prices(session, prices, exchange="bybit", symbol="SOL/USDT", timeframe="1h")


def test_each_training_run_sends_one_summary_of_what_it_did(
    database, notify_settings, telegram_peer, fast_delivery, frozen_clock
) -> None:
    _training_day(database, notify_settings)
    _notify(database, telegram_peer)
    registry.MODEL_CACHE.clear()
    with TestClient(create_app(notify_settings, database=database)) as client:
        response = client.post("/automation/run", json={"action": "train_missing", "fetch": False})
    registry.MODEL_CACHE.clear()
    outcome = response.json()
    assert outcome["status"] == "ok", outcome["error"]
    stats = outcome["stats"]
    assert (stats["trained"], stats["skipped"], stats["failed"]) == (1, 1, 1)
    assert stats["telegram"]["status"] == "sent"
    [message] = telegram_peer.state.messages(telegram_peer.chat_id)
    lines = message.plain_text.splitlines()
    assert lines[0] == f"🧠 Model training · api · run #{outcome['run_id']}"
    assert lines[1] == "trained 1 · skipped 1 · failed 1"
    sol = next(p for p in stats["pairs"] if p["symbol"] == "SOL/USDT")
    assert lines[2].startswith("❌ ETH/USDT 15m · failed · ")
    assert lines[3] == f"✅ SOL/USDT 1h · trained · AUC {sol['test_auc']:.3f} · promoted"
    assert lines[4] == "▫️ BTC/USDT 15m · skipped"

    again = summaries.send_training_summary(
        database, settings=notify_settings, run_id=outcome["run_id"], source="api", lines=[]
    )
    assert again["status"] == "already_handled"
    assert len(telegram_peer.state.messages()) == 1  # never twice for one run


def test_the_nightly_training_sends_nothing_when_notifications_are_off(
    database, notify_settings, telegram_peer, frozen_clock
) -> None:
    _notify(database, telegram_peer, enabled=False)
    outcome = jobs.run_now(
        database=database,
        settings=notify_settings,
        jobs=job_table(),
        locks=JobLocks(database, notify_settings),
        name="train_models",
        source="scheduler",
    )
    assert outcome.status == "ok", outcome.error
    assert outcome.stats["telegram"] == {"skipped": "notifications are disabled"}
    assert telegram_peer.state.messages() == []


def test_a_training_summary_line_names_the_decision() -> None:
    from myassistant.notify.logic import render_training_summary

    text = render_training_summary(
        [
            TrainingLine("BTC/USDT", "15m", "trained", test_auc=0.5712, promotion="refused"),
            TrainingLine("ETH/USDT", "15m", "failed", reason="too little <history>"),
        ],
        "ru",
        run_id=7,
        source="scheduler",
    )
    assert text.splitlines() == [
        "🧠 <b>Обучение моделей</b> · scheduler · запуск #7",
        "обучено 1 · пропущено 0 · с ошибкой 1",
        "❌ <b>ETH/USDT</b> 15m · ошибка · too little &lt;history&gt;",
        "✅ <b>BTC/USDT</b> 15m · обучена · AUC 0.571 · оставлена текущая модель",
    ]
