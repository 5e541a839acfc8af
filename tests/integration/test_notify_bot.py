"""The two-way bot against the Telegram peer: right chat only, each update once, honest answers."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from typer.testing import CliRunner

from myassistant.bot.logic import EquityView, PositionLine, SignalLine
from myassistant.bot.poller import (
    BOT_STATE,
    Bot,
    BotProviders,
    BotState,
    default_providers,
    is_configured_chat,
)
from myassistant.cli import app as cli_app
from myassistant.core import configdocs
from myassistant.core.i18n import Lang
from myassistant.jobs.tables import JobRun
from myassistant.notify.telegram import client_for
from myassistant.reports import service as reports
from tests.fixtures.telegram_peer import FAST_RETRY, set_notify_config

STRANGER = 31337
OTHER_TOKEN = "987654321:AAF" + "k" * 32


@pytest.fixture
def configure(database, telegram_peer):
    def apply(**fields: object) -> None:
        with database.session() as session:
            set_notify_config(session, telegram_peer, **fields)

    apply()
    return apply


@pytest.fixture
def make_bot(database, notify_settings, configure):
    bots: list[Bot] = []

    def build(**options: Any) -> Bot:
        options.setdefault("error_backoff_s", 0.05)
        bot = Bot(
            database=database,
            settings=notify_settings,
            client_builder=lambda settings, token, sleep: client_for(
                settings, token, retry=FAST_RETRY, sleep=sleep, timeout_s=2.0
            ),
            **options,
        )
        bots.append(bot)
        return bot

    yield build
    for bot in bots:
        bot.stop.set()
        bot.close()


def ask(bot: Bot, peer, text: str, chat_id: int | None = None) -> list[str]:
    """Send `text` from a chat, let the bot handle one round, return the replies that chat got."""
    chat = chat_id or peer.chat_id
    before = len(peer.state.messages(chat))
    peer.state.inject_message(chat, text)
    bot.poll_once()
    return [m.plain_text for m in peer.state.messages(chat)[before:]]


def test_the_bot_publishes_its_commands_on_start(make_bot, telegram_peer) -> None:
    bot = make_bot()
    bot.poll_once()
    commands = [c["command"] for c in telegram_peer.state.commands()]
    assert commands == ["help", "status", "signals", "positions", "equity", "report", "watchlist"]
    assert bot.username == telegram_peer.state.username


def test_help_is_answered_in_the_configured_chat(make_bot, telegram_peer) -> None:
    [reply] = ask(make_bot(), telegram_peer, "/help")
    assert reply.startswith("Commands\n/help — this list")
    assert "/signals [n] — last n signals (1-50, default 5)" in reply


def test_replies_follow_the_configured_language(make_bot, telegram_peer, configure) -> None:
    configure(lang="ru")
    [reply] = ask(make_bot(), telegram_peer, "/start")
    assert reply.startswith("Команды")


def test_a_strangers_chat_gets_nothing_and_its_text_is_not_logged(make_bot, telegram_peer, caplog) -> None:
    caplog.set_level(logging.INFO)
    bot = make_bot()
    update = telegram_peer.state.inject_message(STRANGER, "/status my secret plans")
    assert bot.poll_once() == 1
    assert telegram_peer.state.messages() == []
    assert f"ignored update {update['update_id']} from chat {STRANGER}" in caplog.text
    assert "secret plans" not in caplog.text
    assert ask(bot, telegram_peer, "/help")  # the configured chat still gets answers


def test_a_restarted_bot_does_not_answer_the_same_update_twice(make_bot, telegram_peer) -> None:
    assert len(ask(make_bot(), telegram_peer, "/help")) == 1
    restarted = make_bot()
    assert restarted.poll_once() == 0
    assert len(telegram_peer.state.messages(telegram_peer.chat_id)) == 1
    offsets = [c.params.get("offset") for c in telegram_peer.state.calls("getUpdates")]
    assert offsets[0] is None and offsets[-1] is not None


def save_state(database, **fields: object) -> None:
    with database.session() as session:
        configdocs.put(session, BOT_STATE, BotState(**fields))


def test_an_update_already_handled_is_skipped_even_if_telegram_sends_it_again(
    make_bot, telegram_peer, database
) -> None:
    update = telegram_peer.state.inject_message(telegram_peer.chat_id, "/help")
    bot = make_bot()
    bot.start()
    save_state(database, bot_id=bot.bot_id, last_update_id=update["update_id"], handled_at=datetime.now(UTC))
    assert not bot._claim(update["update_id"])
    assert bot._claim(update["update_id"] + 1)


@pytest.mark.parametrize(
    ("same_bot", "hours_ago"),
    [(False, 0), (True, 25)],  # the token now belongs to another bot; older than any re-delivery
)
def test_a_saved_offset_that_can_no_longer_matter_does_not_hide_new_updates(
    make_bot, telegram_peer, database, same_bot: bool, hours_ago: int
) -> None:
    """Telegram may restart update ids lower after a quiet week; an old saved id must not mute the bot."""
    bot_id = int(telegram_peer.token.split(":")[0]) if same_bot else 1
    handled_at = datetime.now(UTC) - timedelta(hours=hours_ago)
    save_state(database, bot_id=bot_id, last_update_id=10**12, handled_at=handled_at)
    assert len(ask(make_bot(), telegram_peer, "/help")) == 1


def job_run(job: str, ago: timedelta, status: str, error: str | None = None, duration: float = 1.0) -> JobRun:
    at = datetime(2026, 1, 15, 12, 0, tzinfo=UTC) - ago  # the frozen clock's now
    stats = {"duration_s": duration}
    return JobRun(
        job=job, source="scheduler", started_at=at, finished_at=at, status=status, error=error, stats=stats
    )


def test_status_shows_the_last_run_of_each_job(make_bot, telegram_peer, database, frozen_clock) -> None:
    with database.session() as session:
        session.add_all(
            [
                job_run("fetch_news", timedelta(hours=3), "error", "old failure"),
                job_run("fetch_news", timedelta(minutes=10), "ok", duration=2.5),
                job_run("fetch_prices", timedelta(minutes=30), "error", "exchange said <429>", 0.4),
            ]
        )
    [reply] = ask(make_bot(), telegram_peer, "/status")
    assert "Scheduler: disabled" in reply  # the test settings turn it off
    assert "✅ fetch_news — ok 10m ago (2.5 s)" in reply
    assert "old failure" not in reply
    assert "❌ fetch_prices — error 30m ago (0.4 s): exchange said <429>" in reply
    assert "no model for the watchlist yet" in reply


@pytest.mark.parametrize("command", ["/signals", "/positions", "/equity", "/watchlist"])
def test_a_command_without_a_provider_says_so_honestly(make_bot, telegram_peer, command: str) -> None:
    [reply] = ask(make_bot(providers=BotProviders()), telegram_peer, command)
    assert reply.endswith(": not available in this build yet.")


def test_report_sends_the_newest_report_file_in_the_chats_language(
    make_bot, telegram_peer, notify_settings, database, configure, frozen_clock
) -> None:
    bot = make_bot()
    assert ask(bot, telegram_peer, "/report") == ["No report yet."]
    assert telegram_peer.state.documents() == []
    day_langs: list[tuple[date, Lang]] = [
        (date(2026, 1, 13), "en"),
        (date(2026, 1, 14), "en"),
        (date(2026, 1, 14), "ru"),
    ]
    for day, lang in day_langs:
        reports.build(database, settings=notify_settings, day=day, lang=lang)

    bot.poll_once()
    telegram_peer.state.inject_message(telegram_peer.chat_id, "/report")
    bot.poll_once()
    [sent] = telegram_peer.state.documents(telegram_peer.chat_id)
    assert sent.file_name == "daily_2026-01-14_en.html"
    assert sent.mime_type == "text/html"
    path = notify_settings.artifacts_dir / "reports" / "daily_2026-01-14_en.html"
    assert sent.content == path.read_bytes()
    assert sent.plain_caption.startswith(
        "Latest report: daily_2026-01-14_en.html\nbuilt 2026-01-15 12:00 UTC"
    )

    configure(lang="ru")
    telegram_peer.state.inject_message(telegram_peer.chat_id, "/report")
    bot.poll_once()
    assert telegram_peer.state.documents(telegram_peer.chat_id)[-1].file_name == "daily_2026-01-14_ru.html"


def test_report_whose_file_is_gone_names_it_instead(
    make_bot, telegram_peer, notify_settings, database
) -> None:
    built = reports.build(database, settings=notify_settings, day=date(2026, 1, 14), lang="en")
    built.path.unlink()
    [reply] = ask(make_bot(), telegram_peer, "/report")
    assert reply.startswith("Latest report: daily_2026-01-14_en.html")
    assert telegram_peer.state.documents() == []


def test_bad_arguments_unknown_commands_and_other_bots_commands(make_bot, telegram_peer) -> None:
    bot = make_bot()
    assert ask(bot, telegram_peer, "/signals 0") == [
        "n must be a whole number from 1 to 50, e.g. /signals 10."
    ]
    assert ask(bot, telegram_peer, "/dance") == ["Unknown command /dance. Send /help for the list."]
    assert ask(bot, telegram_peer, "/help@SomeOtherBot") == []
    assert ask(bot, telegram_peer, "just chatting") == []
    assert len(ask(bot, telegram_peer, f"/help@{telegram_peer.state.username}")) == 1


def test_plugged_providers_answer_with_their_numbers(make_bot, telegram_peer) -> None:
    bar = datetime(2026, 1, 15, 11, 45, tzinfo=UTC)
    asked: list[int] = []

    def signals(_session, _settings, n: int) -> list[SignalLine]:
        asked.append(n)
        return [SignalLine(41, bar, "bybit", "ETH/USDT", "15m", "buy", 0.731, 0.6)][:n]

    providers = default_providers()
    providers.signals = signals
    providers.positions = lambda _s, _c: [
        PositionLine("bybit", "ETH/USDT", Decimal("0.5"), Decimal("2000"), 2100.0, Decimal("50"), 0.05)
    ]
    providers.equity = lambda _s, _c: EquityView(
        Decimal("9000"), Decimal("1050"), Decimal("10050"), Decimal("0"), Decimal("50"), 0.005
    )
    providers.watchlist = lambda _s, _c: []
    bot = make_bot(providers=providers)
    [reply] = ask(bot, telegram_peer, "/signals 3")
    assert asked == [3]
    assert "🟢 01-15 11:45 ETH/USDT 15m BUY 73.1% / 60.0% · #41" in reply
    [reply] = ask(bot, telegram_peer, "/positions")
    assert "ETH/USDT bybit · 0.5 @ 2,000.00 → 2,100.00 · PnL +50.00 (+5.00%)" in reply
    [reply] = ask(bot, telegram_peer, "/equity")
    assert "Equity: 10,050.00 USDT" in reply and "Unrealized PnL: +50.00 USDT" in reply
    assert ask(bot, telegram_peer, "/watchlist") == ["The watchlist is empty."]


def test_a_failing_provider_gets_an_apology_not_silence(make_bot, telegram_peer, caplog) -> None:
    def broken(_session, _settings):
        raise RuntimeError("database exploded")

    bot = make_bot(providers=BotProviders(equity=broken))
    assert ask(bot, telegram_peer, "/equity") == ["/equity: could not be read right now, try again later."]
    assert "command /equity failed" in caplog.text


def run_until_answered(bot: Bot, peer) -> bool:
    """Run the bot's loop in a thread, send /help, stop it; True when the reply arrived."""
    worker = threading.Thread(target=bot.run)
    worker.start()
    try:
        peer.state.inject_message(peer.chat_id, "/help")
        return peer.state.wait_for(lambda: len(peer.state.messages()) == 1, 10)
    finally:
        bot.stop.set()
        worker.join(10)
        assert not worker.is_alive()


def test_the_run_loop_answers_until_stopped(make_bot, telegram_peer) -> None:
    bot = make_bot(poll_timeout_s=1)
    assert run_until_answered(bot, telegram_peer)
    assert bot.failure is None


def test_the_run_loop_survives_telegram_errors(make_bot, telegram_peer) -> None:
    telegram_peer.state.fail_next("getUpdates", 500, times=5)  # more than one round of retries
    bot = make_bot(poll_timeout_s=1)
    assert run_until_answered(bot, telegram_peer)
    assert bot.failure is None
    assert [c.status for c in telegram_peer.state.calls("getUpdates")][:5] == [500] * 5


def test_a_rejected_token_stops_the_bot_with_the_reason(make_bot, telegram_peer, configure) -> None:
    configure(token=OTHER_TOKEN)
    bot = make_bot()
    bot.run()
    assert bot.failure is not None and "rejected the bot token" in bot.failure
    assert OTHER_TOKEN not in bot.failure


def test_channels_and_groups_match_by_username_or_id() -> None:
    assert is_configured_chat({"id": -100, "username": "Feed_Name"}, "@feed_name")
    assert not is_configured_chat({"id": -100}, "@feed_name")
    assert is_configured_chat({"id": -100}, -100)
    assert not is_configured_chat({"id": 100}, None)


def test_the_bot_command_refuses_to_start_without_a_config(cli_env) -> None:
    result = CliRunner().invoke(cli_app, ["bot", "--poll-timeout", "0"])
    assert result.exit_code == 2, result.output
    assert "needs a token and a chat_id" in result.output
