"""What every command of the `myassistant` command line shares: the Typer app, settings, the database,
progress bars, exit codes and running a job through the jobs runner.

Every job command runs through the jobs runner (`run_job_command`): the run is recorded in
job_runs with source "cli" and never overlaps the same job started by the scheduler or the API.

Exit codes: 0 done; 1 the work failed or cannot run now (a job error, the job already running, a
failed pair); 2 refused before any work (bad parameters or unsafe settings), as for usage errors.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from myassistant.core.config import Settings
from myassistant.core.errors import DomainError, InvalidInput, describe_validation_errors

if TYPE_CHECKING:
    from myassistant.core.db import Database
    from myassistant.jobs.runner import Progress

EXIT_FAILED = 1
EXIT_REFUSED = 2

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


def fail(headline: str, detail: str = "", *, code: int = EXIT_FAILED) -> NoReturn:
    """Print `headline detail` on stderr, unwrapped so URLs and names stay whole, and exit with `code`."""
    err_console.print(f"[red]{escape(headline)}[/red] {escape(detail)}".rstrip(), soft_wrap=True)
    raise typer.Exit(code=code)


def fail_with(exc: DomainError) -> NoReturn:
    """Exit for a domain error: bad input is refused (2), anything else failed (1)."""
    fail("error:", exc.detail, code=EXIT_REFUSED if isinstance(exc, InvalidInput) else EXIT_FAILED)


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment plus CLI overrides; exits with a clear message when unsafe."""
    try:
        return Settings(**{key: value for key, value in overrides.items() if value is not None})
    except ValidationError as exc:
        fail("refusing to start:", describe_validation_errors(exc.errors()), code=EXIT_REFUSED)


def migrate_database(settings: Settings) -> None:
    """Create the data folders and bring the database (a new one is created) to the latest version."""
    from myassistant.core import migrate as migrations

    settings.ensure_dirs()
    migrations.upgrade_if_needed(settings.database_url)


@contextmanager
def open_database(settings: Settings) -> Iterator[Database]:
    """The migrated database for one command, disposed of when the command ends."""
    from myassistant.core.db import Database

    migrate_database(settings)
    database = Database(settings.database_url)
    try:
        yield database
    finally:
        database.dispose()


@contextmanager
def progress_bar(description: str) -> Iterator[Progress]:
    """A rich progress bar; yields the `progress(done, total, label)` callback jobs accept."""
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as RichProgress

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with RichProgress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(description, total=None)

        def update(done: int, total: int, label: str) -> None:
            shown = f"{description}: {label}" if label else description
            bar.update(task, completed=done, total=total, description=escape(shown))

        yield update


def given(**options: Any) -> dict[str, Any]:
    """The options the user gave: None leaves a parameter to the job's default."""
    return {key: value for key, value in options.items() if value is not None}


def run_job_command(
    kind: str, name: str, params: dict[str, Any] | None = None, *, activity: str | None = None
) -> dict[str, Any]:
    """Run a job, action or CLI task through the jobs runner (source "cli") under a progress bar
    showing `activity`; returns its stats, or exits non-zero when it cannot run or fails."""
    from myassistant import catalog
    from myassistant.jobs import service as jobs
    from myassistant.jobs.runner import JobLocks

    settings = load_settings()
    try:
        with open_database(settings) as database, progress_bar(activity or name) as progress:
            outcome = jobs.run_now(
                database=database,
                settings=settings,
                jobs=catalog.table(kind),
                locks=JobLocks(database, settings),
                name=name,
                source="cli",
                params=params or {},
                progress=progress,
            )
    except DomainError as exc:
        fail_with(exc)
    if outcome.status != "ok":
        fail(f"{name} failed:", outcome.error or "")
    return outcome.stats
