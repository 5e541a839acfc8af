"""Notification benchmark: the cost of the reserve-then-send path, next to references from the same run.

1. `maybe_send_signal_notification` for N stored BUY events against the local Telegram peer
   (config read, rules, message text, reservation committed, sendMessage, attempt recorded, final
   status; a new client, so a new connection, per message). Reference: a bare `sendMessage` of the
   same text to the same peer on a kept-alive connection (the HTTP round trip alone), so the
   difference is what the bookkeeping and the fresh connection add.
2. The same calls again: every event is already handled (config read, rules, text, one conflicting
   insert). Reference: reading the notify config alone.

Usage: python bench/notify_bench.py [--events 300]
With DATABASE_URL=postgresql+psycopg://... it runs on a scratch database it creates on that server
and drops afterwards (the database the URL names is never written).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.timing import millis_per_call, percentiles  # noqa: E402
from tests.fixtures.postgres import scratch_database  # noqa: E402

from myassistant.core import clock, migrate  # noqa: E402
from myassistant.core.config import Settings  # noqa: E402
from myassistant.core.db import Database  # noqa: E402
from myassistant.notify import service as notify  # noqa: E402
from myassistant.notify.logic import notice_from_event, render_signal_message  # noqa: E402
from myassistant.notify.schemas import NotifyConfigUpdate  # noqa: E402
from myassistant.peers import telegram as peer  # noqa: E402
from myassistant.peers.server import serving  # noqa: E402
from myassistant.signals.tables import SignalEvent  # noqa: E402

CHAT_ID = 424242
NOW = datetime(2026, 1, 15, 12, 5, tzinfo=UTC)


def describe(label: str, ms: np.ndarray) -> str:
    p50, p95 = percentiles(ms, 50, 95)
    return f"{label:<46} p50 {p50:7.2f} ms   p95 {p95:7.2f} ms   ({len(ms)} calls)"


def store_events(database: Database, count: int) -> list[SignalEvent]:
    note = {
        "risk": {"reasons": []},
        "model": {"run_id": None, "trained_at": (NOW - timedelta(days=2)).isoformat()},
        "explanation": {"top_features": [{"feature": "vol_norm", "contribution": 0.3}], "headlines": []},
    }
    bars = [NOW - timedelta(minutes=20 + 15 * i) for i in range(count)]
    with database.session() as session:
        events = [
            SignalEvent(
                exchange="bybit",
                symbol="BTC/USDT",
                timeframe="15m",
                horizon_steps=12,
                bar_dt=bar,
                bar_close=bar + timedelta(minutes=15),
                price=43210.5,
                raw_signal="buy",
                final_signal="buy",
                blocked=False,
                prob=0.71,
                threshold=0.6,
                model_run_id=None,
                source="scheduler",
                note=note,
                created_at=NOW,
            )
            for bar in bars
        ]
        session.add_all(events)
    return events


@contextmanager
def bench_database(tmp: str) -> Iterator[str]:
    """A SQLite file in `tmp`, or a throw-away database on the PostgreSQL server DATABASE_URL names."""
    configured = os.environ.get("DATABASE_URL", "")
    if not configured.startswith("postgresql"):
        yield f"sqlite:///{Path(tmp, 'bench.db').as_posix()}"
        return
    with scratch_database(configured, "notify_bench") as url:
        yield url


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, bench_database(tmp) as url:
        migrate.upgrade(url)
        database = Database(url)
        state = peer.TelegramPeerState()
        state.add_chat(CHAT_ID)
        with serving(peer.create_app(state)) as server, clock.frozen(NOW):
            settings = Settings(
                _env_file=None, database_url=url, artifacts_dir=Path(tmp), telegram_api_base=server.url
            )
            with database.session() as session:
                notify.update_config(
                    session, changes=NotifyConfigUpdate(enabled=True, token=state.token, chat_id=CHAT_ID)
                )
            events = store_events(database, args.events)
            client = notify.signal_client_factory(settings, state.token)
            text = render_signal_message(notice_from_event(events[0], source="scheduler"), "en", NOW)
            reference = millis_per_call([lambda: client.send_message(CHAT_ID, text)] * args.events)
            sends = millis_per_call(
                [
                    partial(
                        notify.maybe_send_signal_notification,
                        database,
                        settings=settings,
                        event=e,
                        source="scheduler",
                    )
                    for e in events
                ]
            )
            repeats = millis_per_call(
                [
                    partial(
                        notify.maybe_send_signal_notification,
                        database,
                        settings=settings,
                        event=e,
                        source="scheduler",
                    )
                    for e in events
                ]
            )

            def read_config() -> None:
                with database.session(write=False) as session:
                    notify.get_config(session)

            config_reads = millis_per_call([read_config] * args.events)
            client.close()
        assert len(state.messages()) == 2 * args.events  # the reference sends plus one per event
        print(f"backend: {database.backend}, {args.events} events, Telegram peer on loopback")
        print(describe("reference: bare sendMessage", reference))
        print(describe("maybe_send_signal_notification (new event)", sends))
        print(describe("reference: notify config read", config_reads))
        print(describe("maybe_send_signal_notification (already sent)", repeats))
        overhead = np.median(sends) - np.median(reference)
        print(f"bookkeeping added to a send (median): {overhead:.2f} ms")
        database.dispose()


if __name__ == "__main__":
    main()
