"""The two-way Telegram bot."""

from __future__ import annotations

import typer

from myassistant.cli.common import EXIT_REFUSED, app, console, fail, load_settings, open_database


@app.command()
def bot(
    poll_timeout: int = typer.Option(25, min=0, max=50, help="seconds each getUpdates long poll waits"),
) -> None:
    """Run the two-way Telegram bot: answers commands from the configured chat only (Ctrl+C stops it)."""
    from myassistant.bot.poller import Bot, bot_lock, run_until_interrupted
    from myassistant.core.locks import held_lock
    from myassistant.core.logging import setup_logging

    settings = load_settings()
    setup_logging(settings.log_level, settings.secret_values())
    with open_database(settings) as database, held_lock(bot_lock(database, settings)) as got:
        if not got:
            fail("another bot is already running against this database")
        telegram_bot = Bot(database=database, settings=settings, poll_timeout_s=poll_timeout)
        console.print(f"bot polling {settings.telegram_api_base} (Ctrl+C stops it)")
        run_until_interrupted(telegram_bot)
    if telegram_bot.failure:
        fail("bot stopped:", telegram_bot.failure, code=EXIT_REFUSED)
