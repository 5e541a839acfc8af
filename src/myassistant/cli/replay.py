"""`myassistant replay`: the decision loop over history, through the jobs runner with a progress bar."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from myassistant.cli.common import app, console, err_console, given, run_job_command

SymbolsOption = Annotated[
    list[str] | None,
    typer.Option("--symbol", "-s", help="a pair to replay (repeat for several; default: the watchlist)"),
]


def _fmt(value: Any, spec: str = ".4f") -> str:
    return "-" if value is None else format(value, spec)


@app.command()
def replay(
    symbol: SymbolsOption = None,
    exchange: str | None = typer.Option(None, help="for every --symbol (default: DEFAULT_EXCHANGE)"),
    timeframe: str | None = typer.Option(None, help="for every --symbol (default: DEFAULT_TIMEFRAME)"),
    horizon_steps: int | None = typer.Option(None, min=1, help="for every --symbol"),
    start: str | None = typer.Option(None, help="first bar, ISO 8601 (default: 30 days before end)"),
    end: str | None = typer.Option(None, help="last bar (default: the newest stored bar)"),
    mode: str = typer.Option("walk_forward", help="walk_forward (retrain as the nightly job) or fixed"),
    run_id: int | None = typer.Option(None, min=1, help="the recorded run of mode fixed"),
    retrain_every_days: float | None = typer.Option(None, help="walk_forward (default: max_age_days)"),
    train_bars: int | None = typer.Option(None, min=100, help="walk_forward (default: policy train_bars)"),
    n_jobs: int = typer.Option(2, min=1, help="worker processes for the pairs"),
) -> None:
    """Replay what the decision loop would have done over a window, on a separate replay account."""
    from rich.table import Table

    pairs = (
        [given(symbol=s, exchange=exchange, timeframe=timeframe, horizon_steps=horizon_steps) for s in symbol]
        if symbol
        else None
    )
    params = given(
        pairs=pairs,
        start=start,
        end=end,
        mode=mode,
        run_id=run_id,
        retrain_every_days=retrain_every_days,
        train_bars=train_bars,
        n_jobs=n_jobs,
    )
    stats = run_job_command("action", "replay", params, activity="replaying")
    metrics = stats["metrics"]
    table = Table("total return", "buy & hold", "Sharpe", "max drawdown", "trades", "win rate", "exposure",
                  "vetoes", "OOS AUC", title=f"replay {stats['replay_id']}")  # fmt: skip
    table.add_row(
        _fmt(metrics["total_return"]),
        _fmt(metrics["buy_and_hold_return"]),
        _fmt(metrics["sharpe"], ".2f"),
        _fmt(metrics["max_drawdown"]),
        str(metrics["trades"]),
        _fmt(metrics["win_rate"], ".3f"),
        _fmt(metrics["exposure"], ".3f"),
        str(metrics["vetoes"]),
        _fmt(metrics["oos_auc"], ".3f"),
    )
    console.print(table)
    err_console.print(f"details: GET /replays/{stats['replay_id']}")
