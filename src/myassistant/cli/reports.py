"""The daily report from the command line."""

from __future__ import annotations

import typer

from myassistant.cli.common import app, console, given, load_settings, run_job_command


@app.command()
def report(
    date: str | None = typer.Option(None, "--date", help="the UTC day, YYYY-MM-DD (default: yesterday)"),
    lang: str | None = typer.Option(None, "--lang", help="en or ru (default: UI_LANG)"),
    open_: bool = typer.Option(False, "--open", help="open the report in the default browser"),
) -> None:
    """Build a day's HTML report (the build_report job) and print where it is."""
    import webbrowser

    built = run_job_command(
        "job", "build_report", given(date=date, lang=lang), activity="building the report"
    )
    path = (load_settings().artifacts_dir / built["path"]).resolve()
    console.print(
        f"report for {built['date']} ({built['lang']}): {path} · {built['size']:,} bytes", soft_wrap=True
    )
    if open_:
        webbrowser.open(path.as_uri())
