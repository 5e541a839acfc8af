"""Pure parts of delivery: notices from stored events and the retry verdict."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from myassistant.notify import logic
from myassistant.notify.logic import RiskNote

TOKEN = "123456789:" + "A" * 35
BAR = datetime(2026, 1, 15, 11, 45, tzinfo=UTC)


@dataclass
class Event:
    note: Any = field(default_factory=dict)
    id: int = 7
    exchange: str = "bybit"
    symbol: str = "BTC/USDT"
    timeframe: str = "15m"
    horizon_steps: int = 12
    bar_dt: datetime = BAR
    raw_signal: str = "buy"
    final_signal: str = "flat"
    prob: float = 0.71
    threshold: float = 0.6
    price: float = 43210.5
    blocked: bool = True
    model_run_id: int | None = 3


def test_a_notice_reads_reasons_model_age_drivers_and_headlines_from_the_note() -> None:
    note = {
        "risk": {
            "reasons": [{"filter": "max_vol_norm", "value": 2.5, "limit": 2.0, "message": "too volatile"}]
        },
        "model": {"run_id": 3, "trained_at": "2026-01-13T12:00:00+00:00"},
        "explanation": {
            "top_features": [{"feature": "vol_norm", "contribution": 0.4, "value": 2.5}],
            "headlines": [{"title": "Bitcoin <surges>", "url": "https://x"}],
        },
    }
    notice = logic.notice_from_event(Event(note=note), source="scheduler")
    assert notice.reasons == (RiskNote("max_vol_norm", 2.5, 2.0, "too volatile"),)
    assert notice.model_trained_at == datetime(2026, 1, 13, 12, tzinfo=UTC)
    assert notice.top_features == (("vol_norm", 0.4),)
    assert notice.headlines == ("Bitcoin <surges>",)
    assert (notice.source, notice.blocked, notice.price) == ("scheduler", True, 43210.5)
    text = logic.render_signal_message(notice, "en", datetime(2026, 1, 15, 12, 5, tzinfo=UTC))
    assert "Model: #3, age 2d" in text and "Bitcoin &lt;surges&gt;" in text


@pytest.mark.parametrize(
    "note",
    [
        None,
        "not a mapping",
        {"risk": [], "model": "x", "explanation": None},
        {
            "risk": {"reasons": ["x", None]},
            "model": {"trained_at": "yesterday"},
            "explanation": {"top_features": [{"feature": "a", "contribution": "big"}], "headlines": [{}]},
        },
    ],
)
def test_a_malformed_note_gives_a_plain_notice_not_an_error(note: Any) -> None:
    notice = logic.notice_from_event(Event(note=note), source="endpoint")
    assert (notice.reasons, notice.top_features, notice.headlines, notice.model_trained_at) == (
        (),
        (),
        (),
        None,
    )


def test_a_naive_trained_at_is_read_as_utc() -> None:
    notice = logic.notice_from_event(Event(note={"model": {"trained_at": "2026-01-15T10:00:00"}}), source="x")
    assert notice.model_trained_at == datetime(2026, 1, 15, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    ("outcome", "possibly_delivered", "attempts", "retry"),
    [
        ("server_error", False, 4, True),
        ("bad_token", False, 1, True),
        ("chat_not_found", False, 1, True),
        ("unreachable", False, 4, True),
        ("unreachable", True, 1, False),
        ("bad_request", False, 1, False),
        ("server_error", False, logic.MAX_NOTIFICATION_ATTEMPTS, False),
    ],
)
def test_the_retry_verdict(outcome: str, possibly_delivered: bool, attempts: int, retry: bool) -> None:
    verdict = logic.retry_verdict(outcome, possibly_delivered=possibly_delivered, attempts=attempts)
    assert verdict.send is retry and verdict.reason
