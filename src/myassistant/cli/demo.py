"""`myassistant demo`: the pipeline once against local peers, then the service and the dashboard."""

from __future__ import annotations

import signal
import sys
from types import FrameType

import typer

from myassistant.cli.common import app, console, load_settings, open_database


def _exit_on_terminate(_signum: int, _frame: FrameType | None) -> None:
    sys.exit(0)


@app.command()
def demo(
    port: int | None = typer.Option(None, help="port of the service (default: PORT setting, 8000)"),
    pairs: int = typer.Option(5, min=1, max=50, help="how many pairs discovery puts on the demo watchlist"),
    database_url: str | None = typer.Option(None, help="default: ./data/demo.db (never your real database)"),
    dashboard_port: int = typer.Option(8501, min=1, max=65535, help="port of the Streamlit dashboard"),
    dashboard: bool = typer.Option(True, help="also start the dashboard (--no-dashboard: the API only)"),
) -> None:
    """Start the local peers, run news → prices → models → signals → Telegram → paper trades, then serve
    the API and the dashboard."""
    import uvicorn

    from myassistant import demo as pipeline
    from myassistant.api.app import create_app
    from myassistant.dashboard import launch

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
            service_url = f"http://{settings.host}:{settings.port}"
            dashboard_url = launch.url(dashboard_port) if dashboard else None
            for line in pipeline.summary_lines(summary, settings, dashboard_url=dashboard_url):
                console.print(line, soft_wrap=True)
            viewer = launch.start(port=dashboard_port, api=service_url, quiet=True) if dashboard else None
            console.print(f"serving on {service_url} (Ctrl+C stops the demo)")
            # uvicorn re-raises a SIGTERM after its graceful stop; exiting through Python (not the
            # signal's default action) lets the `finally` below stop the dashboard too.
            signal.signal(signal.SIGTERM, _exit_on_terminate)
            try:
                uvicorn.run(
                    create_app(settings, database=database),
                    host=settings.host,
                    port=settings.port,
                    log_level=settings.log_level.lower(),
                )
            finally:
                if viewer is not None:
                    viewer.terminate()
                    viewer.wait(timeout=30)
