"""`myassistant demo`: the pipeline once against local peers, then the service keeps serving."""

from __future__ import annotations

import typer

from myassistant.cli.common import app, console, load_settings, open_database


@app.command()
def demo(
    port: int | None = typer.Option(None, help="port of the service (default: PORT setting, 8000)"),
    pairs: int = typer.Option(5, min=1, max=50, help="how many pairs discovery puts on the demo watchlist"),
    database_url: str | None = typer.Option(None, help="default: ./data/demo.db (never your real database)"),
) -> None:
    """Start the local peers, run news → prices → models → signals → Telegram → paper trades, then serve."""
    import uvicorn

    from myassistant import demo as pipeline
    from myassistant.api.app import create_app

    base = load_settings(port=port)
    with pipeline.running_peers() as peers:
        settings = pipeline.demo_settings(base, peers, database_url=database_url)
        console.print(
            f"peers: exchange {peers.exchange.url}, news {peers.news.url}, telegram {peers.telegram.url}"
        )
        with open_database(settings) as database:
            with console.status("running the pipeline") as status:
                summary = pipeline.run_pipeline(
                    database,
                    settings,
                    peers,
                    pairs=pairs,
                    on_step=lambda step: status.update(f"running {step}"),
                )
            for line in pipeline.summary_lines(summary, settings):
                console.print(line, soft_wrap=True)
            console.print(f"serving on http://{settings.host}:{settings.port} (Ctrl+C stops the demo)")
            uvicorn.run(
                create_app(settings, database=database),
                host=settings.host,
                port=settings.port,
                log_level=settings.log_level.lower(),
            )
