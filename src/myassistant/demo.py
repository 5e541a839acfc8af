"""`myassistant demo`: the whole pipeline once against the local peers, then the service keeps serving.

The peers (exchange, news feeds, Telegram) run in this process on loopback ports; the demo uses its
own database and artifacts folder so it never mixes made-up prices into the user's real data.
Every step runs through the jobs runner, so `GET /automation/status` shows the demo's runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from myassistant.core import clock, configdocs
from myassistant.core.clock import SystemClock
from myassistant.core.config import Settings
from myassistant.core.db import Database
from myassistant.jobs import catalog, service
from myassistant.jobs.runner import JobLocks, JobOutcome
from myassistant.market import service as market
from myassistant.ml.policy import MODEL_POLICY
from myassistant.notify import service as notify
from myassistant.notify.schemas import NotifyConfigUpdate, NotifyRulesUpdate
from myassistant.peers import exchange as exchange_peer
from myassistant.peers import news as news_peer
from myassistant.peers import telegram as telegram_peer
from myassistant.peers.server import RunningServer, start_in_thread
from myassistant.signals import service as signals
from myassistant.trading import service as broker

DEMO_CHAT_ID = 424242
DEMO_DATABASE = "sqlite:///./data/demo.db"
DEMO_ARTIFACTS = Path("./artifacts/demo")


@dataclass
class DemoPeers:
    exchange: RunningServer
    news: RunningServer
    telegram: RunningServer
    telegram_state: telegram_peer.TelegramPeerState

    @property
    def news_feeds(self) -> list[str]:
        return [self.news.url + path for path in news_peer.GOOD_PATHS.values()]


@contextmanager
def running_peers() -> Iterator[DemoPeers]:
    """The three local peers on free loopback ports, stopped when the block ends."""
    with ExitStack() as stack:
        servers = []
        state = telegram_peer.TelegramPeerState(
            telegram_peer.DEFAULT_TOKEN, first_update_id=int(clock.now().timestamp())
        )
        state.add_chat(DEMO_CHAT_ID)
        for app in (
            exchange_peer.create_app(exchange_peer.ExchangePeer(clock=SystemClock())),
            news_peer.create_app(),
            telegram_peer.create_app(state),
        ):
            server = start_in_thread(app)
            stack.callback(server.stop)
            servers.append(server)
        yield DemoPeers(exchange=servers[0], news=servers[1], telegram=servers[2], telegram_state=state)


def demo_settings(
    base: Settings, peers: DemoPeers, *, database_url: str | None = None, artifacts_dir: Path | None = None
) -> Settings:
    """`base` pointed at the peers, with the demo's own database (unless one is given)."""
    default_db = base.database_url == Settings.model_fields["database_url"].default
    return base.model_copy(
        update={
            "database_url": database_url or (DEMO_DATABASE if default_db else base.database_url),
            "artifacts_dir": artifacts_dir or DEMO_ARTIFACTS,
            "exchange_api_override": peers.exchange.url,
            "telegram_api_base": peers.telegram.url,
            "news_feeds": peers.news_feeds,
            "news_allow_private_hosts": True,  # the news peer listens on loopback
            "default_exchange": "bybit",
        }
    )


@dataclass
class DemoSummary:
    steps: list[JobOutcome] = field(default_factory=list)
    watchlist: list[str] = field(default_factory=list)
    telegram_messages: int = 0
    equity: dict[str, Any] = field(default_factory=dict)
    signals: dict[str, int] = field(default_factory=dict)


def run_pipeline(
    database: Database,
    settings: Settings,
    peers: DemoPeers,
    *,
    pairs: int = 5,
    train_bars: int | None = None,
    on_step: Callable[[str], None] | None = None,
) -> DemoSummary:
    """News → analysis → watchlist → prices → models → signals → notifications → paper trades."""
    configure(database, settings, peers, train_bars=train_bars)
    summary = DemoSummary()
    locks = JobLocks(database, settings)
    steps: tuple[tuple[str, str, dict[str, Any]], ...] = (
        ("job", "discover_watchlist", {"top_n": pairs}),
        ("job", "fetch_news", {}),
        ("job", "analyze_news", {}),
        ("action", "train_missing", {}),
        ("job", "make_signals", {}),
    )
    for kind, name, params in steps:
        if on_step:
            on_step(name)
        summary.steps.append(
            service.run_now(
                database=database,
                settings=settings,
                jobs=catalog.table(kind),
                locks=locks,
                name=name,
                source="demo",
                params=params,
            )
        )
    with database.session(write=False) as session:
        summary.watchlist = [f"{e.exchange} {e.symbol}" for e in market.list_watchlist(session)]
        summary.equity = broker.equity(session, latest_price=signals.latest_quotes).model_dump(mode="json")
        events = signals.recent(session, limit=1000)
        summary.signals = {
            "events": len(events),
            "buy": sum(e.final_signal == "buy" for e in events),
            "blocked": sum(e.blocked for e in events),
        }
    summary.telegram_messages = len(peers.telegram_state.messages(DEMO_CHAT_ID))
    return summary


def configure(database: Database, settings: Settings, peers: DemoPeers, *, train_bars: int | None) -> None:
    """Telegram pointed at the peer's chat, every signal notified; optionally a shorter history (tests)."""
    demo_profile = NotifyRulesUpdate(flat_min_prob=0.0, include_blocked=True)
    changes = NotifyConfigUpdate(
        enabled=True,
        token=peers.telegram_state.token,
        chat_id=DEMO_CHAT_ID,
        profiles={"demo": demo_profile},
        active_profile="demo",
    )
    with database.session() as session:
        notify.update_config(session, changes=changes)
        if train_bars is not None:
            configdocs.patch(session, MODEL_POLICY, {"train_bars": train_bars})


def summary_lines(summary: DemoSummary, settings: Settings) -> list[str]:
    """What the demo did, in plain lines with the links to look at next."""
    base = f"http://{settings.host}:{settings.port}"
    lines = [f"watchlist: {', '.join(summary.watchlist)}"]
    for step in summary.steps:
        stats = {
            k: v for k, v in step.stats.items() if isinstance(v, int | float) and not isinstance(v, bool)
        }
        detail = ", ".join(f"{k}={v}" for k, v in list(stats.items())[:6])
        lines.append(
            f"{step.job:14s} {step.status:5s} {step.duration_s:6.1f} s  {detail}"
            + (f"  error: {step.error}" if step.error else "")
        )
    equity = summary.equity
    lines += [
        f"signals: {summary.signals.get('events', 0)} events, {summary.signals.get('buy', 0)} BUY, "
        f"{summary.signals.get('blocked', 0)} blocked by the risk policy",
        f"paper account: equity {equity.get('equity', 0):,.2f} {equity.get('quote', '')}, "
        f"{equity.get('open_positions', 0)} open positions, cash {equity.get('cash', 0):,.2f}",
        f"telegram: {summary.telegram_messages} messages delivered to the demo chat {DEMO_CHAT_ID}",
        f"look next: {base}/docs  {base}/signals/recent  {base}/trade/equity  {base}/model/health  "
        f"{base}/automation/status",
        f"database: {settings.database_url}   artifacts: {settings.artifacts_dir}",
    ]
    return lines
