"""Row factories: build valid rows with sensible defaults, override what a test cares about."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from myassistant.core.db import Database
from myassistant.jobs.tables import JobRun
from myassistant.signals.tables import SignalEvent

BAR = datetime(2026, 1, 15, 11, 45, tzinfo=UTC)


def signal_event(session: Session, **overrides: Any) -> SignalEvent:
    values: dict[str, Any] = {
        "exchange": "bybit",
        "symbol": "BTC/USDT",
        "timeframe": "15m",
        "horizon_steps": 12,
        "bar_dt": BAR,
        "bar_close": BAR + timedelta(minutes=15),
        "price": 100.0,
        "raw_signal": "buy",
        "final_signal": "buy",
        "blocked": False,
        "prob": 0.7,
        "threshold": 0.6,
        "model_run_id": None,
        "source": "endpoint",
        "note": {},
        "created_at": BAR + timedelta(minutes=15, seconds=5),
        "forward_return": None,
        "forward_filled_at": None,
    }
    values.update(overrides)
    event = SignalEvent(**values)
    session.add(event)
    session.flush()
    return event


def job_runs(database: Database) -> list[tuple[str, str, str]]:
    """(job, source, status) of every recorded job run, oldest first."""
    with database.session(write=False) as session:
        return [(r.job, r.source, r.status) for r in session.scalars(select(JobRun).order_by(JobRun.id))]
