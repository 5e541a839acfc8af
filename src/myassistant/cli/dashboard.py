"""`myassistant dashboard`: the Streamlit dashboard, which talks to the service over its HTTP API."""

from __future__ import annotations

import typer

from myassistant.cli.common import app, console, load_settings


@app.command()
def dashboard(
    port: int = typer.Option(8501, min=1, max=65535, help="the dashboard's port on 127.0.0.1"),
    api: str | None = typer.Option(
        None, help="the service's base URL (default: http://HOST:PORT from the settings)"
    ),
) -> None:
    """Start the Streamlit dashboard on 127.0.0.1 (Ctrl+C stops it); the service must be running."""
    from myassistant.dashboard import launch
    from myassistant.dashboard.connection import connection_from

    settings = load_settings()
    target = connection_from(["--api", api] if api else [], settings).base_url
    console.print(f"dashboard on {launch.url(port)} for the service at {target}", soft_wrap=True)
    launch.run_here(port=port, api=target)
