"""The `myassistant` command line: the service, migrations and one command per job."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console

from myassistant.core.config import Settings
from myassistant.core.errors import describe_validation_errors

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


if __name__ == "__main__":
    app()
