"""The bot's pure parts: one command list, parsing, and the replies each command renders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from myassistant.bot import logic
from myassistant.bot.logic import (
    COMMANDS,
    EquityView,
    JobStatusLine,
    PositionLine,
    SignalLine,
    StatusView,
    parse_command,
    parse_count,
    render_equity,
    render_help,
    render_positions,
    render_signals,
    render_status,
)
from myassistant.bot.poller import HANDLERS, default_commands
from myassistant.core.i18n import LANGS
from myassistant.notify.text import MAX_MESSAGE_LENGTH, telegram_length
from myassistant.peers.telegram import parse_html

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


def test_every_command_has_a_handler_and_a_help_text_and_nothing_else_does() -> None:
    names = [spec.name for spec in COMMANDS]
    assert set(HANDLERS) == set(names)
    assert list(default_commands().commands) == names
    for spec in COMMANDS:
        for lang in LANGS:
            if spec.listed:
                assert logic.t(lang, f"cmd_{spec.name}")
    listed = [entry["command"] for entry in logic.command_descriptions("en")]
    assert listed == [spec.name for spec in COMMANDS if spec.listed]


# -- commands -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/signals", ("signals", "")),
        ("/signals 10", ("signals", "10")),
        ("/SIGNALS@MyAssistantBot 7", ("signals", "7")),
        ("/help@myassistantbot", ("help", "")),
        ("  /status  ", ("status", "")),
    ],
)
def test_commands_parse_with_or_without_the_bot_suffix(text: str, expected: tuple[str, str]) -> None:
    parsed = parse_command(text, "MyAssistantBot")
    assert parsed is not None and (parsed.name, parsed.args) == expected


@pytest.mark.parametrize("text", ["hello", "", None, "/", "status", "/help@SomeOtherBot"])
def test_plain_text_and_commands_for_other_bots_are_not_commands(text: str | None) -> None:
    assert parse_command(text, "MyAssistantBot") is None


@pytest.mark.parametrize(("args", "count"), [("", 5), ("1", 1), ("50", 50), ("12 extra", 12)])
def test_signal_count_accepts_1_to_50(args: str, count: int) -> None:
    assert parse_count(args) == count


@pytest.mark.parametrize("args", ["0", "51", "-3", "ten", "1.5", "9999999"])
def test_signal_count_refuses_anything_else(args: str) -> None:
    with pytest.raises(ValueError, match="1 to 50"):
        parse_count(args)


def test_help_lists_every_command_in_both_languages() -> None:
    for lang in ("en", "ru"):
        text = render_help(lang)
        for name in ("status", "signals [n]", "positions", "equity", "report", "watchlist", "help"):
            assert f"/{name} — " in text


def test_status_shows_each_job_and_escapes_errors() -> None:
    view = StatusView(
        scheduler_enabled=True,
        notify_enabled=True,
        active_profile="default",
        jobs=(
            JobStatusLine("fetch_news", "ok", NOW - timedelta(minutes=6), NOW - timedelta(minutes=5), 1.25),
            JobStatusLine(
                "fetch_prices", "error", NOW - timedelta(hours=2), NOW - timedelta(hours=2), 0.5, "<boom>"
            ),
            JobStatusLine("make_signals", "running", NOW - timedelta(minutes=3)),
            JobStatusLine("train_models", "never"),
        ),
    )
    plain = parse_html(render_status(view, "en", NOW))
    assert "✅ fetch_news — ok 5m ago (1.2 s)" in plain
    assert "❌ fetch_prices — error 2h ago (0.5 s): <boom>" in plain
    assert "⏳ make_signals — running for 3m" in plain
    assert "▫️ train_models — never run" in plain
    assert "Model health: not available in this build yet." in plain


def test_signal_position_and_equity_replies_show_the_numbers() -> None:
    signals = render_signals(
        [
            SignalLine(9, NOW, "bybit", "ETH/USDT", "15m", "buy", 0.7, 0.6),
            SignalLine(8, NOW, "bybit", "SOL/USDT", "15m", "flat", 0.7, 0.6, blocked=True),
        ],
        "en",
    )
    assert "ETH/USDT" in signals and "70.0% / 60.0%" in signals and "BUY blocked" in signals
    positions = parse_html(
        render_positions(
            [
                PositionLine(
                    "bybit", "BTC/USDT", Decimal("0.0123"), Decimal("43000"), 43500.0, Decimal("6.15"), 0.0116
                )
            ],
            "en",
        )
    )
    assert "BTC/USDT bybit · 0.0123 @ 43,000.00 → 43,500.00 · PnL +6.15 (+1.16%)" in positions
    equity = parse_html(
        render_equity(
            EquityView(Decimal("9000"), Decimal("1050.5"), Decimal("10050.5"), 10, 40.5, 0.00505), "en"
        )
    )
    assert "Equity: 10,050.50 USDT" in equity and "Return since start: +0.51%" in equity
    assert render_signals([], "ru") == "Сигналов пока нет."


def test_a_long_list_reply_fits_and_says_how_many_were_left_out() -> None:
    lines = [SignalLine(i, NOW, "bybit", "X" * 40 + "/USDT", "15m", "buy", 0.7, 0.6) for i in range(50)]
    text = render_signals(lines, "en")
    assert telegram_length(text) <= MAX_MESSAGE_LENGTH
    shown = text.count("🟢")
    assert 0 < shown < 50 and f"… and {50 - shown} more" in text
