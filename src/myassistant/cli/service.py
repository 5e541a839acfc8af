"""The service itself: migrate the database, serve the API and the scheduler."""

from __future__ import annotations

import typer

from myassistant.cli.common import app, console, load_settings, migrate_database


@app.command()
def migrate() -> None:
    """Apply database migrations up to the latest version."""
    from myassistant.core.db import masked_url

    settings = load_settings()
    migrate_database(settings)
    console.print(f"database at {masked_url(settings.database_url)} is up to date")


@app.command()
def serve(
    host: str | None = typer.Option(None, help="bind address (default: HOST setting, 127.0.0.1)"),
    port: int | None = typer.Option(None, help="port (default: PORT setting, 8000)"),
) -> None:
    """Migrate the database, then run the API and the scheduler."""
    import uvicorn

    from myassistant.api.app import create_app

    settings = load_settings(host=host, port=port)
    migrate_database(settings)
    console.print(f"serving on http://{settings.host}:{settings.port} (docs: /docs)")
    uvicorn.run(
        create_app(settings), host=settings.host, port=settings.port, log_level=settings.log_level.lower()
    )
