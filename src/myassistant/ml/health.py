"""Model health under the model policy: each watchlist pair's model is ok, stale, weak or missing, and
why; what train_missing and the alerts act on."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy.orm import Session

from myassistant.core import clock, configdocs
from myassistant.core.config import Settings
from myassistant.core.errors import InvalidInput
from myassistant.market import service as market
from myassistant.market.logic import Pair
from myassistant.market.schemas import checked_pair
from myassistant.ml import registry
from myassistant.ml.policy import MODEL_POLICY, ModelPolicy, health_status
from myassistant.ml.schemas import (
    ModelHealthRead,
)

logger = logging.getLogger("myassistant.ml")


def get_policy(session: Session) -> ModelPolicy:
    """The model policy in force (defaults until first written); GET/POST /model/policy edit it."""
    return configdocs.get(session, MODEL_POLICY).value


def health_for(session: Session, *, pair: Pair, policy: ModelPolicy) -> ModelHealthRead:
    """A pair's model health; a fallback from another pair counts as missing (the pair needs its own)."""
    return _health_of(pair, registry.resolve_choice(session, pair), policy)


def _health_of(pair: Pair, choice: registry.Choice | None, policy: ModelPolicy) -> ModelHealthRead:
    own = choice if choice is not None and choice[1] != "fallback" else None
    health = health_status(registry.summary(own[0]) if own else None, policy, clock.now())
    reason = health.reason
    if choice is not None and own is None:
        reason += f" (signals use run {choice[0].id} of {choice[0].symbol} as a fallback)"
    return ModelHealthRead(
        **pair.as_dict(),
        status=health.status,
        reason=reason,
        run_id=own[0].id if own else None,
        source=own[1] if own else None,
        age_days=health.age_days,
        test_auc=own[0].test_auc if own else None,
    )


def pairs_health(
    session: Session, *, pairs: Sequence[Pair], policy: ModelPolicy
) -> list[tuple[Pair, ModelHealthRead]]:
    """Every pair with its model health, in the order given (`health_for` of each, in a few queries)."""
    choices = registry.resolve_choices(session, pairs)
    return [(pair, _health_of(pair, choices[pair.key()], policy)) for pair in pairs]


def needs_training(health: ModelHealthRead) -> bool:
    """What train_missing trains: a pair whose model is missing, stale or weak."""
    return health.status != "ok"


def pairs_needing_training(
    session: Session, *, pairs: Sequence[Pair], policy: ModelPolicy
) -> list[tuple[Pair, ModelHealthRead]]:
    """The pairs whose health is not ok, with their health (what train_missing trains)."""
    return [
        (pair, health)
        for pair, health in pairs_health(session, pairs=pairs, policy=policy)
        if needs_training(health)
    ]


def watchlist_pairs(session: Session, *, settings: Settings) -> list[Pair]:
    """Every watchlist pair (defaults filled in), as the model services name pairs.

    A pair the model tables cannot hold (a symbol longer than their columns) is logged and left
    out, so one odd entry does not stop health checks and training for the others.
    """
    pairs: list[Pair] = []
    for pair in market.pairs_for_jobs(session, settings=settings):
        try:
            pairs.append(checked_pair(pair))
        except InvalidInput as exc:
            logger.warning("watchlist pair %s %s left out of model work: %s", pair.exchange, pair.symbol, exc)
    return pairs


def health_report(session: Session, *, settings: Settings) -> list[ModelHealthRead]:
    """Model health of every watchlist pair under the current policy."""
    pairs = watchlist_pairs(session, settings=settings)
    return [health for _, health in pairs_health(session, pairs=pairs, policy=get_policy(session))]
