"""Price history for training: fetch what the store lacks of the bars a run needs."""

from __future__ import annotations

import functools

from sqlalchemy.orm import Session

from myassistant.core import clock
from myassistant.core.config import Settings
from myassistant.core.errors import DomainError, InvalidInput
from myassistant.market import logic as market_logic
from myassistant.market import service as market
from myassistant.market.logic import Pair
from myassistant.ml.features import WARMUP_BARS
from myassistant.ml.policy import ModelPolicy
from myassistant.ml.schemas import (
    HistoryRead,
)


def training_bars(policy: ModelPolicy) -> int:
    """Bars a training run reads: the policy's rows plus the features' warm-up before them."""
    return policy.train_bars + WARMUP_BARS


def _stored_since(session: Session, pair: Pair, start_ms: int) -> tuple[int, int | None]:
    """How many bars are stored from `start_ms` on, and the first one's open time (ms)."""
    count, first = market.stored_span(
        session,
        exchange=pair.exchange,
        symbol=pair.symbol,
        timeframe=pair.timeframe,
        start=market_logic.from_ms(start_ms),
    )
    return count, None if first is None else market_logic.to_ms(first)


def ensure_history(
    session: Session, *, settings: Settings, pair: Pair, bars: int
) -> tuple[HistoryRead, DomainError | None]:
    """Fetch what the store lacks of the last `bars` closed bars: older history first, then the tail.

    Commits (no transaction is held while waiting on the exchange); an exchange failure is returned,
    not raised, with what the store holds after it.
    """
    try:
        step = market_logic.timeframe_ms(pair.timeframe)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    newest = market_logic.last_closed_open(market_logic.to_ms(clock.now()), pair.timeframe)
    start_ms = newest - (bars - 1) * step
    stored, first = _stored_since(session, pair, start_ms)
    session.commit()
    if stored >= bars:
        return HistoryRead(bars_needed=bars, bars_stored=stored, fetched_bars=0), None
    fetch = functools.partial(
        market.fetch_prices,
        session,
        settings=settings,
        exchange=pair.exchange,
        symbol=pair.symbol,
        timeframe=pair.timeframe,
    )
    fetched, error = 0, None
    try:
        if first is None or first > start_ms:  # older history: from the window start up to what is stored
            head_end = newest if first is None else first - step
            head = fetch(since=market_logic.from_ms(start_ms), limit=(head_end - start_ms) // step + 1)
            fetched += head.new_bars
        if first is not None:  # the tail after the newest stored bar, and holes in between
            fetched += fetch().new_bars
    except DomainError as exc:
        error = exc
    session.rollback()  # a failed fetch may leave its page transaction open; stored pages are committed
    stored, _ = _stored_since(session, pair, start_ms)
    session.commit()
    history = HistoryRead(
        bars_needed=bars, bars_stored=stored, fetched_bars=fetched, error=error.detail if error else None
    )
    return history, error
