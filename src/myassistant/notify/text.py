"""Telegram text helpers shared by messages, the bot and alerts: escaping for Telegram's HTML mode,
fitting its length limit, and numbers, prices and durations in the reader's language. Pure."""

from __future__ import annotations

import html
import math
import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from myassistant.core.i18n import Lang, TextCatalog

MAX_MESSAGE_LENGTH = 4096  # Telegram's limit, in UTF-16 code units after entity parsing

Number = Decimal | float | int

UNIT_TEXTS = TextCatalog(
    {
        "en": {
            "d": "d",
            "h": "h",
            "m": "m",
            "more": "… and {n} more",
        },
        "ru": {
            "d": "д",
            "h": "ч",
            "m": "мин",
            "more": "… и ещё {n}",
        },
    }
)


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
    more = [UNIT_TEXTS.t(lang, "more", n=len(rows) - len(shown))] if len(shown) < len(rows) else []
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
    d, h, m = (UNIT_TEXTS.t(lang, unit) for unit in "dhm")
    if days:
        return f"{days}{d} {hours}{h}" if hours else f"{days}{d}"
    if hours:
        return f"{hours}{h} {mins}{m}" if mins else f"{hours}{h}"
    return f"{mins}{m}"


def format_utc(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M")


def format_metric(value: float | str | None) -> str:
    """A risk metric or limit: 4 significant digits for numbers, as is otherwise."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int | float):
        return f"{value:.4g}"
    return str(value)
