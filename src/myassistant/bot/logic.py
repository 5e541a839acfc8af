"""The bot's commands and replies: one command list from which the help text, the parser and the
handlers are derived, and the views each command renders. Pure (no DB, no HTTP), given `now`."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from myassistant.core.i18n import Lang, TextCatalog
from myassistant.notify.logic import MESSAGE_TEXTS
from myassistant.notify.text import (
    Number,
    esc,
    fit_message,
    fit_rows,
    format_duration,
    format_number,
    format_percent,
    format_price,
    format_utc,
)

SIGNALS_DEFAULT, SIGNALS_MIN, SIGNALS_MAX = 5, 1, 50

BOT_TEXTS = MESSAGE_TEXTS + TextCatalog(
    {
        "en": {
            "blocked_short": "BUY blocked",
            "help_title": "<b>Commands</b>",
            "cmd_help": "this list",
            "cmd_status": "scheduler, last jobs, model health",
            "cmd_signals": "last n signals (1-50, default 5)",
            "cmd_positions": "open paper positions",
            "cmd_equity": "paper account equity and PnL",
            "cmd_report": "latest daily report",
            "cmd_watchlist": "pairs being watched",
            "unknown": "Unknown command /{name}. Send /help for the list.",
            "bad_count": "n must be a whole number from {low} to {high}, e.g. /signals 10.",
            "unavailable": "{what}: not available in this build yet.",
            "failed": "{what}: could not be read right now, try again later.",
            "status_title": "<b>Status</b> · {now} UTC",
            "scheduler_on": "Scheduler: enabled",
            "scheduler_off": "Scheduler: disabled (SCHEDULER_ENABLED=0)",
            "scheduler_leader": "Scheduler: running, leader (this process runs the jobs)",
            "scheduler_standby": "Scheduler: running, standby (another process is the leader)",
            "scheduler_stopped": "Scheduler: not running",
            "notify_on": "Notifications: on · profile {profile}",
            "notify_off": "Notifications: off",
            "jobs_title": "<b>Jobs</b>",
            "jobs_none": "no job has run yet",
            "job_line": "{icon} {job} — {status} {ago} ago{duration}",
            "job_running": "⏳ {job} — running for {ago}",
            "job_never": "▫️ {job} — never run",
            "models_title": "<b>Models</b>",
            "models_none": "no model for the watchlist yet",
            "what_status": "Status",
            "what_signals": "Signals",
            "what_positions": "Positions",
            "what_equity": "Equity",
            "what_report": "Report",
            "what_watchlist": "Watchlist",
            "what_models": "Model health",
            "signals_title": "<b>Last {n} signals</b>",
            "signals_none": "No signals yet.",
            "positions_title": "<b>Open positions</b> ({n})",
            "positions_none": "No open positions.",
            "pnl": "PnL",
            "equity_title": "<b>Paper account</b>",
            "equity_lines": (
                "Equity: <b>{equity}</b> {ccy}\nCash: {cash} {ccy}\n"
                "Positions: {positions} {ccy}\nRealized PnL: {realized} {ccy}\n"
                "Unrealized PnL: {unrealized} {ccy}\nReturn since start: {ret}"
            ),
            "equity_none": "No paper account yet.",
            "report_title": "<b>Latest report</b>: {name}",
            "report_built": "built {at} UTC",
            "report_none": "No report yet.",
            "watchlist_title": "<b>Watchlist</b> ({n})",
            "watchlist_none": "The watchlist is empty.",
            "volume": "24h vol {volume}",
        },
        "ru": {
            "blocked_short": "ПОКУПКА заблокирована",
            "help_title": "<b>Команды</b>",
            "cmd_help": "этот список",
            "cmd_status": "планировщик, последние задачи, состояние моделей",
            "cmd_signals": "последние n сигналов (1-50, по умолчанию 5)",
            "cmd_positions": "открытые бумажные позиции",
            "cmd_equity": "капитал и PnL бумажного счёта",
            "cmd_report": "последний дневной отчёт",
            "cmd_watchlist": "отслеживаемые пары",
            "unknown": "Неизвестная команда /{name}. Список команд: /help.",
            "bad_count": "n должно быть целым числом от {low} до {high}, например /signals 10.",
            "unavailable": "{what}: пока недоступно в этой сборке.",
            "failed": "{what}: сейчас не удалось прочитать, попробуйте позже.",
            "status_title": "<b>Состояние</b> · {now} UTC",
            "scheduler_on": "Планировщик: включён",
            "scheduler_off": "Планировщик: выключен (SCHEDULER_ENABLED=0)",
            "scheduler_leader": "Планировщик: работает, ведущий (задачи выполняет этот процесс)",
            "scheduler_standby": "Планировщик: работает, резерв (ведущий — другой процесс)",
            "scheduler_stopped": "Планировщик: не запущен",
            "notify_on": "Уведомления: включены · профиль {profile}",
            "notify_off": "Уведомления: выключены",
            "jobs_title": "<b>Задачи</b>",
            "jobs_none": "задачи ещё не запускались",
            "job_line": "{icon} {job} — {status} {ago} назад{duration}",
            "job_running": "⏳ {job} — выполняется {ago}",
            "job_never": "▫️ {job} — ещё не запускалась",
            "models_title": "<b>Модели</b>",
            "models_none": "моделей для списка наблюдения пока нет",
            "what_status": "Состояние",
            "what_signals": "Сигналы",
            "what_positions": "Позиции",
            "what_equity": "Капитал",
            "what_report": "Отчёт",
            "what_watchlist": "Список наблюдения",
            "what_models": "Состояние моделей",
            "signals_title": "<b>Последние сигналы: {n}</b>",
            "signals_none": "Сигналов пока нет.",
            "positions_title": "<b>Открытые позиции</b> ({n})",
            "positions_none": "Открытых позиций нет.",
            "pnl": "PnL",
            "equity_title": "<b>Бумажный счёт</b>",
            "equity_lines": (
                "Капитал: <b>{equity}</b> {ccy}\nДеньги: {cash} {ccy}\n"
                "Позиции: {positions} {ccy}\nРеализованный PnL: {realized} {ccy}\n"
                "Нереализованный PnL: {unrealized} {ccy}\nДоходность с начала: {ret}"
            ),
            "equity_none": "Бумажного счёта пока нет.",
            "report_title": "<b>Последний отчёт</b>: {name}",
            "report_built": "создан {at} UTC",
            "report_none": "Отчётов пока нет.",
            "watchlist_title": "<b>Список наблюдения</b> ({n})",
            "watchlist_none": "Список наблюдения пуст.",
            "volume": "объём 24ч {volume}",
        },
    }
)


def t(lang: Lang, key: str, **values: object) -> str:
    """A bot text in `lang` (callers escape dynamic values)."""
    return BOT_TEXTS.t(lang, key, **values)


@dataclass(frozen=True)
class CommandSpec:
    """One bot command: its name, the arguments its usage shows, and whether /help lists it."""

    name: str
    args: str = ""
    listed: bool = True

    @property
    def usage(self) -> str:
        return f"/{self.name} {self.args}".rstrip()


# The one list of commands: /help, setMyCommands, the parser and the handler table come from it.
COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec("help"),
    CommandSpec("start", listed=False),  # what Telegram sends on first contact
    CommandSpec("status"),
    CommandSpec("signals", "[n]"),
    CommandSpec("positions"),
    CommandSpec("equity"),
    CommandSpec("report"),
    CommandSpec("watchlist"),
)
COMMAND_NAMES = frozenset(spec.name for spec in COMMANDS)
_COMMAND = re.compile(r"/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]{1,64}))?(?:\s+(.*))?", re.DOTALL)


def listed_commands() -> list[CommandSpec]:
    return [spec for spec in COMMANDS if spec.listed]


@dataclass(frozen=True)
class ParsedCommand:
    name: str
    args: str


def parse_command(text: str | None, bot_username: str | None = None) -> ParsedCommand | None:
    """`/signals@MyBot 10` → ("signals", "10"); None for plain text or a command meant for another bot."""
    if not text:
        return None
    match = _COMMAND.fullmatch(text.strip())
    if match is None:
        return None
    name, target, args = match.group(1), match.group(2), match.group(3)
    if target and bot_username and target.lower() != bot_username.lower():
        return None
    return ParsedCommand(name=name.lower(), args=(args or "").strip())


def parse_count(
    args: str, *, default: int = SIGNALS_DEFAULT, low: int = SIGNALS_MIN, high: int = SIGNALS_MAX
) -> int:
    """The optional `n` of `/signals [n]`; ValueError when it is not a whole number in [low, high]."""
    token = args.split()[0] if args.split() else ""
    if not token:
        return default
    if not re.fullmatch(r"\d{1,6}", token) or not low <= int(token) <= high:
        raise ValueError(f"n must be a whole number from {low} to {high}")
    return int(token)


def render_help(lang: Lang, commands: Iterable[CommandSpec] | None = None) -> str:
    lines = [t(lang, "help_title")]
    for spec in listed_commands() if commands is None else commands:
        lines.append(f"{spec.usage} — {t(lang, f'cmd_{spec.name}')}")
    return "\n".join(lines)


def command_descriptions(lang: Lang, commands: Iterable[CommandSpec] | None = None) -> list[dict[str, str]]:
    """The `setMyCommands` list in `lang`."""
    chosen = listed_commands() if commands is None else commands
    return [{"command": spec.name, "description": t(lang, f"cmd_{spec.name}")} for spec in chosen]


def render_unknown(name: str, lang: Lang) -> str:
    return t(lang, "unknown", name=esc(name, 40))


def render_bad_count(lang: Lang) -> str:
    return t(lang, "bad_count", low=SIGNALS_MIN, high=SIGNALS_MAX)


def render_unavailable(what: str, lang: Lang) -> str:
    """`what` is a key such as "signals": the honest answer when the data source is not wired yet."""
    return t(lang, "unavailable", what=t(lang, f"what_{what}"))


@dataclass(frozen=True)
class JobStatusLine:
    job: str
    status: str  # ok / error / running / abandoned / never
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration_s: float | None = None
    error: str | None = None


@dataclass(frozen=True)
class ModelHealthLine:
    exchange: str
    symbol: str
    timeframe: str
    horizon_steps: int
    status: str  # ok / stale / weak / missing
    reason: str = ""
    run_id: int | None = None
    auc: float | None = None
    age: timedelta | None = None


@dataclass(frozen=True)
class StatusView:
    scheduler_enabled: bool
    notify_enabled: bool
    active_profile: str
    jobs: tuple[JobStatusLine, ...] = ()
    models: tuple[ModelHealthLine, ...] | None = None  # None: model health not available yet
    # Known only when the bot runs inside the service; None: the settings say enabled or not.
    scheduler_running: bool | None = None
    scheduler_leader: bool | None = None


_JOB_ICONS = {"ok": "✅", "error": "❌", "abandoned": "⚠️"}
_HEALTH_ICONS = {"ok": "✅", "stale": "🕰", "weak": "⚠️", "missing": "❌"}


def render_status(view: StatusView, lang: Lang, now: datetime) -> str:
    lines = [
        t(lang, "status_title", now=format_utc(now)),
        t(lang, _scheduler_key(view)),
        t(lang, "notify_on", profile=esc(view.active_profile, 32))
        if view.notify_enabled
        else t(lang, "notify_off"),
        "",
        t(lang, "jobs_title"),
    ]
    lines.extend(_job_line(job, lang, now) for job in view.jobs)
    if not view.jobs:
        lines.append(t(lang, "jobs_none"))
    lines += ["", t(lang, "models_title")]
    if view.models is None:
        lines.append(render_unavailable("models", lang))
    elif not view.models:
        lines.append(t(lang, "models_none"))
    return fit_rows(lines, [_health_line(model, lang) for model in view.models or ()], lang)


def _scheduler_key(view: StatusView) -> str:
    if not view.scheduler_enabled:
        return "scheduler_off"
    if view.scheduler_running is None:
        return "scheduler_on"
    if not view.scheduler_running:
        return "scheduler_stopped"
    return "scheduler_leader" if view.scheduler_leader else "scheduler_standby"


def _job_line(job: JobStatusLine, lang: Lang, now: datetime) -> str:
    name = esc(job.job, 64)
    if job.status == "never" or job.started_at is None:
        return t(lang, "job_never", job=name)
    if job.status == "running":
        return t(lang, "job_running", job=name, ago=format_duration(now - job.started_at, lang))
    duration = f" ({job.duration_s:.1f} s)" if job.duration_s is not None else ""
    line = t(
        lang,
        "job_line",
        icon=_JOB_ICONS.get(job.status, "•"),
        job=name,
        status=esc(job.status, 16),
        ago=format_duration(now - (job.finished_at or job.started_at), lang),
        duration=duration,
    )
    return f"{line}: {esc(job.error, 160)}" if job.error else line


def _health_line(model: ModelHealthLine, lang: Lang) -> str:
    parts = [
        f"{esc(model.symbol, 40)} {esc(model.timeframe, 8)} h{model.horizon_steps}",
        esc(model.status, 16),
    ]
    if model.run_id is not None:
        parts.append(f"#{model.run_id}")
    if model.auc is not None:
        parts.append(f"AUC {model.auc:.3f}")
    if model.age is not None:
        parts.append(format_duration(model.age, lang))
    if model.reason:
        parts.append(esc(model.reason, 120))
    return f"{_HEALTH_ICONS.get(model.status, '•')} " + " · ".join(parts)


@dataclass(frozen=True)
class SignalLine:
    event_id: int
    bar_dt: datetime
    exchange: str
    symbol: str
    timeframe: str
    final_signal: str
    prob: float
    threshold: float
    blocked: bool = False


def render_signals(lines: Sequence[SignalLine], lang: Lang) -> str:
    if not lines:
        return t(lang, "signals_none")
    rows = [_signal_row(line, lang) for line in lines]
    return fit_rows([t(lang, "signals_title", n=len(lines))], rows, lang)


def _signal_row(line: SignalLine, lang: Lang) -> str:
    if line.final_signal == "buy":
        icon, label = "🟢", t(lang, "buy")
    elif line.blocked:
        icon, label = "⛔", t(lang, "blocked_short")
    else:
        icon, label = "⚪", t(lang, "flat")
    return (
        f"{icon} {line.bar_dt:%m-%d %H:%M} <b>{esc(line.symbol, 40)}</b> {esc(line.timeframe, 8)} "
        f"{label} {format_percent(line.prob)} / {format_percent(line.threshold)} · #{line.event_id}"
    )


@dataclass(frozen=True)
class PositionLine:
    exchange: str
    symbol: str
    qty: Number
    avg_price: Number
    last_price: Number | None
    unrealized_pnl: Number | None
    unrealized_pct: float | None = None


def render_positions(lines: Sequence[PositionLine], lang: Lang) -> str:
    if not lines:
        return t(lang, "positions_none")
    rows = [_position_row(line, lang) for line in lines]
    return fit_rows([t(lang, "positions_title", n=len(lines))], rows, lang)


def _position_row(line: PositionLine, lang: Lang) -> str:
    last = format_price(float(line.last_price), lang) if line.last_price is not None else "n/a"
    text = (
        f"<b>{esc(line.symbol, 40)}</b> {esc(line.exchange, 40)} · {float(line.qty):.8g} @ "
        f"{format_price(float(line.avg_price), lang)} → {esc(last)}"
    )
    if line.unrealized_pnl is not None:
        text += f" · {t(lang, 'pnl')} {format_number(line.unrealized_pnl, lang, sign=True)}"
        if line.unrealized_pct is not None:
            text += f" ({line.unrealized_pct * 100:+.2f}%)"
    return text


@dataclass(frozen=True)
class EquityView:
    cash: Number
    positions_value: Number
    equity: Number
    realized_pnl: Number
    unrealized_pnl: Number
    return_pct: float
    currency: str = "USDT"


def render_equity(view: EquityView | None, lang: Lang) -> str:
    if view is None:
        return t(lang, "equity_none")
    return "\n".join(
        [
            t(lang, "equity_title"),
            t(
                lang,
                "equity_lines",
                equity=format_number(view.equity, lang),
                cash=format_number(view.cash, lang),
                positions=format_number(view.positions_value, lang),
                realized=format_number(view.realized_pnl, lang, sign=True),
                unrealized=format_number(view.unrealized_pnl, lang, sign=True),
                ret=f"{view.return_pct * 100:+.2f}%",
                ccy=esc(view.currency, 12),
            ),
        ]
    )


@dataclass(frozen=True)
class ReportView:
    name: str
    built_at: datetime | None = None
    day: date | None = None
    link: str | None = None
    summary: tuple[str, ...] = field(default=())


def render_report(view: ReportView | None, lang: Lang) -> str:
    if view is None:
        return t(lang, "report_none")
    lines = [t(lang, "report_title", name=esc(view.name, 120))]
    if view.built_at is not None:
        lines.append(t(lang, "report_built", at=format_utc(view.built_at)))
    lines.extend(esc(line, 300) for line in view.summary[:10])
    if view.link:
        lines.append(esc(view.link, 500))
    return fit_message(lines)


@dataclass(frozen=True)
class WatchlistLine:
    exchange: str
    symbol: str
    source: str = "manual"
    quote_volume_24h: float | None = None


def render_watchlist(lines: Sequence[WatchlistLine], lang: Lang) -> str:
    if not lines:
        return t(lang, "watchlist_none")
    rows = []
    for line in lines:
        text = f"<b>{esc(line.symbol, 40)}</b> {esc(line.exchange, 40)} · {esc(line.source, 16)}"
        if line.quote_volume_24h is not None:
            text += " · " + t(lang, "volume", volume=format_number(line.quote_volume_24h, lang, 0))
        rows.append(text)
    return fit_rows([t(lang, "watchlist_title", n=len(lines))], rows, lang)
