"""The `myassistant` command line: the service, migrations and one command per job."""

from __future__ import annotations

from typing import Any

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


if __name__ == "__main__":
    app()
