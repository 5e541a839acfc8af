"""Retry policy shared by every outbound client (exchange, feeds, Telegram) and the Retry-After header."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

from myassistant.core import clock


@dataclass(frozen=True)
class RetryPolicy:
    """Attempts per call and the exponential backoff between them (doubling, capped, optional jitter)."""

    attempts: int = 4
    backoff_base_s: float = 0.5
    backoff_max_s: float = 8.0
    max_retry_after_s: float = 30.0  # a server asking to wait longer is not waited for
    jitter: float = 0.0  # ± this fraction of the backoff, so clients do not retry in step

    def backoff(self, attempt: int) -> float:
        """Seconds to wait after failed attempt `attempt` (1-based)."""
        backoff = min(self.backoff_max_s, self.backoff_base_s * 2.0 ** (attempt - 1))
        if self.jitter:
            backoff *= 1 - self.jitter + 2 * self.jitter * random.random()  # noqa: S311 - not cryptography
        return float(backoff)

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """The backoff, or the server's Retry-After when it asks for longer."""
        return max(self.backoff(attempt), retry_after or 0.0)


def retry_after_seconds(headers: Mapping[str, Any] | None, *, now: datetime | None = None) -> float | None:
    """The Retry-After header in seconds (delta or HTTP date), if present and sane."""
    if not headers:
        return None
    raw = next((str(v) for k, v in headers.items() if k.lower() == "retry-after"), None)
    if raw is None:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - (now or clock.now())).total_seconds())
