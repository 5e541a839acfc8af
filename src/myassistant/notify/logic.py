"""Notification rules, message text and bot command parsing: pure (no DB, no HTTP), given `now`."""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from myassistant.notify.schemas import Lang, NotifyConfig

MAX_MESSAGE_LENGTH = 4096  # Telegram's limit, in UTF-16 code units after entity parsing
MAX_HEADLINES = 2
MAX_REASONS = 10
MAX_FEATURES = 3
SIGNALS_DEFAULT, SIGNALS_MIN, SIGNALS_MAX = 5, 1, 50

Number = Decimal | float | int
ON_DEMAND_SOURCES = frozenset({"endpoint", "action"})


# ---------------------------------------------------------------------------------------------
# Signal notices and the rules


@dataclass(frozen=True)
class RiskNote:
    """One risk filter that blocked a BUY: its metric, its limit and a readable message."""

    filter: str
    value: float | str | None = None
    limit: float | str | None = None
    message: str = ""

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> RiskNote:
        return cls(
            filter=str(data.get("filter", "")),
            value=data.get("value"),
            limit=data.get("limit"),
            message=str(data.get("message") or ""),
        )


@dataclass(frozen=True)
class SignalNotice:
    """Everything a signal message needs, decoupled from the database row it comes from."""

    event_id: int
    exchange: str
    symbol: str
    timeframe: str
    horizon_steps: int
    bar_dt: datetime
    raw_signal: str
    final_signal: str
    prob: float
    threshold: float
    price: float | None
    blocked: bool
    source: str
    reasons: tuple[RiskNote, ...] = ()
    model_run_id: int | None = None
    model_trained_at: datetime | None = None
    top_features: tuple[tuple[str, float], ...] = ()
    headlines: tuple[str, ...] = ()


class StoredSignal(Protocol):
    """A stored signal event as notifications read it (the ORM row or its API model)."""

    @property
    def id(self) -> int: ...
    @property
    def exchange(self) -> str: ...
    @property
    def symbol(self) -> str: ...
    @property
    def timeframe(self) -> str: ...
    @property
    def horizon_steps(self) -> int: ...
    @property
    def bar_dt(self) -> datetime: ...
    @property
    def raw_signal(self) -> str: ...
    @property
    def final_signal(self) -> str: ...
    @property
    def prob(self) -> float: ...
    @property
    def threshold(self) -> float: ...
    @property
    def price(self) -> float: ...
    @property
    def blocked(self) -> bool: ...
    @property
    def model_run_id(self) -> int | None: ...
    @property
    def note(self) -> dict[str, Any]: ...


def notice_from_event(event: StoredSignal, *, source: str) -> SignalNotice:
    """The notice for a stored event: reasons, model age, drivers and headlines come from its note."""
    note = _mapping(event.note)
    risk, model, explanation = (_mapping(note.get(key)) for key in ("risk", "model", "explanation"))
    reasons = tuple(RiskNote.from_mapping(item) for item in _items(risk.get("reasons")))
    features = tuple(
        (str(item["feature"]), float(item["contribution"]))
        for item in _items(explanation.get("top_features"))
        if item.get("feature") and _is_number(item.get("contribution"))
    )
    headlines = tuple(
        str(item["title"]) for item in _items(explanation.get("headlines")) if item.get("title")
    )
    return SignalNotice(
        event_id=event.id,
        exchange=event.exchange,
        symbol=event.symbol,
        timeframe=event.timeframe,
        horizon_steps=event.horizon_steps,
        bar_dt=event.bar_dt,
        raw_signal=event.raw_signal,
        final_signal=event.final_signal,
        prob=float(event.prob),
        threshold=float(event.threshold),
        price=float(event.price) if _is_number(event.price) else None,
        blocked=event.blocked,
        source=source,
        reasons=reasons,
        model_run_id=event.model_run_id,
        model_trained_at=_utc_time(model.get("trained_at")),
        top_features=features,
        headlines=headlines,
    )


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _items(value: object) -> list[Mapping[str, Any]]:
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _utc_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass(frozen=True)
class Decision:
    send: bool
    reason: str


def should_notify(notice: SignalNotice, config: NotifyConfig, now: datetime) -> Decision:
    """Apply the active profile's rules; the reason says which rule decided."""
    if not config.enabled:
        return Decision(False, "notifications are disabled")
    if not config.token:
        return Decision(False, "no bot token configured")
    if config.chat_id is None:
        return Decision(False, "no chat_id configured")
    rules = config.profiles.get(config.active_profile)
    if rules is None:
        return Decision(False, f"active profile {config.active_profile!r} does not exist")
    if not _source_allowed(rules.source, notice.source):
        return Decision(False, f"profile {config.active_profile!r} notifies {rules.source} signals only")
    if rules.max_delay_minutes is not None:
        delay = now - bar_close(notice.bar_dt, notice.timeframe)
        if delay > timedelta(minutes=rules.max_delay_minutes):
            minutes = int(delay.total_seconds() // 60)
            return Decision(False, f"bar closed {minutes} min ago, over max_delay_minutes")
    return _signal_rule(notice, rules.buy, rules.flat_min_prob, rules.include_blocked)


def _source_allowed(rule: str, source: str) -> bool:
    if rule == "both":
        return True
    if rule == "endpoint":
        return source in ON_DEMAND_SOURCES
    return source == rule


def _signal_rule(
    notice: SignalNotice, buy: bool, flat_min_prob: float | None, include_blocked: bool
) -> Decision:
    if notice.final_signal == "buy":
        return Decision(True, "buy signal") if buy else Decision(False, "profile does not notify BUY")
    if notice.blocked:
        # A vetoed BUY is decided by include_blocked alone: it must not slip through as a FLAT.
        if include_blocked:
            return Decision(True, "buy blocked by the risk policy (include_blocked)")
        return Decision(False, "buy blocked by the risk policy; include_blocked is off")
    if flat_min_prob is None:
        return Decision(False, "profile never notifies FLAT")
    if notice.prob >= flat_min_prob:
        return Decision(True, f"flat with prob {notice.prob:.3f} >= flat_min_prob {flat_min_prob:.3f}")
    return Decision(False, f"flat with prob {notice.prob:.3f} < flat_min_prob {flat_min_prob:.3f}")


# Telegram refused the message itself (markup, length): the same text would be refused again.
PERMANENT_OUTCOMES = frozenset({"bad_request"})
MAX_NOTIFICATION_ATTEMPTS = 12  # HTTP attempts over every call (three rounds of the client's retries)


def retry_verdict(outcome: str, *, possibly_delivered: bool, attempts: int) -> Decision:
    """Whether a later call may send a failed notification again (`send`), and why."""
    if possibly_delivered:
        return Decision(False, "Telegram may have received it (no answer after sending): not retried")
    if outcome in PERMANENT_OUTCOMES:
        return Decision(False, "Telegram refused the message itself: not retried")
    if attempts >= MAX_NOTIFICATION_ATTEMPTS:
        return Decision(False, f"gave up after {attempts} attempts")
    return Decision(True, "a later pass retries it")


_TIMEFRAME = re.compile(r"^(\d{1,4})([smhdwM])$")
_UNIT_MINUTES = {"s": 1 / 60, "m": 1, "h": 60, "d": 1440, "w": 10080, "M": 43200}


def timeframe_minutes(timeframe: str) -> float | None:
    """Minutes in a ccxt timeframe such as 15m, 4h, 1d; None when unknown."""
    match = _TIMEFRAME.match(timeframe)
    if not match:
        return None
    return int(match.group(1)) * _UNIT_MINUTES[match.group(2)]


def bar_close(bar_dt: datetime, timeframe: str) -> datetime:
    """When the bar that opened at `bar_dt` closed (its open time when the timeframe is unknown)."""
    minutes = timeframe_minutes(timeframe)
    return bar_dt + timedelta(minutes=minutes) if minutes else bar_dt


def merge_profiles(
    current: Mapping[str, Mapping[str, Any]], changes: Mapping[str, Mapping[str, Any] | None]
) -> dict[str, dict[str, Any]]:
    """Merge partial profile rules by name; `None` removes a profile (JSON merge-patch style)."""
    merged = {name: dict(rules) for name, rules in current.items()}
    for name, rules in changes.items():
        if rules is None:
            merged.pop(name, None)
        else:
            merged[name] = {**merged.get(name, {}), **rules}
    return merged


# ---------------------------------------------------------------------------------------------
# Text

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "buy": "BUY",
        "flat": "FLAT",
        "blocked": "BUY — BLOCKED by the risk policy",
        "blocked_short": "BUY blocked",
        "prob": "Probability: <b>{prob}</b> vs threshold {threshold} ({margin})",
        "pp": "pp",
        "price": "Price: {price}",
        "horizon": "Horizon: {steps} bars{span}",
        "model": "Model: {run}{age}",
        "model_age": ", age {age}",
        "model_none": "n/a",
        "drivers": "Drivers: {features}",
        "risk": "Risk:",
        "footer": "Bar {bar} UTC · {source} · event #{event}",
        "src_endpoint": "on request",
        "src_scheduler": "scheduler",
        "src_action": "action",
        "d": "d",
        "h": "h",
        "m": "m",
        "limit": "limit",
        "test": "✅ <b>myassistant</b>: test message. Telegram notifications reach this chat.\n"
        "Sent {now} UTC.",
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
            "Equity: <b>{equity}</b> {ccy}\nCash: {cash} {ccy}\nPositions: {positions} {ccy}\n"
            "Realized PnL: {realized} {ccy}\nUnrealized PnL: {unrealized} {ccy}\nReturn since start: {ret}"
        ),
        "equity_none": "No paper account yet.",
        "report_title": "<b>Latest report</b>: {name}",
        "report_built": "built {at} UTC",
        "report_none": "No report yet.",
        "watchlist_title": "<b>Watchlist</b> ({n})",
        "watchlist_none": "The watchlist is empty.",
        "volume": "24h vol {volume}",
        "more": "… and {n} more",
        "alert_job": "⚠️ <b>Job {job} keeps failing</b>: {count} errors in a row since its last success.",
        "alert_feed": "⚠️ <b>News feed keeps failing</b>: {count} failures in a row, "
        "last success {since}.\n{url}",
        "alert_model": "🕰 <b>Stale model</b>: {pair} · run #{run}\n{reason}",
        "alert_last_error": "Last error: {error}",
        "never": "never",
        "daily_title": "📊 <b>Daily report</b> · {day}",
        "daily_caption": "📄 Daily report · {day}",
        "training_title": "🧠 <b>Model training</b> · {source} · run #{run}",
        "training_counts": "trained {trained} · skipped {skipped} · failed {failed}",
        "training_none": "no watchlist pair to train",
        "act_trained": "trained",
        "act_skipped": "skipped",
        "act_failed": "failed",
        "auc": "AUC {auc}",
        "promo_promoted": "promoted",
        "promo_refused": "current model kept",
    },
    "ru": {
        "buy": "ПОКУПКА",
        "flat": "НЕЙТРАЛЬНО",
        "blocked": "ПОКУПКА — ЗАБЛОКИРОВАНО риск-политикой",
        "blocked_short": "ПОКУПКА заблокирована",
        "prob": "Вероятность: <b>{prob}</b>, порог {threshold} ({margin})",
        "pp": "п.п.",
        "price": "Цена: {price}",
        "horizon": "Горизонт: {steps} баров{span}",
        "model": "Модель: {run}{age}",
        "model_age": ", возраст {age}",
        "model_none": "нет данных",
        "drivers": "Факторы: {features}",
        "risk": "Риск:",
        "footer": "Бар {bar} UTC · {source} · событие #{event}",
        "src_endpoint": "по запросу",
        "src_scheduler": "планировщик",
        "src_action": "действие",
        "d": "д",
        "h": "ч",
        "m": "мин",
        "limit": "лимит",
        "test": "✅ <b>myassistant</b>: тестовое сообщение. Уведомления Telegram приходят в этот чат.\n"
        "Отправлено {now} UTC.",
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
            "Капитал: <b>{equity}</b> {ccy}\nДеньги: {cash} {ccy}\nПозиции: {positions} {ccy}\n"
            "Реализованный PnL: {realized} {ccy}\nНереализованный PnL: {unrealized} {ccy}\n"
            "Доходность с начала: {ret}"
        ),
        "equity_none": "Бумажного счёта пока нет.",
        "report_title": "<b>Последний отчёт</b>: {name}",
        "report_built": "создан {at} UTC",
        "report_none": "Отчётов пока нет.",
        "watchlist_title": "<b>Список наблюдения</b> ({n})",
        "watchlist_none": "Список наблюдения пуст.",
        "volume": "объём 24ч {volume}",
        "more": "… и ещё {n}",
        "alert_job": "⚠️ <b>Задача {job} не выполняется</b>: {count} ошибок подряд после последнего успеха.",
        "alert_feed": "⚠️ <b>Лента новостей не загружается</b>: {count} ошибок подряд, "
        "последний успех {since}.\n{url}",
        "alert_model": "🕰 <b>Модель устарела</b>: {pair} · запуск #{run}\n{reason}",
        "alert_last_error": "Последняя ошибка: {error}",
        "never": "никогда",
        "daily_title": "📊 <b>Дневной отчёт</b> · {day}",
        "daily_caption": "📄 Дневной отчёт · {day}",
        "training_title": "🧠 <b>Обучение моделей</b> · {source} · запуск #{run}",
        "training_counts": "обучено {trained} · пропущено {skipped} · с ошибкой {failed}",
        "training_none": "в списке наблюдения нет пар для обучения",
        "act_trained": "обучена",
        "act_skipped": "пропущена",
        "act_failed": "ошибка",
        "auc": "AUC {auc}",
        "promo_promoted": "продвинута",
        "promo_refused": "оставлена текущая модель",
    },
}


def t(lang: Lang, key: str, **values: object) -> str:
    """The localised template `key` filled with `values` (callers escape dynamic values)."""
    return TEXTS[lang][key].format(**values)


def esc(value: object, limit: int = 200) -> str:
    """A dynamic value clipped to `limit` characters and escaped for Telegram's HTML mode."""
    text = str(value)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return html.escape(text, quote=True)


def telegram_length(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units); raw HTML is never shorter than the parsed text."""
    return len(text.encode("utf-16-le")) // 2


def fit_message(sections: Sequence[str | tuple[str, int]]) -> str:
    """Join sections in order; `(text, rank)` ones are dropped, highest rank first, until it fits."""
    kept = [(item, 0) if isinstance(item, str) else item for item in sections]
    while True:
        text = "\n".join(section for section, _ in kept)
        top = max((rank for _, rank in kept), default=0)
        if telegram_length(text) <= MAX_MESSAGE_LENGTH or top == 0:
            break
        kept = [(section, rank) for section, rank in kept if rank != top]
    if telegram_length(text) > MAX_MESSAGE_LENGTH:  # only when required parts alone are too long
        text = html.escape(html.unescape(re.sub(r"<[^>]+>", "", text)))[: MAX_MESSAGE_LENGTH - 200] + "…"
    return text


def fit_rows(header: Sequence[str], rows: Sequence[str], lang: Lang, footer: Sequence[str] = ()) -> str:
    """Header, as many rows as fit Telegram's limit, then "… and N more" when some did not."""
    budget = MAX_MESSAGE_LENGTH - telegram_length("\n".join([*header, *footer])) - 64
    shown: list[str] = []
    for row in rows:
        cost = telegram_length(row) + 1
        if cost > budget:
            break
        shown.append(row)
        budget -= cost
    more = [t(lang, "more", n=len(rows) - len(shown))] if len(shown) < len(rows) else []
    return "\n".join([*header, *shown, *more, *footer])


def format_percent(value: float) -> str:
    return f"{value * 100:.1f}%"


def format_number(value: Number, lang: Lang, decimals: int = 2, *, sign: bool = False) -> str:
    text = f"{value:{'+' if sign else ''},.{decimals}f}"
    return text.replace(",", "\u00a0") if lang == "ru" else text


def format_price(value: float, lang: Lang) -> str:
    """Enough digits to be useful for both BTC (43,210.50) and a micro-cap (0.00001234)."""
    if not math.isfinite(value):
        return "n/a"
    magnitude = abs(value)
    if magnitude >= 1000:
        return format_number(value, lang, 2)
    if magnitude >= 1:
        return format_number(value, lang, 4)
    if magnitude == 0:
        return "0"
    decimals = min(12, 3 - math.floor(math.log10(magnitude)))
    return f"{value:.{decimals}f}"


def format_duration(delta: timedelta, lang: Lang) -> str:
    """`2d 4h`, `5h 12m`, `7m` in the language's units."""
    minutes = max(0, int(delta.total_seconds() // 60))
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    d, h, m = t(lang, "d"), t(lang, "h"), t(lang, "m")
    if days:
        return f"{days}{d} {hours}{h}" if hours else f"{days}{d}"
    if hours:
        return f"{hours}{h} {mins}{m}" if mins else f"{hours}{h}"
    return f"{mins}{m}"


def format_utc(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M")


def _format_metric(value: float | str | None) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int | float):
        return f"{value:.4g}"
    return str(value)


def render_signal_message(notice: SignalNotice, lang: Lang, now: datetime) -> str:
    """The Telegram message (HTML parse mode) for one signal; every dynamic value is escaped."""
    sections: list[str | tuple[str, int]] = [
        _signal_header(notice, lang),
        _probability_line(notice, lang),
    ]
    if notice.price is not None:
        sections.append(t(lang, "price", price=esc(format_price(notice.price, lang))))
    sections += [_horizon_line(notice, lang), _model_line(notice, lang, now)]
    if notice.reasons:
        sections.append(t(lang, "risk"))
        sections.extend(_reason_line(reason, lang) for reason in notice.reasons[:MAX_REASONS])
    if notice.top_features:
        features = ", ".join(
            f"{esc(name, 40)} {contribution:+.3f}"
            for name, contribution in notice.top_features[:MAX_FEATURES]
        )
        sections.append((t(lang, "drivers", features=features), 2))
    sections.extend((f"📰 {esc(title)}", 3) for title in notice.headlines[:MAX_HEADLINES])
    footer = t(
        lang,
        "footer",
        bar=format_utc(notice.bar_dt),
        source=esc(TEXTS[lang].get(f"src_{notice.source}", notice.source), 40),
        event=notice.event_id,
    )
    sections.append((f"<i>{footer}</i>", 1))
    return fit_message(sections)


def _signal_header(notice: SignalNotice, lang: Lang) -> str:
    if notice.final_signal == "buy":
        icon, label = "🟢", t(lang, "buy")
    elif notice.blocked:
        icon, label = "⛔", t(lang, "blocked")
    else:
        icon, label = "⚪", t(lang, "flat")
    pair = f"<b>{esc(notice.symbol, 40)}</b> · {esc(notice.timeframe, 8)} · {esc(notice.exchange, 40)}"
    return f"{icon} <b>{label}</b> · {pair}"


def _probability_line(notice: SignalNotice, lang: Lang) -> str:
    margin = (notice.prob - notice.threshold) * 100
    return t(
        lang,
        "prob",
        prob=format_percent(notice.prob),
        threshold=format_percent(notice.threshold),
        margin=f"{margin:+.1f} {t(lang, 'pp')}",
    )


def _horizon_line(notice: SignalNotice, lang: Lang) -> str:
    minutes = timeframe_minutes(notice.timeframe)
    span = f" ({format_duration(timedelta(minutes=minutes * notice.horizon_steps), lang)})" if minutes else ""
    return t(lang, "horizon", steps=notice.horizon_steps, span=span)


def _model_line(notice: SignalNotice, lang: Lang, now: datetime) -> str:
    run = f"#{notice.model_run_id}" if notice.model_run_id is not None else t(lang, "model_none")
    age = ""
    if notice.model_trained_at is not None:
        age = t(lang, "model_age", age=format_duration(now - notice.model_trained_at, lang))
    return t(lang, "model", run=run, age=age)


def _reason_line(reason: RiskNote, lang: Lang) -> str:
    metric = ""
    if reason.value is not None or reason.limit is not None:
        value, limit = esc(_format_metric(reason.value), 40), esc(_format_metric(reason.limit), 40)
        metric = f": {value} ({t(lang, 'limit')} {limit})"
    message = f" — {esc(reason.message)}" if reason.message else ""
    return f"• {esc(reason.filter, 40)}{metric}{message}"


def render_test_message(lang: Lang, now: datetime) -> str:
    return t(lang, "test", now=format_utc(now))


# ---------------------------------------------------------------------------------------------
# Bot commands

COMMANDS: tuple[str, ...] = ("help", "status", "signals", "positions", "equity", "report", "watchlist")
_COMMAND = re.compile(r"/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]{1,64}))?(?:\s+(.*))?", re.DOTALL)


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


def render_help(lang: Lang, commands: Iterable[str] = COMMANDS) -> str:
    lines = [t(lang, "help_title")]
    for name in commands:
        usage = f"/{name} [n]" if name == "signals" else f"/{name}"
        lines.append(f"{usage} — {t(lang, f'cmd_{name}')}")
    return "\n".join(lines)


def command_descriptions(lang: Lang, commands: Iterable[str] = COMMANDS) -> list[dict[str, str]]:
    """The `setMyCommands` list in `lang`."""
    return [{"command": name, "description": t(lang, f"cmd_{name}")} for name in commands]


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


# ---------------------------------------------------------------------------------------------
# Alerts: trouble worth a message, once per incident

JOB_FAILURES_FOR_ALERT = 3
FEED_FAILURES_FOR_ALERT = 3


@dataclass(frozen=True)
class Incident:
    """One ongoing problem; `key` stays the same until the problem ends (one message per key)."""

    key: str
    text_key: str  # which alert template
    values: tuple[tuple[str, str], ...]  # already escaped template values
    error: str | None = None
    since: datetime | None = None  # a feed's last success


def should_alert(config: NotifyConfig) -> Decision:
    if not config.enabled:
        return Decision(False, "notifications are disabled")
    if not config.token or config.chat_id is None:
        return Decision(False, "no bot token or chat_id configured")
    if not config.rules().alerts:
        return Decision(False, f"profile {config.active_profile!r} sends no alerts")
    return Decision(True, "alerts are on")


@dataclass(frozen=True)
class JobStreak:
    """A job's errors since its last successful run (`after_run_id` 0: it never succeeded)."""

    job: str
    after_run_id: int
    errors: int
    last_error: str | None


def job_incident(streak: JobStreak, threshold: int = JOB_FAILURES_FOR_ALERT) -> Incident | None:
    if streak.errors < threshold:
        return None
    return Incident(
        key=f"job:{streak.job}:after:{streak.after_run_id}",
        text_key="alert_job",
        values=(("job", esc(streak.job, 64)), ("count", str(streak.errors))),
        error=streak.last_error,
    )


def feed_incident(
    *,
    url: str,
    url_digest: str,
    failures: int,
    last_success_at: datetime | None,
    last_error: str | None,
    threshold: int = FEED_FAILURES_FOR_ALERT,
) -> Incident | None:
    if failures < threshold:
        return None
    since = last_success_at.isoformat() if last_success_at else "never"
    return Incident(
        key=f"feed:{url_digest}:since:{since}",
        text_key="alert_feed",
        values=(("count", str(failures)), ("url", esc(url, 300))),
        error=last_error,
        since=last_success_at,
    )


def stale_model_incident(model: ModelHealthLine) -> Incident | None:
    if model.status != "stale" or model.run_id is None:
        return None
    pair = f"{model.symbol} {model.timeframe} h{model.horizon_steps}"
    return Incident(
        key=f"model:{model.exchange}:{model.symbol}:{model.timeframe}:{model.horizon_steps}:run:{model.run_id}",
        text_key="alert_model",
        values=(("pair", esc(pair, 80)), ("run", str(model.run_id)), ("reason", esc(model.reason, 300))),
    )


def render_alert(incident: Incident, lang: Lang) -> str:
    values = dict(incident.values)
    if incident.text_key == "alert_feed":
        values["since"] = f"{format_utc(incident.since)} UTC" if incident.since else t(lang, "never")
    lines = [t(lang, incident.text_key, **values)]
    if incident.error:
        lines.append(t(lang, "alert_last_error", error=esc(incident.error, 500)))
    return fit_message(lines)


# ---------------------------------------------------------------------------------------------
# Summaries: the daily report and each training run, one message each when notifications are on


def should_send_summary(config: NotifyConfig) -> Decision:
    if not config.enabled:
        return Decision(False, "notifications are disabled")
    if not config.token or config.chat_id is None:
        return Decision(False, "no bot token or chat_id configured")
    return Decision(True, "notifications are on")


def render_daily_report(day: date, summary: Sequence[str], lang: Lang) -> str:
    """The daily report's message: its title and the report's own summary lines (plain text)."""
    return fit_message([t(lang, "daily_title", day=day.isoformat()), *(esc(line, 300) for line in summary)])


def render_report_caption(day: date, lang: Lang) -> str:
    return t(lang, "daily_caption", day=day.isoformat())


@dataclass(frozen=True)
class TrainingLine:
    """What one training run did for one pair."""

    symbol: str
    timeframe: str
    action: str  # trained | skipped | failed
    test_auc: float | None = None
    promotion: str | None = None  # promoted | refused
    reason: str = ""


_TRAINING_ICONS = {"trained": "✅", "skipped": "▫️", "failed": "❌"}


def render_training_summary(lines: Sequence[TrainingLine], lang: Lang, *, run_id: int, source: str) -> str:
    """One message per training run: counts, then each pair with its test AUC and promotion decision."""
    counts = {action: sum(line.action == action for line in lines) for action in _TRAINING_ICONS}
    header = [
        t(lang, "training_title", source=esc(source, 16), run=run_id),
        t(lang, "training_counts", **counts) if lines else t(lang, "training_none"),
    ]
    rank = {"failed": 0, "trained": 1, "skipped": 2}
    rows = [_training_row(line, lang) for line in sorted(lines, key=lambda line: rank.get(line.action, 3))]
    return fit_rows(header, rows, lang)


def _training_row(line: TrainingLine, lang: Lang) -> str:
    parts = [
        f"{_TRAINING_ICONS.get(line.action, '•')} <b>{esc(line.symbol, 40)}</b> {esc(line.timeframe, 8)}"
    ]
    parts.append(t(lang, f"act_{line.action}") if line.action in _TRAINING_ICONS else esc(line.action, 16))
    if line.test_auc is not None:
        parts.append(t(lang, "auc", auc=f"{line.test_auc:.3f}"))
    if line.promotion in ("promoted", "refused"):
        parts.append(t(lang, f"promo_{line.promotion}"))
    if line.action == "failed" and line.reason:
        parts.append(esc(line.reason, 200))
    return " · ".join(parts)
