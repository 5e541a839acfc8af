"""The decision loop from the command line."""

from __future__ import annotations

import typer

from myassistant.cli.common import app, console, err_console, given, run_job_command


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
        params = given(
            symbol=symbol, exchange=exchange, timeframe=timeframe, horizon_steps=horizon_steps, trade=trade
        )
        stats = run_job_command("action", "signal_once", params, activity=f"signalling {symbol}")
    elif trade:
        stats = run_job_command("job", "make_signals", activity="signalling the watchlist")
    else:
        stats = run_job_command("action", "scan_watchlist", activity="signalling the watchlist")
    table = Table("pairs", "new events", "BUY", "blocked", "orders", "errors")
    table.add_row(
        *(str(stats.get(key, 0)) for key in ("pairs", "created", "buys", "blocked", "orders")),
        str(len(stats.get("errors", {}))),
    )
    console.print(table)
    for pair, error in stats.get("errors", {}).items():
        err_console.print(f"[yellow]{pair}:[/yellow] {error}")
