"""The bot on the product's data: every command answers the configured chat with the API's numbers."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from myassistant.api.app import create_app
from myassistant.bot.poller import Bot
from myassistant.core import configdocs
from myassistant.market.logic import Pair
from myassistant.ml import health as ml
from myassistant.notify.telegram import client_for
from myassistant.notify.text import format_number, format_price
from myassistant.signals.policy import RISK_POLICY
from tests.fixtures.decision import OPEN_POLICY, constant_model
from tests.fixtures.telegram_peer import FAST_RETRY, set_notify_config

STRANGER = 31337


@pytest.fixture
def api(exchange_telegram_settings, database, telegram_peer, mid_bar_clock):
    """Two paper positions bought a bar ago, marked at a newer close; a third pair without a model."""
    with database.session() as session:
        configdocs.put(session, RISK_POLICY, OPEN_POLICY)
        constant_model(session, exchange_telegram_settings, prob=0.8)
        constant_model(session, exchange_telegram_settings, prob=0.7, symbol="ETH/USDT")
        set_notify_config(session, telegram_peer)
    with TestClient(create_app(exchange_telegram_settings, database=database)) as client:
        watchlist = [
            {"symbol": "BTC/USDT"},
            {"symbol": "ETH/USDT"},
            {"symbol": "XRP/USDT", "timeframe": "1h"},
        ]
        assert client.post("/watchlist", json={"entries": watchlist}).status_code == 200
        for symbol in ("BTC/USDT", "ETH/USDT"):
            assert client.post("/signal/latest", json={"symbol": symbol, "trade": True}).json()["order"]
        mid_bar_clock.advance(minutes=15)
        assert client.post("/prices/fetch", json={"symbols": ["BTC/USDT", "ETH/USDT"]}).json()["failed"] == 0
        assert client.post("/automation/run", json={"job": "make_signals"}).json()["status"] == "ok"
        yield client


@pytest.fixture
def bot(database, exchange_telegram_settings):
    built = Bot(
        database=database,
        settings=exchange_telegram_settings,
        client_builder=lambda settings, token, sleep: client_for(
            settings, token, retry=FAST_RETRY, sleep=sleep, timeout_s=2.0
        ),
    )
    yield built
    built.close()


def ask(bot: Bot, peer, text: str, chat_id: int | None = None) -> str:
    """`text` from a chat, one polling round; the one reply, which must have gone to that chat."""
    chat = chat_id or peer.chat_id
    before = len(peer.state.messages())
    peer.state.inject_message(chat, text)
    bot.poll_once()
    [reply] = peer.state.messages()[before:]
    assert reply.chat_id == chat
    return reply.plain_text


def test_equity_is_the_apis_equity(api, bot, telegram_peer) -> None:
    equity = api.get("/trade/equity").json()
    assert equity["open_positions"] == 2 and equity["unrealized_pnl"] != 0
    reply = ask(bot, telegram_peer, "/equity")
    for label, key in [
        ("Equity: ", "equity"),
        ("Cash: ", "cash"),
        ("Positions: ", "positions_value"),
    ]:
        assert f"{label}{format_number(equity[key], 'en')} USDT" in reply
    assert f"Realized PnL: {format_number(equity['realized_pnl'], 'en', sign=True)} USDT" in reply
    assert f"Unrealized PnL: {format_number(equity['unrealized_pnl'], 'en', sign=True)} USDT" in reply
    assert f"Return since start: {equity['return_pct']:+.2f}%" in reply


def test_positions_are_the_apis_positions_marked_at_the_latest_close(api, bot, telegram_peer) -> None:
    positions = api.get("/trade/positions").json()
    reply = ask(bot, telegram_peer, "/positions")
    assert reply.startswith(f"Open positions ({len(positions)})")
    for p in positions:
        assert p["priced"] and p["last_price"] != p["avg_price"]
        pnl = format_number(p["unrealized_pnl"], "en", sign=True)
        assert (
            f"{p['symbol']} bybit · {p['qty']:.8g} @ {format_price(p['avg_price'], 'en')} → "
            f"{format_price(p['last_price'], 'en')} · PnL {pnl} ({p['unrealized_pct']:+.2f}%)"
        ) in reply


def test_signals_are_the_apis_recent_events_newest_first(api, bot, telegram_peer) -> None:
    events = api.get("/signals/recent", params={"limit": 3}).json()
    reply = ask(bot, telegram_peer, "/signals 3")
    lines = reply.splitlines()
    assert lines[0] == "Last 3 signals"
    for line, event in zip(lines[1:], events, strict=True):
        assert line.endswith(f"#{event['id']}") and event["symbol"] in line
        assert f"{event['prob'] * 100:.1f}% / {event['threshold'] * 100:.1f}%" in line
    assert len(ask(bot, telegram_peer, "/signals").splitlines()) == 1 + min(
        5, len(api.get("/signals/recent").json())
    )


def test_watchlist_is_the_apis_watchlist(api, bot, telegram_peer) -> None:
    entries = api.get("/watchlist").json()
    reply = ask(bot, telegram_peer, "/watchlist")
    assert reply.startswith(f"Watchlist ({len(entries)})")
    assert [line.split(" ")[0] for line in reply.splitlines()[1:]] == [e["symbol"] for e in entries]


def test_status_shows_the_last_jobs_and_each_pairs_model_health(api, bot, telegram_peer, database) -> None:
    reply = ask(bot, telegram_peer, "/status")
    assert "✅ make_signals — ok" in reply
    with database.session(write=False) as session:
        policy = ml.get_policy(session)
        health = {
            (pair["symbol"], pair["timeframe"] or "15m"): ml.health_for(
                session,
                pair=Pair(
                    exchange=pair["exchange"],
                    symbol=pair["symbol"],
                    timeframe=pair["timeframe"] or "15m",
                    horizon_steps=12,
                ),
                policy=policy,
            )
            for pair in api.get("/watchlist").json()
        }
    assert {h.status for h in health.values()} == {"ok", "missing"}
    for (symbol, timeframe), h in health.items():
        line = next(line for line in reply.splitlines() if line.split(" ")[1:3] == [symbol, timeframe])
        assert f" · {h.status}" in line
        if h.run_id is not None:
            assert f"#{h.run_id}" in line and f"AUC {h.test_auc:.3f}" in line


def test_a_strangers_chat_gets_nothing(api, bot, telegram_peer) -> None:
    commands = ["/status", "/signals", "/positions", "/equity", "/watchlist", "/report", "/help"]
    for command in commands:
        telegram_peer.state.inject_message(STRANGER, command)
    assert bot.poll_once() == len(commands)
    assert telegram_peer.state.messages() == []
