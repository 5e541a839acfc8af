"""Notification rules and message text: which signal becomes a Telegram message, whether a failed one
is retried, and the message itself in the reader's language. Pure (no DB, no HTTP), given `now`."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

from myassistant.core.i18n import Lang, TextCatalog
from myassistant.market.logic import TimeframeError, timeframe_ms
from myassistant.notify.schemas import NotifyConfig
from myassistant.notify.text import (
    esc,
    fit_message,
    fit_rows,
    format_duration,
    format_metric,
    format_percent,
    format_price,
    format_utc,
)

MAX_HEADLINES = 2
MAX_REASONS = 10
MAX_FEATURES = 3
ON_DEMAND_SOURCES = frozenset({"endpoint", "action"})


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


def bar_close(bar_dt: datetime, timeframe: str) -> datetime:
    """When the bar that opened at `bar_dt` closed (its open time when the timeframe is unknown, so a
    message about an odd stored row still goes out)."""
    try:
        return bar_dt + timedelta(milliseconds=timeframe_ms(timeframe))
    except TimeframeError:
        return bar_dt


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


MESSAGE_TEXTS = TextCatalog(
    {
        "en": {
            "buy": "BUY",
            "flat": "FLAT",
            "blocked": "BUY — BLOCKED by the risk policy",
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
            "limit": "limit",
            "test": (
                "✅ <b>myassistant</b>: test message. Telegram notifications reach this chat.\n"
                "Sent {now} UTC."
            ),
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
            "limit": "лимит",
            "test": (
                "✅ <b>myassistant</b>: тестовое сообщение. Уведомления Telegram приходят в этот чат.\n"
                "Отправлено {now} UTC."
            ),
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
)


def t(lang: Lang, key: str, **values: object) -> str:
    """A message text in `lang` (callers escape dynamic values)."""
    return MESSAGE_TEXTS.t(lang, key, **values)


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
        source=esc(MESSAGE_TEXTS.get(lang, f"src_{notice.source}", notice.source), 40),
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
    try:
        bar = timedelta(milliseconds=timeframe_ms(notice.timeframe))
    except TimeframeError:  # an odd stored row still gets its message, without the span
        bar = None
    span = f" ({format_duration(bar * notice.horizon_steps, lang)})" if bar else ""
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
        value, limit = esc(format_metric(reason.value), 40), esc(format_metric(reason.limit), 40)
        metric = f": {value} ({t(lang, 'limit')} {limit})"
    message = f" — {esc(reason.message)}" if reason.message else ""
    return f"• {esc(reason.filter, 40)}{metric}{message}"


def render_test_message(lang: Lang, now: datetime) -> str:
    return t(lang, "test", now=format_utc(now))


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
