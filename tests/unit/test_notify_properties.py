"""Properties: any signal renders to markup Telegram accepts, within its length limit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from myassistant.core.i18n import Lang
from myassistant.notify.logic import RiskNote, SignalNotice, render_signal_message
from myassistant.notify.text import MAX_MESSAGE_LENGTH, telegram_length
from myassistant.peers.telegram import parse_html

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
text = st.text(max_size=300)
number = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12)

notices = st.builds(
    SignalNotice,
    event_id=st.integers(1, 10**12),
    exchange=text,
    symbol=text,
    timeframe=st.sampled_from(["1m", "15m", "4h", "1d", "weird"]),
    horizon_steps=st.integers(1, 10_000),
    bar_dt=st.just(NOW - timedelta(minutes=15)),
    raw_signal=st.sampled_from(["buy", "flat"]),
    final_signal=st.sampled_from(["buy", "flat"]),
    prob=st.floats(0, 1),
    threshold=st.floats(0, 1),
    price=st.none() | st.floats(min_value=0, max_value=1e9, allow_nan=False),
    blocked=st.booleans(),
    source=st.sampled_from(["endpoint", "scheduler", "action"]),
    reasons=st.lists(
        st.builds(RiskNote, filter=text, value=number | text, limit=number, message=text), max_size=15
    ).map(tuple),
    model_run_id=st.none() | st.integers(1, 10**9),
    model_trained_at=st.none() | st.just(NOW - timedelta(days=3)),
    top_features=st.lists(st.tuples(text, number), max_size=8).map(tuple),
    headlines=st.lists(text, max_size=5).map(tuple),
)


@settings(max_examples=150, deadline=None)
@given(item=notices, lang=st.sampled_from(["en", "ru"]))
def test_any_signal_renders_to_valid_telegram_html_within_the_limit(item: SignalNotice, lang: Lang) -> None:
    message = render_signal_message(item, lang, NOW)
    assert telegram_length(message) <= MAX_MESSAGE_LENGTH
    parse_html(message)
