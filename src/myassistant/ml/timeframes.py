"""Exchange timeframes ("15m", "1h", "1d", ...) as fixed durations."""

from __future__ import annotations

import re
from datetime import timedelta

from myassistant.core.errors import InvalidInput

TIMEFRAME_PATTERN = r"^[1-9][0-9]{0,3}[mhdw]$"
_UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86_400, "w": 7 * 86_400}
YEAR_SECONDS = 365.25 * 86_400


def timeframe_seconds(timeframe: str) -> int:
    """Length of one bar in seconds; months and seconds-bars are refused (not fixed or not supported)."""
    if not re.fullmatch(TIMEFRAME_PATTERN, timeframe or ""):
        raise InvalidInput(
            f"unsupported timeframe {timeframe!r}: use a number and m, h, d or w (e.g. 15m, 1h)"
        )
    return int(timeframe[:-1]) * _UNIT_SECONDS[timeframe[-1]]


def timeframe_delta(timeframe: str) -> timedelta:
    return timedelta(seconds=timeframe_seconds(timeframe))


def bars_per_year(timeframe: str) -> float:
    """Bars in a calendar year of a market that never closes (crypto), for annualising."""
    return YEAR_SECONDS / timeframe_seconds(timeframe)
