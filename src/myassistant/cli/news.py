"""News commands: fetch the feeds, annotate new articles."""

from __future__ import annotations

from typing import Annotated

import typer

from myassistant.cli.common import app, console, given, run_job_command


@app.command("fetch-news")
def fetch_news(
    feed: Annotated[
        list[str] | None, typer.Option("--feed", help="feed URL (repeatable; default NEWS_FEEDS)")
    ] = None,
    limit: int | None = typer.Option(None, min=1, max=1000, help="at most this many items per feed"),
) -> None:
    """Fetch the news feeds and store new articles."""
    from rich.table import Table

    stats = run_job_command(
        "job", "fetch_news", given(feeds=feed or None, limit=limit), activity="fetching feeds"
    )
    table = Table("feed", "status", "new", "duplicate", "error", title="fetch-news")
    for row in stats["results"]:
        table.add_row(
            row["url"],
            row["status"],
            str(row["new"]),
            str(row["duplicate"]),
            row["error"] or "",
            style="red" if row["status"] == "error" else None,
        )
    console.print(table)
    console.print(
        f"{stats['new']} new, {stats['duplicate']} duplicate, {stats['not_modified']} not modified, "
        f"{stats['errors']} failed"
    )


@app.command("analyze-news")
def analyze_news(
    batch_size: int = typer.Option(500, min=1, max=5000, help="articles per batch (one commit each)"),
    limit: int | None = typer.Option(None, min=1, help="annotate at most this many articles"),
) -> None:
    """Annotate articles not analyzed yet: language, sentiment, tags."""
    from rich.table import Table

    stats = run_job_command(
        "job", "analyze_news", given(batch_size=batch_size, limit=limit), activity="analyzing articles"
    )
    table = Table("language", "articles", title=f"analyze-news (analyzer {stats['analyzer_version']})")
    for lang, count in sorted(stats["by_lang"].items(), key=lambda item: -item[1]):
        table.add_row(lang, str(count))
    console.print(table)
    console.print(
        f"{stats['analyzed']} analyzed in {stats['batches']} batches, {stats['with_sentiment']} with "
        f"sentiment, {stats['tagged']} tagged, {stats['remaining']} remaining"
    )
