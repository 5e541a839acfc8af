"""The report's charts as inline SVG strings: matplotlib for the charts, a bare polyline for sparklines.

matplotlib is imported inside the functions: the service imports this module with the API and must
start fast. Figures are drawn with the object API on the SVG canvas (no pyplot, no global backend,
safe in a worker thread), text kept as text (`svg.fonttype` none: a fraction of the bytes of glyph
paths) and ids salted with a constant, so the same figures give the same SVG.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

# Sized near the width they are shown at (at 72 dpi: 10 in is 720 px for a ~1000 px column), so the
# text reads at about the page's size.
WIDE_IN, HALF_IN, HEIGHT_IN = 10.0, 6.4, 2.8
INK, MUTED, GRID = "#1f2937", "#6b7280", "#e5e7eb"
BLUE, GREEN, RED, BAR = "#2563eb", "#15803d", "#b91c1c", "#cbd5e1"
MAX_LABEL = 36
_XML_PROLOGUE = re.compile(r"^.*?(?=<svg)", re.DOTALL)
_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.DOTALL)
_SIZE = re.compile(r'\s(width|height)="[^"]*"')


def _style() -> AbstractContextManager[Any]:
    import matplotlib

    return matplotlib.rc_context(
        {
            "svg.fonttype": "none",
            "svg.hashsalt": "myassistant-report",
            "font.family": "sans-serif",
            "font.size": 9,
            "axes.edgecolor": GRID,
            "axes.labelcolor": MUTED,
            "xtick.color": MUTED,
            "ytick.color": MUTED,
            "axes.spines.top": False,
            "axes.spines.right": False,
        }
    )


def _figure(
    width_in: float = WIDE_IN, height_in: float = HEIGHT_IN, *, left_px: float = 56, right_px: float = 56
) -> tuple[Figure, Axes]:
    """A figure with fixed margins in pixels: a layout engine measuring every label would cost a third
    of the drawing time, for labels whose room we know."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width_in, height_in), dpi=72)
    width, height = width_in * 72, height_in * 72
    figure.subplots_adjust(
        left=left_px / width, right=1 - right_px / width, bottom=40 / height, top=1 - 10 / height
    )
    axes = figure.add_subplot()
    axes.grid(True, axis="y", color=GRID, linewidth=0.6)
    axes.set_axisbelow(True)
    return figure, axes


def _svg(figure: Figure, label: str) -> str:
    """The figure as an `<svg>` element for inline use: no XML prologue, no metadata, fluid width."""
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None})
    svg = _METADATA.sub("", _XML_PROLOGUE.sub("", buffer.getvalue(), count=1))
    opening_end = svg.index(">")
    opening = _SIZE.sub("", svg[:opening_end])
    return f'{opening} role="img" aria-label="{_attribute(label)}" class="chart"{svg[opening_end:]}'


def _attribute(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")


def _label(text: str) -> str:
    """Untrusted text (a feed's name, a tag) as a plain label: clipped, and no `$` starting mathtext."""
    clipped = text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "…"
    return clipped.replace("$", r"\$")


def _hours(moments: Sequence[datetime]) -> list[str]:
    return [moment.strftime("%H") for moment in moments]


def sentiment_chart(hours: Sequence[datetime], articles: Sequence[int], means: Sequence[float | None]) -> str:
    """Articles per hour (bars) and their mean sentiment (line, right axis, -1 to 1)."""
    from matplotlib.ticker import MaxNLocator

    with _style():
        figure, axes = _figure()
        positions = list(range(len(hours)))
        axes.bar(positions, articles, color=BAR, width=0.8)
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_ylabel("articles")
        axes.set_xticks(positions[::2], _hours(hours)[::2])
        axes.set_xlabel("UTC")
        line = axes.twinx()
        line.spines["right"].set_visible(True)
        line.plot(
            positions,
            [float("nan") if m is None else m for m in means],
            color=BLUE,
            marker="o",
            markersize=3,
            linewidth=1.5,
        )
        line.axhline(0, color=MUTED, linewidth=0.6, linestyle="--")
        line.set_ylim(-1, 1)
        line.set_ylabel("sentiment")
        return _svg(figure, "sentiment through the day")


def bar_chart(labels: Sequence[str], values: Sequence[float], *, title: str) -> str:
    """Horizontal bars, the first label on top (half the page wide: two sit side by side)."""
    from matplotlib.ticker import MaxNLocator

    with _style():
        shown = [_label(label) for label in labels]
        longest = max((len(label) for label in shown), default=1)
        figure, axes = _figure(
            HALF_IN, max(1.4, 0.3 * len(labels) + 0.7), left_px=12 + 5.6 * longest, right_px=16
        )
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        positions = list(range(len(labels)))[::-1]
        axes.barh(positions, values, color=BLUE, height=0.7)
        axes.set_yticks(positions, shown)
        axes.grid(True, axis="x", color=GRID, linewidth=0.6)
        axes.grid(False, axis="y")
        return _svg(figure, title)


def line_chart(moments: Sequence[datetime], values: Sequence[float], *, title: str) -> str:
    """One series over the day (the equity curve); the x axis in UTC hours from the first moment."""
    with _style():
        figure, axes = _figure(right_px=24)
        hours = [(moment - moments[0]).total_seconds() / 3600 for moment in moments]
        axes.plot(hours, list(values), color=BLUE, linewidth=1.6)
        axes.fill_between(hours, list(values), min(values), color=BLUE, alpha=0.08)
        ticks = list(range(0, int(hours[-1]) + 1, 3))
        axes.set_xticks(ticks, [(moments[0] + timedelta(hours=h)).strftime("%H:%M") for h in ticks])
        axes.set_xlabel("UTC")
        axes.margins(x=0)
        return _svg(figure, title)


def sparkline(values: Sequence[float], *, width: int = 120, height: int = 28) -> str:
    """A polyline of the values, green when the last is above the first, red otherwise.

    Drawn by hand: twenty tiny matplotlib figures would cost about a second and several kilobytes each,
    for a line of forty-eight points.
    """
    if len(values) < 2:
        return ""
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    step = (width - 2) / (len(values) - 1)
    points = " ".join(
        f"{1 + i * step:.1f},{1 + (height - 2) * (1 - (v - low) / span):.1f}" for i, v in enumerate(values)
    )
    colour = GREEN if values[-1] >= values[0] else RED
    return (
        f'<svg class="spark" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="trend"><polyline fill="none" stroke="{colour}" stroke-width="1.5" '
        f'points="{points}"/></svg>'
    )
