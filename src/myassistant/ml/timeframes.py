"""Exchange timeframes ("15m", "1h", "1d", ...) as fixed durations: the product's table in market.logic."""

from __future__ import annotations

from datetime import timedelta

from myassistant.core.errors import InvalidInput
from myassistant.market.logic import TIMEFRAME_MS, VALID_TIMEFRAMES

# Only the timeframes the market store can hold: a model for any other would never get prices.
TIMEFRAME_PATTERN = "^(" + "|".join(VALID_TIMEFRAMES) + ")$"
YEAR_SECONDS = 365.25 * 86_400


def timeframe_seconds(timeframe: str) -> int:
    """Length of one bar in seconds; InvalidInput for a timeframe outside the product's table."""
    try:
        return TIMEFRAME_MS[timeframe] // 1000
    except (KeyError, TypeError):
        raise InvalidInput(
            f"unsupported timeframe {timeframe!r}; valid: {', '.join(VALID_TIMEFRAMES)}"
        ) from None


def timeframe_delta(timeframe: str) -> timedelta:
    return timedelta(seconds=timeframe_seconds(timeframe))


def bars_per_year(timeframe: str) -> float:
    """Bars in a calendar year of a market that never closes (crypto), for annualising."""
    return YEAR_SECONDS / timeframe_seconds(timeframe)
