"""`myassistant demo`: the whole pipeline once against the local peers, then the service keeps serving.

The peers (exchange, news feeds, Telegram) run in this process on loopback ports; the demo uses its
own database and artifacts folder so it never mixes made-up prices into the user's real data.
Every step runs through the jobs runner, so `GET /automation/status` shows the demo's runs.

So that one run shows the whole chain, the demo starts `CATCH_UP_BARS` bars in the past on the
product clock (the exchange peer follows it): it discovers the watchlist, fetches and analyses the
news and trains there, then walks forward bar by bar to now, running `make_signals` after each close
exactly as the scheduler would. The peer's learnable pairs (`peers.exchange.CYCLE_BASES`) give
models that pass the model policy and BUY signals; the demo risk policy (`DEMO_RISK_POLICY`) vetoes
some of them; the paper broker buys the others and exits them after `horizon_steps` bars; Telegram
gets every BUY, vetoed or not.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from myassistant import catalog
from myassistant.core import clock, configdocs
from myassistant.core.config import Settings
from myassistant.core.db import Database
from myassistant.jobs import service
from myassistant.jobs.runner import JobLocks, JobOutcome
from myassistant.market import logic as market_logic
from myassistant.market import service as market
from myassistant.ml import health as models
from myassistant.ml.policy import MODEL_POLICY
from myassistant.notify import service as notify
from myassistant.notify.schemas import NotifyConfigUpdate, NotifyRulesUpdate
from myassistant.peers import exchange as exchange_peer
from myassistant.peers import news as news_peer
from myassistant.peers import telegram as telegram_peer
from myassistant.peers.server import RunningServer, start_in_thread
from myassistant.signals import service as signals
from myassistant.signals.policy import RISK_POLICY
from myassistant.trading import service as broker

DEMO_CHAT_ID = 424242
DEMO_DATABASE = "sqlite:///./data/demo.db"
DEMO_ARTIFACTS = Path("./artifacts/demo")
# Bars the demo walks through before now: two learnable cycles' rising halves at least, and room
# for a BUY in the first half to be exited `horizon_steps` (12) bars later.
CATCH_UP_BARS = 24
# One BUY per pair per rising half-cycle and at most three positions: the BUYs after the first of
# each run of BUYs are vetoed (cooldown), so the demo shows blocked signals next to traded ones.
DEMO_RISK_POLICY: dict[str, Any] = {"cooldown_minutes": 120, "max_open_positions": 3}
# Exits after the model's horizon, so the walk shows orders closed as well as opened.
DEMO_BROKER: dict[str, Any] = {"exit_after_horizon": True}


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
            exchange_peer.create_app(exchange_peer.ExchangePeer()),  # on the product clock
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
    started_at: datetime | None = None
    watchlist: list[str] = field(default_factory=list)
    telegram_messages: int = 0
    equity: dict[str, Any] = field(default_factory=dict)
    signals: dict[str, int] = field(default_factory=dict)
    orders: dict[str, int] = field(default_factory=dict)
    models: list[dict[str, Any]] = field(default_factory=list)


def run_pipeline(
    database: Database,
    settings: Settings,
    peers: DemoPeers,
    *,
    pairs: int = 5,
    train_bars: int | None = None,
    catch_up_bars: int = CATCH_UP_BARS,
    on_step: Callable[[str], None] | None = None,
) -> DemoSummary:
    """Watchlist → news → analysis → models, `catch_up_bars` bars ago; then signals → notifications →
    paper trades after every bar close up to now; then today's report."""
    configure(database, settings, peers, train_bars=train_bars)
    summary = DemoSummary()
    locks = JobLocks(database, settings)

    def run(kind: str, name: str, params: dict[str, Any], label: str | None = None) -> None:
        if on_step:
            on_step(label or name)
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

    summary.started_at = walk_start(clock.now(), settings.default_timeframe, catch_up_bars)
    with clock.frozen(summary.started_at) as frozen:
        run("job", "discover_watchlist", {"top_n": pairs})
        run("job", "fetch_news", {})
        run("job", "analyze_news", {})
        run("action", "train_missing", {})
        step = timedelta(milliseconds=market_logic.timeframe_ms(settings.default_timeframe))
        for bar in range(catch_up_bars + 1):
            run("job", "make_signals", {}, f"make_signals at {frozen.now():%H:%M} ({bar}/{catch_up_bars})")
            frozen.advance(step)
    # The demo's data is today's: its report covers today so far (the scheduler's covers yesterday).
    run("job", "build_report", {"date": clock.now().date().isoformat()})
    summarise(database, settings, peers, summary)
    return summary


def walk_start(now: datetime, timeframe: str, bars: int) -> datetime:
    """A minute after the close of the bar `bars` bars before the last closed one."""
    step_ms = market_logic.timeframe_ms(timeframe)
    last_close_ms = int(now.timestamp() * 1000) // step_ms * step_ms
    return datetime.fromtimestamp((last_close_ms - bars * step_ms) / 1000, tz=now.tzinfo) + timedelta(
        minutes=1
    )


def summarise(database: Database, settings: Settings, peers: DemoPeers, summary: DemoSummary) -> None:
    """What the pipeline left in the database and the Telegram chat."""
    with database.session(write=False) as session:
        summary.watchlist = [f"{e.exchange} {e.symbol}" for e in market.list_watchlist(session)]
        summary.equity = broker.equity(session).model_dump(mode="json")
        events = signals.recent(session, limit=1000)
        summary.signals = {
            "events": len(events),
            "buy": sum(e.final_signal == "buy" for e in events),
            "blocked": sum(e.blocked for e in events),
        }
        orders = broker.orders(session, limit=1000)
        summary.orders = {
            "buy": sum(o.side == "buy" for o in orders),
            "sell": sum(o.side == "sell" for o in orders),
        }
        summary.models = [
            h.model_dump(mode="json", include={"symbol", "status", "test_auc", "reason"})
            for h in models.health_report(session, settings=settings)
        ]
    summary.telegram_messages = len(peers.telegram_state.messages(DEMO_CHAT_ID))


def configure(database: Database, settings: Settings, peers: DemoPeers, *, train_bars: int | None) -> None:
    """Telegram pointed at the peer's chat, every BUY notified (vetoed ones too); the demo risk policy
    and exits; optionally a shorter history (tests)."""
    demo_profile = NotifyRulesUpdate(include_blocked=True)
    changes = NotifyConfigUpdate(
        enabled=True,
        token=peers.telegram_state.token,
        chat_id=DEMO_CHAT_ID,
        profiles={"demo": demo_profile},
        active_profile="demo",
    )
    with database.session() as session:
        notify.update_config(session, changes=changes)
        configdocs.patch(session, RISK_POLICY, DEMO_RISK_POLICY)
        configdocs.patch(session, broker.BROKER_SETTINGS, DEMO_BROKER)
        if train_bars is not None:
            configdocs.patch(session, MODEL_POLICY, {"train_bars": train_bars})


def summary_lines(summary: DemoSummary, settings: Settings, *, dashboard_url: str | None = None) -> list[str]:
    """What the demo did, in plain lines with the links to look at next."""
    base = f"http://{settings.host}:{settings.port}"
    lines = [f"watchlist: {', '.join(summary.watchlist)}"]
    single = [step for step in summary.steps if step.job != "make_signals"]
    for step in single:
        stats = {
            k: v for k, v in step.stats.items() if isinstance(v, int | float) and not isinstance(v, bool)
        }
        detail = ", ".join(f"{k}={v}" for k, v in list(stats.items())[:6])
        lines.append(
            f"{step.job:14s} {step.status:5s} {step.duration_s:6.1f} s  {detail}"
            + (f"  error: {step.error}" if step.error else "")
        )
    cycles = [step for step in summary.steps if step.job == "make_signals"]
    if cycles:
        failed = [step for step in cycles if step.status != "ok"]
        since = f" from {summary.started_at:%H:%M} UTC" if summary.started_at else ""
        lines.append(
            f"{'make_signals':14s} {'ok' if not failed else 'error':5s} "
            f"{sum(s.duration_s for s in cycles):6.1f} s  {len(cycles)} bar closes{since}, one run each"
            + (f"  error: {failed[0].error}" if failed else "")
        )
    for model in summary.models:
        auc = f"test AUC {model['test_auc']:.3f}" if model.get("test_auc") is not None else "no AUC"
        lines.append(f"model {model['symbol']}: {model['status']} ({auc}) {model.get('reason', '')}")
    equity = summary.equity
    lines += [
        f"signals: {summary.signals.get('events', 0)} events, {summary.signals.get('buy', 0)} BUY, "
        f"{summary.signals.get('blocked', 0)} blocked by the risk policy",
        f"paper orders: {summary.orders.get('buy', 0)} buys, {summary.orders.get('sell', 0)} exits",
        f"paper account: equity {equity.get('equity', 0):,.2f} {equity.get('quote', '')}, "
        f"{equity.get('open_positions', 0)} open positions, cash {equity.get('cash', 0):,.2f}",
        f"telegram: {summary.telegram_messages} messages delivered to the demo chat {DEMO_CHAT_ID}",
        f"look next: {base}/report/latest  {base}/docs  {base}/signals/recent  {base}/trade/equity  "
        f"{base}/model/health  "
        f"{base}/automation/status",
        f"database: {settings.database_url}   artifacts: {settings.artifacts_dir}",
    ]
    if dashboard_url:
        lines.append(f"dashboard: {dashboard_url}")
    return lines
