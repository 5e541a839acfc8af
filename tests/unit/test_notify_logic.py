"""Notification rules, message text and bot command parsing (pure)."""

from __future__ import annotations

import html
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from myassistant.core.i18n import Lang
from myassistant.notify.logic import (
    RiskNote,
    SignalNotice,
    merge_profiles,
    render_signal_message,
    should_notify,
)
from myassistant.notify.schemas import NotifyConfig, NotifyRules
from myassistant.notify.text import MAX_MESSAGE_LENGTH, telegram_length
from myassistant.peers.telegram import parse_html

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
TOKEN = "123456789:AAH" + "x" * 32


def notice(**changes: Any) -> SignalNotice:
    base = SignalNotice(
        event_id=17,
        exchange="bybit",
        symbol="BTC/USDT",
        timeframe="15m",
        horizon_steps=12,
        bar_dt=NOW - timedelta(minutes=15),
        raw_signal="buy",
        final_signal="buy",
        prob=0.712,
        threshold=0.65,
        price=43210.5,
        blocked=False,
        source="scheduler",
        model_run_id=3,
        model_trained_at=NOW - timedelta(days=2, hours=4),
        top_features=(("ret_24", 0.21), ("vol_norm", -0.08)),
        headlines=("Bitcoin ETF inflows hit a record", "Second headline", "Third headline"),
    )
    return replace(base, **changes)


def blocked_notice(**changes: object) -> SignalNotice:
    changes.setdefault("reasons", (RiskNote("vol_norm", 3.2, 2.5, "volatility too high"),))
    return notice(final_signal="flat", blocked=True, **changes)


def config(**rules: object) -> NotifyConfig:
    return NotifyConfig(enabled=True, token=TOKEN, chat_id=1, profiles={"default": NotifyRules(**rules)})


# -- should_notify --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rules", "item", "send"),
    [
        ({}, notice(), True),
        ({"buy": False}, notice(), False),
        ({}, notice(final_signal="flat", raw_signal="flat", prob=0.9), False),  # null = never FLAT
        ({"flat_min_prob": 0.8}, notice(final_signal="flat", raw_signal="flat", prob=0.79), False),
        ({"flat_min_prob": 0.8}, notice(final_signal="flat", raw_signal="flat", prob=0.8), True),
        ({"flat_min_prob": 0.8}, notice(final_signal="flat", raw_signal="flat", prob=0.95), True),
        ({"flat_min_prob": 0.0}, notice(final_signal="flat", raw_signal="flat", prob=0.0), True),
        ({}, blocked_notice(), False),
        ({"include_blocked": True}, blocked_notice(), True),
        # a vetoed BUY never slips through as a FLAT
        ({"flat_min_prob": 0.1}, blocked_notice(), False),
        ({"source": "endpoint"}, notice(source="scheduler"), False),
        ({"source": "endpoint"}, notice(source="endpoint"), True),
        ({"source": "endpoint"}, notice(source="action"), True),
        ({"source": "scheduler"}, notice(source="endpoint"), False),
        ({"source": "scheduler"}, notice(source="action"), False),
        ({"source": "scheduler"}, notice(source="scheduler"), True),
        ({"source": "both"}, notice(source="action"), True),
        ({"max_delay_minutes": 30}, notice(bar_dt=NOW - timedelta(minutes=45)), True),
        ({"max_delay_minutes": 30}, notice(bar_dt=NOW - timedelta(minutes=46)), False),
    ],
)
def test_should_notify_follows_the_active_profile(rules: dict, item: SignalNotice, send: bool) -> None:
    decision = should_notify(item, config(**rules), NOW)
    assert decision.send is send, decision.reason
    assert decision.reason


def test_only_the_active_profile_decides() -> None:
    cfg = NotifyConfig(
        enabled=True,
        token=TOKEN,
        chat_id=1,
        profiles={"quiet": NotifyRules(buy=False), "loud": NotifyRules(flat_min_prob=0.5)},
        active_profile="quiet",
    )
    assert not should_notify(notice(), cfg, NOW).send
    assert should_notify(notice(), cfg.model_copy(update={"active_profile": "loud"}), NOW).send


@pytest.mark.parametrize(
    ("cfg", "reason"),
    [
        (NotifyConfig(), "disabled"),
        (NotifyConfig.model_construct(enabled=True, token=None, chat_id=1), "token"),
        (NotifyConfig.model_construct(enabled=True, token=TOKEN, chat_id=None), "chat_id"),
    ],
)
def test_a_disabled_or_incomplete_config_never_sends(cfg: NotifyConfig, reason: str) -> None:
    decision = should_notify(notice(), cfg, NOW)
    assert not decision.send and reason in decision.reason


# -- messages -------------------------------------------------------------------------------


def test_buy_message_in_english_has_every_part() -> None:
    text = render_signal_message(notice(), "en", NOW)
    plain = parse_html(text)
    assert plain.startswith("🟢 BUY · BTC/USDT · 15m · bybit")
    assert "Probability: 71.2% vs threshold 65.0% (+6.2 pp)" in plain
    assert "Price: 43,210.50" in plain
    assert "Horizon: 12 bars (3h)" in plain
    assert "Model: #3, age 2d 4h" in plain
    assert "Drivers: ret_24 +0.210, vol_norm -0.080" in plain
    assert "📰 Bitcoin ETF inflows hit a record" in plain and "Second headline" in plain
    assert "Third headline" not in plain  # at most two headlines
    assert "Bar 2026-01-15 11:45 UTC · scheduler · event #17" in plain


def test_blocked_buy_is_marked_with_its_reasons_in_russian() -> None:
    text = render_signal_message(blocked_notice(), "ru", NOW)
    plain = parse_html(text)
    assert "⛔ ПОКУПКА — ЗАБЛОКИРОВАНО риск-политикой" in plain
    assert "Риск:" in plain and "• vol_norm: 3.2 (лимит 2.5) — volatility too high" in plain
    assert "Вероятность: 71.2%, порог 65.0% (+6.2 п.п.)" in plain
    assert "Цена: 43\u00a0210.50" in plain
    assert "возраст 2д 4ч" in plain


def test_flat_message_says_flat() -> None:
    plain = parse_html(render_signal_message(notice(final_signal="flat", prob=0.4), "en", NOW))
    assert plain.startswith("⚪ FLAT")
    assert "(-25.0 pp)" in plain


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_every_dynamic_value_is_escaped(lang: Lang) -> None:
    evil = "<b>&amp;</b><script>"
    item = blocked_notice(
        symbol=f"X{evil}/USDT",
        exchange=evil,
        headlines=(f"Headline {evil} & more",),
        top_features=((f"f{evil}", 1.0),),
        reasons=(RiskNote(evil, evil, evil, evil),),
    )
    text = render_signal_message(item, lang, NOW)
    plain = parse_html(text)  # the peer refuses markup Telegram would refuse
    assert f"X{evil}/USDT" in plain
    assert f"Headline {evil} & more" in plain
    assert html.escape(evil) in text and "<script>" not in text


def test_a_huge_notice_still_fits_telegrams_limit() -> None:
    item = blocked_notice(
        symbol="S" * 5000,
        headlines=("H" * 5000,) * 10,
        reasons=tuple(RiskNote("f" * 500, "v" * 500, "l" * 500, "m" * 5000) for _ in range(50)),
        top_features=tuple((f"n{i}" * 100, 0.1) for i in range(50)),
    )
    text = render_signal_message(item, "ru", NOW)
    assert telegram_length(text) <= MAX_MESSAGE_LENGTH
    parse_html(text)


def test_micro_cap_prices_keep_significant_digits() -> None:
    plain = parse_html(render_signal_message(notice(price=0.000012345), "en", NOW))
    assert "Price: 0.00001234" in plain or "Price: 0.00001235" in plain


# -- config helpers and purity --------------------------------------------------------------


def test_profiles_merge_by_name_and_null_removes() -> None:
    merged = merge_profiles(
        {"default": {"buy": True, "flat_min_prob": None}, "old": {"buy": False}},
        {"default": {"flat_min_prob": 0.8}, "old": None, "new": {"source": "endpoint"}},
    )
    assert merged == {"default": {"buy": True, "flat_min_prob": 0.8}, "new": {"source": "endpoint"}}
