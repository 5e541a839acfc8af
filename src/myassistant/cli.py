"""The `myassistant` command line: the service, migrations and one command per job."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console

from myassistant.core.config import Settings
from myassistant.core.errors import DomainError, describe_validation_errors

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

app = typer.Typer(
    name="myassistant",
    help="Self-hosted crypto research and signal assistant.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()
err_console = Console(stderr=True)
peer_app = typer.Typer(
    help="Local protocol peers for tests and the demo (loopback only).", no_args_is_help=True
)
app.add_typer(peer_app, name="peer")


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment plus CLI overrides; exits with a clear message when unsafe."""
    try:
        return Settings(**{key: value for key, value in overrides.items() if value is not None})
    except ValidationError as exc:
        err_console.print(f"[red]refusing to start:[/red] {describe_validation_errors(exc.errors())}")
        raise typer.Exit(code=2) from None


@app.command()
def migrate() -> None:
    """Apply database migrations up to the latest version."""
    from myassistant.core import migrate as migrations
    from myassistant.core.db import masked_url

    settings = load_settings()
    settings.ensure_dirs()
    migrations.upgrade(settings.database_url)
    console.print(f"database at {masked_url(settings.database_url)} is up to date")


@app.command()
def serve(
    host: str | None = typer.Option(None, help="bind address (default: HOST setting, 127.0.0.1)"),
    port: int | None = typer.Option(None, help="port (default: PORT setting, 8000)"),
) -> None:
    """Migrate the database, then run the API and the scheduler."""
    import uvicorn

    from myassistant.api.app import create_app
    from myassistant.core import migrate as migrations

    settings = load_settings(host=host, port=port)
    settings.ensure_dirs()
    migrations.upgrade(settings.database_url)
    console.print(f"serving on http://{settings.host}:{settings.port} (docs: /docs)")
    uvicorn.run(
        create_app(settings), host=settings.host, port=settings.port, log_level=settings.log_level.lower()
    )


@app.command()
def bot(
    poll_timeout: int = typer.Option(25, min=0, max=50, help="seconds each getUpdates long poll waits"),
) -> None:
    """Run the two-way Telegram bot: answers commands from the configured chat only (Ctrl+C stops it)."""
    from myassistant.core import migrate as migrations
    from myassistant.core.db import Database
    from myassistant.core.locks import held_lock, lock_dir_for, named_lock
    from myassistant.core.logging import setup_logging
    from myassistant.notify.bot import BOT_LOCK, Bot, run_until_interrupted

    settings = load_settings()
    settings.ensure_dirs()
    setup_logging(settings.log_level, settings.secret_values())
    migrations.upgrade(settings.database_url)
    database = Database(settings.database_url)
    lock = named_lock(database, BOT_LOCK, lock_dir=lock_dir_for(database, settings.artifacts_dir))
    try:
        with held_lock(lock) as got:
            if not got:
                err_console.print("[red]another bot is already running against this database[/red]")
                raise typer.Exit(code=1)
            telegram_bot = Bot(database=database, settings=settings, poll_timeout_s=poll_timeout)
            console.print(f"bot polling {settings.telegram_api_base} (Ctrl+C stops it)")
            run_until_interrupted(telegram_bot)
    finally:
        database.dispose()
    if telegram_bot.failure:
        err_console.print(f"[red]bot stopped:[/red] {telegram_bot.failure}")
        raise typer.Exit(code=2)


@peer_app.command("telegram")
def peer_telegram(
    port: int = typer.Option(8081, min=1, max=65535, help="loopback port"),
    token: str | None = typer.Option(None, help="the bot token the peer accepts (default: a fixed fake)"),
    chat_id: Annotated[
        list[int] | None, typer.Option("--chat-id", help="a chat that exists from the start (repeatable)")
    ] = None,
) -> None:
    """A local Telegram Bot API (getMe, sendMessage, getUpdates, setMyCommands) with /_peer controls."""
    from myassistant.core import clock
    from myassistant.core.logging import install_redaction
    from myassistant.peers import telegram
    from myassistant.peers.server import LOOPBACK, serve_forever

    # Update ids keep growing across peer restarts, as Telegram's do, so a bot's saved offset stays valid.
    first_update_id = int(clock.now().timestamp())
    state = telegram.TelegramPeerState(token or telegram.DEFAULT_TOKEN, first_update_id=first_update_id)
    for chat in chat_id or ():
        state.add_chat(chat)
    install_redaction()  # access-log lines carry /bot<token>
    base = f"http://{LOOPBACK}:{port}"
    console.print(f"Telegram peer on {base}: set TELEGRAM_API_BASE={base}")
    console.print(f"token it accepts: {state.token}")
    console.print(
        f"controls: GET {base}/_peer/state, POST {base}/_peer/inject {{chat_id, text}}, /_peer/faults"
    )
    serve_forever(telegram.create_app(state), host=LOOPBACK, port=port)


@contextmanager
def job_session(settings: Settings) -> Iterator[Session]:
    """A migrated database and one unit of work for a CLI job; domain errors exit with code 2."""
    from myassistant.core import migrate as migrations
    from myassistant.core.db import Database

    settings.ensure_dirs()
    migrations.upgrade(settings.database_url)
    database = Database(settings.database_url)
    try:
        with database.session() as session:
            yield session
    except DomainError as exc:
        err_console.print(f"[red]error:[/red] {exc.detail}")
        raise typer.Exit(code=2) from None
    finally:
        database.dispose()


@contextmanager
def progress_bar(description: str) -> Iterator[Callable[[int, int], None]]:
    """A rich progress bar; yields the `progress(done, total)` callback jobs accept."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(description, total=None)
        yield lambda done, total: progress.update(task, completed=done, total=total)


@app.command("fetch-news")
def fetch_news(
    feed: Annotated[
        list[str] | None, typer.Option("--feed", help="feed URL (repeatable; default NEWS_FEEDS)")
    ] = None,
    limit: int | None = typer.Option(None, min=1, max=1000, help="at most this many items per feed"),
) -> None:
    """Fetch the news feeds and store new articles."""
    from rich.table import Table

    from myassistant.news import service as news

    settings = load_settings()
    with job_session(settings) as session, progress_bar("fetching feeds") as progress:
        report = news.fetch_news(
            session, settings=settings, feeds=feed or None, limit=limit, progress=progress
        )
    table = Table("feed", "status", "new", "duplicate", "error", title="fetch-news")
    for result in report.feeds:
        style = "red" if result.status == "error" else None
        table.add_row(
            result.url, result.status, str(result.new), str(result.duplicate), result.error or "", style=style
        )
    console.print(table)
    console.print(
        f"{report.new} new, {report.duplicate} duplicate, {report.not_modified} not modified, "
        f"{report.errors} failed"
    )


@app.command("analyze-news")
def analyze_news(
    batch_size: int = typer.Option(500, min=1, max=5000, help="articles per batch (one commit each)"),
    limit: int | None = typer.Option(None, min=1, help="annotate at most this many articles"),
) -> None:
    """Annotate articles not analyzed yet: language, sentiment, tags."""
    from rich.table import Table

    from myassistant.news import service as news

    settings = load_settings()
    with job_session(settings) as session, progress_bar("analyzing articles") as progress:
        report = news.analyze_news(session, batch_size=batch_size, limit=limit, progress=progress)
    table = Table("language", "articles", title=f"analyze-news (analyzer {report.analyzer_version})")
    for lang, count in sorted(report.by_lang.items(), key=lambda item: -item[1]):
        table.add_row(lang, str(count))
    console.print(table)
    console.print(
        f"{report.analyzed} analyzed in {report.batches} batches, {report.with_sentiment} with sentiment, "
        f"{report.tagged} tagged, {report.remaining} remaining"
    )


@peer_app.command("news")
def peer_news(
    port: int = typer.Option(8082, min=1, max=65535, help="port on 127.0.0.1"),
    seed: int = typer.Option(42, help="seed of the generated /gen feeds"),
    slow_seconds: float = typer.Option(5.0, min=0, help="how long the slow feed makes clients wait"),
) -> None:
    """Serve the local news peer: RSS/Atom feeds, good and broken (GET / lists them)."""
    from myassistant.peers import news as news_peer
    from myassistant.peers.server import LOOPBACK, serve_forever

    base = f"http://{LOOPBACK}:{port}"
    console.print(f"news peer on {base}; good feeds for NEWS_FEEDS:")
    console.print(",".join(base + path for path in news_peer.GOOD_PATHS.values()), soft_wrap=True)
    serve_forever(news_peer.create_app(seed=seed, slow_seconds=slow_seconds), host=LOOPBACK, port=port)


def _database(settings: Settings) -> Any:
    from myassistant.core import migrate as migrations
    from myassistant.core.db import Database

    settings.ensure_dirs()
    migrations.upgrade(settings.database_url)
    return Database(settings.database_url)


def _domain_error_exit(exc: Exception) -> typer.Exit:
    err_console.print(f"[red]error:[/red] {getattr(exc, 'detail', exc)}")
    return typer.Exit(code=1)


@app.command("fetch-prices")
def fetch_prices(
    exchange: str | None = typer.Option(None, help="exchange id (default: DEFAULT_EXCHANGE)"),
    symbol: Annotated[
        list[str] | None, typer.Option("--symbol", "-s", help="symbol(s); default: the watchlist")
    ] = None,
    timeframe: str | None = typer.Option(None, help="bar length (default: each pair's own)"),
    since: str | None = typer.Option(None, help="first bar open time, ISO 8601 (UTC when naive)"),
    limit: int | None = typer.Option(None, min=1, help="at most this many bars per pair"),
) -> None:
    """Fetch new closed bars for the watchlist (or the given symbols) into the database."""
    from datetime import datetime

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from myassistant.core.errors import DomainError
    from myassistant.market import service
    from myassistant.market.schemas import FetchPricesResult

    settings = load_settings()
    database = _database(settings)
    try:
        start = datetime.fromisoformat(since) if since else None
        with database.session() as session:
            pairs = None
            if symbol or timeframe or exchange:
                pairs = _cli_pairs(session, settings, exchange, symbol, timeframe)
            total = (
                len(pairs) if pairs is not None else len(service.pairs_for_jobs(session, settings=settings))
            )
            columns = (
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
            )
            with Progress(*columns, console=console) as progress:
                task = progress.add_task("fetching prices", total=total)

                def advance(result: FetchPricesResult) -> None:
                    progress.update(task, advance=1, description=f"{result.exchange} {result.symbol}")

                results = service.fetch_many(
                    session, settings=settings, pairs=pairs, since=start, limit=limit, on_result=advance
                )
    except (DomainError, ValueError) as exc:
        raise _domain_error_exit(exc) from None
    finally:
        database.dispose()
    table = Table("exchange", "symbol", "timeframe", "new bars", "last bar", "error")
    for r in results:
        last = r.last_bar.isoformat() if r.last_bar else "-"
        table.add_row(r.exchange, r.symbol, r.timeframe, str(r.new_bars), last, r.error or "")
    console.print(table)
    if any(r.error for r in results):
        raise typer.Exit(code=1)


def _cli_pairs(
    session: Any, settings: Settings, exchange: str | None, symbols: list[str] | None, timeframe: str | None
) -> list[Any]:
    from myassistant.market import service

    if symbols:
        ex = exchange or settings.default_exchange
        tf = timeframe or settings.default_timeframe
        return [service.PairKey(ex, s, tf) for s in symbols]
    return [
        service.PairKey(p.exchange, p.symbol, timeframe or p.timeframe)
        for p in service.pairs_for_jobs(session, settings=settings)
        if exchange is None or p.exchange == exchange
    ]


@app.command()
def discover(
    exchange: str | None = typer.Option(None, help="exchange id (default: DEFAULT_EXCHANGE)"),
    quote: str = typer.Option("USDT", help="quote currency"),
    top_n: int = typer.Option(20, min=1, max=500, help="how many pairs to keep"),
    min_quote_volume: float = typer.Option(
        1_000_000.0, min=0, help="minimum 24h volume in the quote currency"
    ),
) -> None:
    """Refresh the watchlist with the exchange's most liquid spot pairs (manual entries stay)."""
    from rich.table import Table

    from myassistant.core.errors import DomainError
    from myassistant.market import service

    settings = load_settings()
    database = _database(settings)
    try:
        with console.status("loading markets and tickers"), database.session() as session:
            result = service.discover(
                session,
                settings=settings,
                exchange=exchange,
                quote=quote,
                top_n=top_n,
                min_quote_volume=min_quote_volume,
            )
    except (DomainError, ValueError) as exc:
        raise _domain_error_exit(exc) from None
    finally:
        database.dispose()
    table = Table("#", "symbol", f"24h volume ({result.quote})", "change")
    for rank, pair in enumerate(result.discovered, start=1):
        change = "added" if pair.symbol in result.added else ""
        table.add_row(str(rank), pair.symbol, f"{pair.quote_volume_24h:,.0f}", change)
    console.print(table)
    excluded = ", ".join(f"{k}={v}" for k, v in sorted(result.excluded.items()))
    console.print(f"considered {result.considered} markets; excluded: {excluded}")
    if result.removed:
        console.print(f"removed: {', '.join(result.removed)}")
    console.print(f"snapshot #{result.snapshot_id}; watchlist has {len(result.watchlist)} entries")


@peer_app.command("exchange")
def peer_exchange(
    port: int = typer.Option(8101, min=1, max=65535, help="port on 127.0.0.1"),
    seed: int = typer.Option(7, help="seed of the price paths"),
) -> None:
    """Serve the local exchange (Bybit v5 and Binance spot APIs) on 127.0.0.1; Ctrl+C stops it."""
    from myassistant.core.clock import SystemClock
    from myassistant.peers.exchange import ExchangePeer, create_app
    from myassistant.peers.server import LOOPBACK, serve_forever

    console.print(f"exchange peer on http://{LOOPBACK}:{port} (set EXCHANGE_API_OVERRIDE to this URL)")
    serve_forever(create_app(ExchangePeer(seed=seed, clock=SystemClock())), host=LOOPBACK, port=port)


def run_job_command(kind: str, name: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run a job, action or CLI task through the jobs runner (recorded in job_runs, never overlapping),
    source "cli"."""
    from myassistant.jobs import catalog, service
    from myassistant.jobs.runner import JobLocks

    settings = load_settings()
    database = _database(settings)  # a fresh database is migrated first
    tables = {"job": catalog.job_table, "action": catalog.action_table, "task": catalog.task_table}
    table = tables[kind]()
    try:
        outcome = service.run_now(
            database=database,
            settings=settings,
            jobs=table,
            locks=JobLocks(database, settings),
            name=name,
            source="cli",
            params=params,
        )
    except DomainError as exc:
        raise _domain_error_exit(exc) from None
    finally:
        database.dispose()
    if outcome.status != "ok":
        err_console.print(f"[red]{name} failed:[/red] {outcome.error}")
        raise typer.Exit(code=1)
    return outcome.stats


@app.command()
def signals(
    symbol: str | None = typer.Option(None, help="one pair (default: every watchlist pair)"),
    exchange: str | None = typer.Option(None, help="default: DEFAULT_EXCHANGE"),
    timeframe: str | None = typer.Option(None, help="default: DEFAULT_TIMEFRAME"),
    horizon_steps: int | None = typer.Option(None, min=1, help="default: DEFAULT_HORIZON_STEPS"),
    trade: bool = typer.Option(True, help="paper-trade final BUY signals (as the scheduler does)"),
) -> None:
    """Signal on the last closed bar (one pair or the watchlist), apply the risk policy, paper-trade BUYs."""
    from rich.table import Table

    if symbol:
        params = {
            "symbol": symbol,
            "exchange": exchange,
            "timeframe": timeframe,
            "horizon_steps": horizon_steps,
            "trade": trade,
        }
        stats = run_job_command("action", "signal_once", {k: v for k, v in params.items() if v is not None})
    else:
        stats = run_job_command("job" if trade else "action", "make_signals" if trade else "scan_watchlist")
    table = Table("pairs", "new events", "BUY", "blocked", "orders", "errors")
    table.add_row(
        *(str(stats.get(key, 0)) for key in ("pairs", "created", "buys", "blocked", "orders")),
        str(len(stats.get("errors", {}))),
    )
    console.print(table)
    for pair, error in stats.get("errors", {}).items():
        err_console.print(f"[yellow]{pair}:[/yellow] {error}")


# --- models (through the jobs runner, like every job command) ------------------------------------


def _pair_params(
    symbol: str, exchange: str | None, timeframe: str | None, horizon_steps: int | None
) -> dict[str, Any]:
    given = {"exchange": exchange, "symbol": symbol, "timeframe": timeframe, "horizon_steps": horizon_steps}
    return {key: value for key, value in given.items() if value is not None}


SymbolOption = Annotated[str, typer.Option("--symbol", "-s", help="the pair, e.g. BTC/USDT")]
ExchangeOption = Annotated[str | None, typer.Option(help="exchange id (default: DEFAULT_EXCHANGE)")]
TimeframeOption = Annotated[str | None, typer.Option(help="bar length (default: DEFAULT_TIMEFRAME)")]
HorizonOption = Annotated[
    int | None, typer.Option(min=1, help="bars a trade is held (default: DEFAULT_HORIZON_STEPS)")
]


@app.command("build-dataset")
def build_dataset(
    symbol: SymbolOption,
    exchange: ExchangeOption = None,
    timeframe: TimeframeOption = None,
    horizon_steps: HorizonOption = None,
    start: str | None = typer.Option(None, help="first row's bar open time, ISO 8601 (UTC when naive)"),
    end: str | None = typer.Option(None, help="last row's bar open time (default: the newest stored bar)"),
    bars: int | None = typer.Option(
        None, min=1, help="rows counted back from end (default: policy train_bars)"
    ),
) -> None:
    """Build a pair's dataset from the stored prices and news and save it as parquet."""
    from rich.table import Table

    params = _pair_params(symbol, exchange, timeframe, horizon_steps)
    params.update({k: v for k, v in {"start": start, "end": end, "bars": bars}.items() if v is not None})
    with console.status(f"building the dataset of {symbol}"):
        built = run_job_command("task", "build_dataset", params)
    balance = built["class_balance"]
    table = Table(
        "dataset", "rows", "labelled", "from", "to", "positive rate", "features", title="build-dataset"
    )
    rate = "-" if balance["positive_rate"] is None else f"{balance['positive_rate']:.3f}"
    table.add_row(
        f"{built['exchange']} {built['symbol']} {built['timeframe']} h{built['horizon_steps']}",
        str(built["rows"]),
        str(built["labelled_rows"]),
        built["data_start"],
        built["data_end"],
        rate,
        str(len(built["features"])),
    )
    console.print(table)
    console.print(f"saved {built['path']} (sha256 {built['sha256'][:12]}…)")


def _fmt(value: Any, spec: str = ".4f") -> str:
    return "-" if value is None else format(value, spec)


@app.command()
def train(
    symbol: SymbolOption,
    exchange: ExchangeOption = None,
    timeframe: TimeframeOption = None,
    horizon_steps: HorizonOption = None,
    fetch: bool = typer.Option(True, help="fetch the price history training needs first"),
) -> None:
    """Train one pair's model on its last train_bars closed bars and consider promoting it."""
    from rich.table import Table

    params = {**_pair_params(symbol, exchange, timeframe, horizon_steps), "fetch": fetch}
    with progress_bar(f"training {symbol}"):
        result = run_job_command("task", "train", params)
    run, promotion, history = result["run"], result["promotion"], result["history"]
    test = run["metrics"]["test"]
    backtest = test["backtest"]
    table = Table(
        "run", "model", "rows", "test AUC", "PR-AUC", "Brier", "threshold", "return", "trades", title="train"
    )
    table.add_row(
        str(run["id"]),
        run["model_kind"],
        str(run["rows"]),
        _fmt(test["auc"]),
        _fmt(test["pr_auc"]),
        _fmt(test["brier"]),
        _fmt(run["threshold"]),
        _fmt(backtest.get("total_return"), ".2%"),
        str(backtest.get("trades")),
    )
    console.print(table)
    if history:
        stored, needed = history["bars_stored"], history["bars_needed"]
        console.print(f"history: {stored}/{needed} bars stored, {history['fetched_bars']} fetched")
    if promotion:
        console.print(f"{promotion['action']}: {promotion['reason']}")


@app.command("train-missing")
def train_missing(
    fetch: bool = typer.Option(True, help="fetch missing price history before training"),
) -> None:
    """Train the watchlist pairs whose model is missing, stale or weak (model policy)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from myassistant.market import service as market
    from myassistant.ml.jobs import PROGRESS_PARAM
    from myassistant.ml.schemas import PairTrainOutcome

    settings = load_settings()
    with job_session(settings) as session:
        total = len(market.pairs_for_jobs(session, settings=settings))
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("checking the watchlist's models", total=total)

        def advance(outcome: PairTrainOutcome) -> None:
            progress.update(task, advance=1, description=f"{outcome.symbol}: {outcome.action}")

        report = run_job_command("action", "train_missing", {"fetch": fetch, PROGRESS_PARAM: advance})
    table = Table("pair", "was", "action", "run", "test AUC", "why", title="train-missing")
    for pair in report["pairs"]:
        style = {"failed": "red", "trained": "green"}.get(pair["action"])
        table.add_row(
            f"{pair['exchange']} {pair['symbol']} {pair['timeframe']} h{pair['horizon_steps']}",
            pair["health"],
            pair["action"],
            str(pair["run_id"] or "-"),
            _fmt(pair["test_auc"]),
            pair["reason"],
            style=style,
        )
    console.print(table)
    console.print(f"{report['trained']} trained, {report['skipped']} skipped, {report['failed']} failed")
    if report["failed"]:
        raise typer.Exit(code=1)


if __name__ == "__main__":
    app()
