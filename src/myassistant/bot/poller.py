"""The two-way Telegram bot: long-polls getUpdates and answers commands from the configured chat only.

Each update is handled at most once: its id is committed (config doc `notify_bot_state`) before
the reply is sent, so a restarted bot neither re-answers an old command nor needs Telegram to
have seen the confirming offset. Messages from any other chat are ignored and logged by chat id
and update id only, never by content.

Commands come from the one list in `bot.logic.COMMANDS`, each answered by its handler in `HANDLERS`;
the data behind them comes through `BotProviders` (`bot.providers`: the same service calls as the
API, so the numbers agree). A provider left as None answers honestly that the data is not available.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy.orm import Session

from myassistant.bot import logic, providers
from myassistant.bot.logic import (
    EquityView,
    JobStatusLine,
    ModelHealthLine,
    PositionLine,
    ReportView,
    SignalLine,
    WatchlistLine,
)
from myassistant.catalog import job_table
from myassistant.core import clock, configdocs
from myassistant.core.config import Settings
from myassistant.core.db import Database
from myassistant.core.errors import PreconditionFailed
from myassistant.core.i18n import Lang
from myassistant.core.locks import NamedLock, lock_dir_for, named_lock
from myassistant.core.retry import RetryPolicy
from myassistant.jobs.service import SchedulerView, last_runs
from myassistant.notify.schemas import ChatId, NotifyConfig
from myassistant.notify.service import get_config
from myassistant.notify.telegram import (
    Document,
    TelegramBadToken,
    TelegramClient,
    TelegramConflict,
    TelegramError,
    client_for,
)

logger = logging.getLogger("myassistant.bot")

ALLOWED_UPDATES = ("message",)
DEFAULT_POLL_TIMEOUT_S = 25
IN_SERVICE_POLL_TIMEOUT_S = 5  # shorter: a stopping service waits for the poll in flight
ERROR_BACKOFF_S = 5.0
# One poller per database: `myassistant bot` and the in-service bot take the same lock.
BOT_LOCK = "telegram-bot"
T = TypeVar("T")


def bot_lock(database: Database, settings: Settings) -> NamedLock:
    """The lock a Telegram poller holds for this database."""
    return named_lock(database, BOT_LOCK, lock_dir=lock_dir_for(database, settings.artifacts_dir))


# Telegram keeps an unconfirmed update for at most 24 hours, and only after a week without updates
# may it restart update ids at a random (possibly lower) number: past this window a saved id guards
# nothing and could hide new updates.
REDELIVERY_WINDOW = timedelta(hours=24)


class BotState(BaseModel):
    """What survives a restart: the last update this bot handled, for which bot, and when."""

    bot_id: int | None = None
    last_update_id: int | None = None
    handled_at: datetime | None = None

    def guard(self, bot_id: int | None, now: datetime) -> int | None:
        """The last handled update id while a re-delivery of it is still possible, else None."""
        if self.last_update_id is None or self.handled_at is None or self.bot_id != bot_id:
            return None
        return self.last_update_id if now - self.handled_at <= REDELIVERY_WINDOW else None


BOT_STATE = configdocs.register("notify_bot_state", BotState)


@dataclass
class BotProviders:
    """Where each command's data comes from; None means "not available in this build yet"."""

    jobs: Callable[[Session, Settings], Sequence[JobStatusLine]] | None = None
    models: Callable[[Session, Settings], Sequence[ModelHealthLine]] | None = None
    signals: Callable[[Session, Settings, int], Sequence[SignalLine]] | None = None
    positions: Callable[[Session, Settings], Sequence[PositionLine]] | None = None
    equity: Callable[[Session, Settings], EquityView | None] | None = None
    report: Callable[[Session, Settings, Lang], ReportView | None] | None = None
    watchlist: Callable[[Session, Settings], Sequence[WatchlistLine]] | None = None
    scheduler: Callable[[], SchedulerView | None] | None = None  # only inside the service


@dataclass(frozen=True)
class BotContext:
    """What a command handler gets: a read session, settings, the config, language, time, providers."""

    session: Session
    settings: Settings
    config: NotifyConfig
    lang: Lang
    now: datetime
    providers: BotProviders


@dataclass(frozen=True)
class Reply:
    """A command's answer: a message, or a file with the text as its caption."""

    text: str
    document: Document | None = None


Handler = Callable[[BotContext, str], str | Reply]


@dataclass(frozen=True)
class Command:
    name: str
    handler: Handler
    listed: bool = True  # shown in /help and setMyCommands


@dataclass
class CommandRegistry:
    """Command name → handler; `register` replaces a command of the same name."""

    commands: dict[str, Command] = field(default_factory=dict)

    def register(self, name: str, handler: Handler, *, listed: bool = True) -> None:
        self.commands[name] = Command(name, handler, listed)

    def get(self, name: str) -> Command | None:
        return self.commands.get(name)

    def listed(self) -> list[logic.CommandSpec]:
        return [logic.CommandSpec(name) for name, command in self.commands.items() if command.listed]


# -- providers available in phase 1 ---------------------------------------------------------


def job_statuses(session: Session, _settings: Settings) -> list[JobStatusLine]:
    """The last run of every known job (from `job_runs`), and "never" for scheduled jobs not yet run."""
    by_job = {
        row.job: JobStatusLine(
            job=row.job,
            status=row.status,
            started_at=row.started_at,
            finished_at=row.finished_at,
            duration_s=_duration(row.stats),
            error=row.error,
        )
        for row in last_runs(session).values()
    }
    names = job_table().names()
    names += sorted(set(by_job) - set(names))
    return [by_job.get(name, JobStatusLine(job=name, status="never")) for name in names]


def _duration(stats: dict[str, Any] | None) -> float | None:
    value = (stats or {}).get("duration_s")
    return float(value) if isinstance(value, int | float) else None


def default_providers() -> BotProviders:
    """Every command on the product's data: job runs, model health, signals, paper account, watchlist."""
    return BotProviders(
        jobs=job_statuses,
        models=providers.model_health,
        signals=providers.recent_signals,
        positions=providers.open_positions,
        equity=providers.paper_equity,
        report=providers.latest_report,
        watchlist=providers.watchlist,
    )


# -- handlers -------------------------------------------------------------------------------


def _help(ctx: BotContext, _args: str) -> str:
    return logic.render_help(ctx.lang)


def _status(ctx: BotContext, _args: str) -> str:
    providers = ctx.providers
    jobs = providers.jobs(ctx.session, ctx.settings) if providers.jobs else ()
    models = tuple(providers.models(ctx.session, ctx.settings)) if providers.models else None
    scheduler = providers.scheduler() if providers.scheduler else None
    view = logic.StatusView(
        scheduler_enabled=ctx.settings.scheduler_enabled,
        notify_enabled=ctx.config.enabled,
        active_profile=ctx.config.active_profile,
        jobs=tuple(jobs),
        models=models,
        scheduler_running=scheduler.running if scheduler else None,
        scheduler_leader=scheduler.is_leader if scheduler else None,
    )
    return logic.render_status(view, ctx.lang, ctx.now)


def _signals(ctx: BotContext, args: str) -> str:
    try:
        count = logic.parse_count(args)
    except ValueError:
        return logic.render_bad_count(ctx.lang)
    if ctx.providers.signals is None:
        return logic.render_unavailable("signals", ctx.lang)
    return logic.render_signals(ctx.providers.signals(ctx.session, ctx.settings, count), ctx.lang)


def _report(ctx: BotContext, _args: str) -> str | Reply:
    """The newest daily report: its HTML file with a caption, or the honest answer that there is none."""
    if ctx.providers.report is None:
        return logic.render_unavailable("report", ctx.lang)
    view = ctx.providers.report(ctx.session, ctx.settings, ctx.lang)
    caption = logic.render_report(replace(view, link=None) if view else None, ctx.lang)
    if view is None or view.link is None:
        return caption
    try:
        content = Path(view.link).read_bytes()
    except OSError:  # the record outlived its file: say which report it was
        logger.warning("report file %s is missing", view.link)
        return logic.render_report(view, ctx.lang)
    return Reply(caption, Document(view.name, content, "text/html"))


def _from_provider(
    what: str,
    pick: Callable[[BotProviders], Callable[[Session, Settings], T] | None],
    render: Callable[[T, Lang], str],
) -> Handler:
    """A handler that reads one provider and renders it, or says the data is not available yet."""

    def handle(ctx: BotContext, _args: str) -> str:
        provider = pick(ctx.providers)
        if provider is None:
            return logic.render_unavailable(what, ctx.lang)
        return render(provider(ctx.session, ctx.settings), ctx.lang)

    return handle


# Each command of `logic.COMMANDS` and the handler that answers it.
HANDLERS: dict[str, Handler] = {
    "help": _help,
    "start": _help,
    "status": _status,
    "signals": _signals,
    "positions": _from_provider("positions", lambda p: p.positions, logic.render_positions),
    "equity": _from_provider("equity", lambda p: p.equity, logic.render_equity),
    "report": _report,
    "watchlist": _from_provider("watchlist", lambda p: p.watchlist, logic.render_watchlist),
}


def default_commands() -> CommandRegistry:
    """The registry of every command in `logic.COMMANDS`, in its order."""
    registry = CommandRegistry()
    for spec in logic.COMMANDS:
        registry.register(spec.name, HANDLERS[spec.name], listed=spec.listed)
    return registry


# -- the bot --------------------------------------------------------------------------------


def is_configured_chat(chat: dict[str, Any], configured: ChatId | None) -> bool:
    """The chat by id, or a channel/group by its @username."""
    if configured is None:
        return False
    if isinstance(configured, int):
        return chat.get("id") == configured
    username = chat.get("username")
    return isinstance(username, str) and username.lower() == configured.lstrip("@").lower()


ClientBuilder = Callable[[Settings, str, Callable[[float], object]], TelegramClient]


def _default_client(settings: Settings, token: str, sleep: Callable[[float], object]) -> TelegramClient:
    return client_for(settings, token, retry=RetryPolicy(attempts=3), sleep=sleep)


class Bot:
    """Polls Telegram and answers commands; `poll_once` for one round, `run` until `stop` is set."""

    def __init__(
        self,
        *,
        database: Database,
        settings: Settings,
        registry: CommandRegistry | None = None,
        providers: BotProviders | None = None,
        client_builder: ClientBuilder = _default_client,
        poll_timeout_s: int = DEFAULT_POLL_TIMEOUT_S,
        error_backoff_s: float = ERROR_BACKOFF_S,
        stop: threading.Event | None = None,
    ) -> None:
        self.database = database
        self.settings = settings
        self.registry = registry or default_commands()
        self.providers = providers or default_providers()
        self.poll_timeout_s = poll_timeout_s
        self.error_backoff_s = error_backoff_s
        self.stop = stop or threading.Event()
        self.username: str | None = None
        self.bot_id: int | None = None
        self.failure: str | None = None
        self._client_builder = client_builder
        self._client: TelegramClient | None = None
        self._token: str | None = None

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _config(self) -> NotifyConfig:
        with self.database.session(write=False) as session:
            return get_config(session).value

    def start(self) -> NotifyConfig:
        """Check the token (getMe) and publish the command list; PreconditionFailed when not configured."""
        config = self._config()
        if not config.token or config.chat_id is None:
            raise PreconditionFailed(
                "the bot needs a token and a chat_id: POST /notify/config with both, then start it again"
            )
        self.close()
        self._client = self._client_builder(self.settings, config.token, self.stop.wait)
        self._token = config.token
        me = self._client.get_me()
        self.username, self.bot_id = me.get("username"), me.get("id")
        lang = config.effective_lang(self.settings.ui_lang)
        self._client.set_my_commands(logic.command_descriptions(lang, self.registry.listed()))
        logger.info("bot @%s answers chat %s", self.username, config.chat_id)
        return config

    def poll_once(self, timeout: int = 0) -> int:
        """Fetch updates (waiting up to `timeout` s) and handle the new ones; returns how many."""
        config = self._config()
        if self._client is None or config.token != self._token:
            config = self.start()  # first round, or the token changed in the config
        assert self._client is not None
        last = self._last_update_id()
        updates = self._client.get_updates(
            offset=None if last is None else last + 1, timeout=timeout, allowed_updates=ALLOWED_UPDATES
        )
        handled = 0
        for update in sorted(updates, key=lambda u: int(u.get("update_id", 0))):
            if self._claim(int(update.get("update_id", 0))):
                self._answer(update)
                handled += 1
        return handled

    def run(self) -> None:
        """Poll until `stop` is set; a rejected token ends the loop with `failure` set."""
        while not self.stop.is_set():
            try:
                self.poll_once(timeout=self.poll_timeout_s)
            except (TelegramBadToken, PreconditionFailed) as exc:
                self.failure = exc.detail
                logger.error("bot stopped: %s", exc.detail)
                break
            except TelegramConflict as exc:
                logger.warning("another bot instance is polling: %s", exc.detail)
                self.stop.wait(self.error_backoff_s)
            except TelegramError as exc:
                logger.warning(
                    "polling Telegram failed, retrying in %.0f s: %s", self.error_backoff_s, exc.detail
                )
                self.stop.wait(self.error_backoff_s)
            except Exception:  # a bad round (database hiccup) must not end the bot
                logger.exception("bot round failed; retrying in %.0f s", self.error_backoff_s)
                self.stop.wait(self.error_backoff_s)
        self.close()

    def _last_update_id(self) -> int | None:
        with self.database.session(write=False) as session:
            return configdocs.get(session, BOT_STATE).value.guard(self.bot_id, clock.now())

    def _claim(self, update_id: int) -> bool:
        """Record `update_id` as handled before answering it; False when it already was."""
        now = clock.now()
        with self.database.session() as session:
            last = configdocs.get(session, BOT_STATE).value.guard(self.bot_id, now)
            if last is not None and update_id <= last:
                return False
            state = BotState(bot_id=self.bot_id, last_update_id=update_id, handled_at=now)
            configdocs.put(session, BOT_STATE, state)
        return True

    def _answer(self, update: dict[str, Any]) -> None:
        message = update.get("message")
        if not isinstance(message, dict):
            return
        chat = message.get("chat")
        if not isinstance(chat, dict):
            return
        update_id = update.get("update_id")
        config = self._config()
        if not is_configured_chat(chat, config.chat_id):
            logger.info("ignored update %s from chat %s: not the configured chat", update_id, chat.get("id"))
            return
        reply = self._reply(message.get("text"), config)
        if reply is None:
            return
        assert self._client is not None
        try:
            if isinstance(reply, Reply) and reply.document is not None:
                self._client.send_document(chat["id"], reply.document, caption=reply.text)
            else:
                self._client.send_message(chat["id"], reply.text if isinstance(reply, Reply) else reply)
        except TelegramBadToken:
            raise
        except TelegramError as exc:
            logger.warning("reply to update %s failed: %s", update_id, exc.detail)

    def _reply(self, text: object, config: NotifyConfig) -> str | Reply | None:
        command = logic.parse_command(text if isinstance(text, str) else None, self.username)
        if command is None:
            return None
        lang = config.effective_lang(self.settings.ui_lang)
        entry = self.registry.get(command.name)
        if entry is None:
            return logic.render_unknown(command.name, lang)
        try:
            with self.database.session(write=False) as session:
                context = BotContext(session, self.settings, config, lang, clock.now(), self.providers)
                return entry.handler(context, command.args)
        except Exception:  # one failing provider must not silence the bot
            logger.exception("command /%s failed", command.name)
            return logic.t(lang, "failed", what=f"/{command.name}")


class BotService:
    """The bot inside the service (TELEGRAM_BOT_ENABLED=1); only the holder of `BOT_LOCK` polls.

    Two replicas, or a replica and `myassistant bot`, never poll the same token: Telegram would
    refuse one of them (409) and split the updates. A bot that stops (no token or chat yet, a
    rejected token) starts again after `restart_after_s`, so configuring it later just works.
    """

    def __init__(
        self,
        *,
        database: Database,
        settings: Settings,
        providers: BotProviders | None = None,
        client_builder: ClientBuilder = _default_client,
        poll_timeout_s: int | None = None,
        election_interval_s: float = 30.0,
        restart_after_s: float = 60.0,
    ) -> None:
        self.stop = threading.Event()
        self.election_interval_s = election_interval_s
        self.restart_after_s = restart_after_s
        self._lock = bot_lock(database, settings)
        self.bot = Bot(
            database=database,
            settings=settings,
            providers=providers,
            client_builder=client_builder,
            poll_timeout_s=IN_SERVICE_POLL_TIMEOUT_S if poll_timeout_s is None else poll_timeout_s,
            stop=self.stop,
        )
        self._thread: threading.Thread | None = None

    @property
    def polling(self) -> bool:
        """This process holds the bot lock."""
        return self._lock.held

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="telegram-bot", daemon=True)
        self._thread.start()

    def shutdown(self) -> None:
        """Stop polling: waits for the poll in flight, so no request outlives the service."""
        self.stop.set()
        if self._thread is not None:
            self._thread.join(self.bot.poll_timeout_s + 5)

    def _run(self) -> None:
        while not self.stop.is_set():
            if not self._lock.acquire():
                self.stop.wait(self.election_interval_s)
                continue
            logger.info("this process runs the Telegram bot")
            try:
                self._serve()
            finally:
                self._lock.release()

    def _serve(self) -> None:
        while not self.stop.is_set():
            self.bot.failure = None
            self.bot.run()
            if self.bot.failure and not self.stop.is_set():
                logger.warning(
                    "bot paused: %s; trying again in %.0f s", self.bot.failure, self.restart_after_s
                )
                self.stop.wait(self.restart_after_s)


def start_in_service(
    *, database: Database, settings: Settings, scheduler: Callable[[], SchedulerView | None]
) -> BotService:
    """Start the in-service bot; its /status reports this process's scheduler."""
    providers = default_providers()
    providers.scheduler = scheduler
    service = BotService(database=database, settings=settings, providers=providers)
    service.start()
    return service


def run_until_interrupted(bot: Bot) -> None:
    """Run the bot in a worker thread so Ctrl+C stops it promptly on Windows and POSIX alike."""
    worker = threading.Thread(target=bot.run, name="telegram-bot", daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            worker.join(0.5)
    except KeyboardInterrupt:
        logger.info("stopping the bot")
        bot.stop.set()
        worker.join(bot.poll_timeout_s + 5)
