"""Market commands: new closed bars into the database, watchlist discovery."""

from __future__ import annotations

from typing import Annotated

import typer

from myassistant.cli.common import EXIT_FAILED, app, console, given, run_job_command


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
    from rich.table import Table

    params = given(exchange=exchange, symbols=symbol or None, timeframe=timeframe, since=since, limit=limit)
    stats = run_job_command("job", "fetch_prices", params, activity="fetching prices")
    table = Table("exchange", "symbol", "timeframe", "new bars", "last bar", "error")
    for row in stats["results"]:
        table.add_row(
            row["exchange"],
            row["symbol"],
            row["timeframe"],
            str(row["new_bars"]),
            row["last_bar"] or "-",
            row["error"] or "",
        )
    console.print(table)
    if stats["pairs"] > len(stats["results"]):
        console.print(f"the first {len(stats['results'])} of {stats['pairs']} pairs are listed")
    if stats["failed"]:
        raise typer.Exit(code=EXIT_FAILED)


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

    params = given(exchange=exchange, quote=quote, top_n=top_n, min_quote_volume=min_quote_volume)
    stats = run_job_command("job", "discover_watchlist", params, activity="loading markets and tickers")
    table = Table("#", "symbol", f"24h volume ({stats['quote']})", "change")
    for rank, pair in enumerate(stats["pairs"], start=1):
        change = "added" if pair["symbol"] in stats["added"] else ""
        table.add_row(str(rank), pair["symbol"], f"{pair['quote_volume_24h']:,.0f}", change)
    console.print(table)
    excluded = ", ".join(f"{k}={v}" for k, v in sorted(stats["excluded"].items()))
    console.print(f"considered {stats['considered']} markets; excluded: {excluded}")
    if stats["removed"]:
        console.print(f"removed: {', '.join(stats['removed'])}")
    console.print(f"snapshot #{stats['snapshot_id']}; watchlist has {stats['watchlist']} entries")
