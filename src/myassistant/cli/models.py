"""Model commands: build a dataset, train one pair, train what the policy says is needed."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from myassistant.cli.common import EXIT_FAILED, app, console, given, run_job_command

SymbolOption = Annotated[str, typer.Option("--symbol", "-s", help="the pair, e.g. BTC/USDT")]
ExchangeOption = Annotated[str | None, typer.Option(help="exchange id (default: DEFAULT_EXCHANGE)")]
TimeframeOption = Annotated[str | None, typer.Option(help="bar length (default: DEFAULT_TIMEFRAME)")]
HorizonOption = Annotated[
    int | None, typer.Option(min=1, help="bars a trade is held (default: DEFAULT_HORIZON_STEPS)")
]


def _fmt(value: Any, spec: str = ".4f") -> str:
    return "-" if value is None else format(value, spec)


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

    params = given(
        symbol=symbol,
        exchange=exchange,
        timeframe=timeframe,
        horizon_steps=horizon_steps,
        start=start,
        end=end,
        bars=bars,
    )
    built = run_job_command("task", "build_dataset", params, activity=f"building the dataset of {symbol}")
    balance = built["class_balance"]
    table = Table(
        "dataset", "rows", "labelled", "from", "to", "positive rate", "features", title="build-dataset"
    )
    table.add_row(
        f"{built['exchange']} {built['symbol']} {built['timeframe']} h{built['horizon_steps']}",
        str(built["rows"]),
        str(built["labelled_rows"]),
        built["data_start"],
        built["data_end"],
        _fmt(balance["positive_rate"], ".3f"),
        str(len(built["features"])),
    )
    console.print(table)
    console.print(f"saved {built['path']} (sha256 {built['sha256'][:12]}…)")


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

    params = given(
        symbol=symbol, exchange=exchange, timeframe=timeframe, horizon_steps=horizon_steps, fetch=fetch
    )
    result = run_job_command("task", "train", params, activity=f"training {symbol}")
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
    from rich.table import Table

    report = run_job_command(
        "action", "train_missing", {"fetch": fetch}, activity="checking the watchlist's models"
    )
    table = Table("pair", "was", "action", "run", "test AUC", "why", title="train-missing")
    for pair in report["pairs"]:
        table.add_row(
            f"{pair['exchange']} {pair['symbol']} {pair['timeframe']} h{pair['horizon_steps']}",
            pair["health"],
            pair["action"],
            str(pair["run_id"] or "-"),
            _fmt(pair["test_auc"]),
            pair["reason"],
            style={"failed": "red", "trained": "green"}.get(pair["action"]),
        )
    console.print(table)
    console.print(f"{report['trained']} trained, {report['skipped']} skipped, {report['failed']} failed")
    if report["failed"]:
        raise typer.Exit(code=EXIT_FAILED)
