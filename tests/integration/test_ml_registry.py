from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from sqlalchemy import select

from myassistant.core.errors import InvalidInput, NotFound, PreconditionFailed
from myassistant.ml import registry
from myassistant.ml.artifacts import models_dir
from myassistant.ml.policy import ModelPolicy
from myassistant.ml.tables import ActiveModel, ModelPromotion
from tests.fixtures.ml import pair_key, register_run

ROWS = np.array([[0.3, -1.2], [np.nan, 2.0]])


def _load(session, settings, **pair):
    key = pair_key(**pair)
    return registry.load_model_for(session, settings=settings, **key.as_dict())


def _trail(session) -> list[tuple[str, int | None, int | None]]:
    rows = session.scalars(select(ModelPromotion).order_by(ModelPromotion.id)).all()
    return [(r.action, r.run_id, r.previous_run_id) for r in rows]


@pytest.fixture(autouse=True)
def _fresh_cache():
    registry.MODEL_CACHE.clear()
    yield
    registry.MODEL_CACHE.clear()


def test_a_worse_new_run_is_refused_and_the_refusal_recorded(session, settings, frozen_clock) -> None:
    first = register_run(session, settings, test_auc=0.62)
    frozen_clock.advance(hours=1)
    worse = register_run(session, settings, test_auc=0.58, promote=False)
    decision = registry.consider_promotion(session, run=worse, policy=ModelPolicy())
    assert decision.action == "refused" and "does not beat current run" in decision.reason
    assert _trail(session) == [("promoted", first.id, None), ("refused", worse.id, first.id)]
    assert _load(session, settings).run_id == first.id


def test_a_better_run_is_promoted_and_becomes_the_choice(session, settings, frozen_clock) -> None:
    first = register_run(session, settings, test_auc=0.60)
    frozen_clock.advance(hours=1)
    better = register_run(session, settings, test_auc=0.65)
    assert _trail(session)[-1] == ("promoted", better.id, first.id)
    loaded = _load(session, settings)
    assert (loaded.run_id, loaded.source) == (better.id, "pair")


def test_a_stale_promoted_run_gives_way_to_a_worse_fresh_one(session, settings, frozen_clock) -> None:
    old = register_run(session, settings, test_auc=0.70)
    frozen_clock.advance(days=8)
    fresh = register_run(session, settings, test_auc=0.56)
    assert _trail(session)[-1] == ("promoted", fresh.id, old.id)
    assert (
        "stale" in session.scalars(select(ModelPromotion.reason).order_by(ModelPromotion.id.desc())).first()
    )


def test_choice_goes_pin_then_pair_then_same_timeframe_fallback(session, settings, frozen_clock) -> None:
    with pytest.raises(PreconditionFailed, match="no model for bybit BTC/USDT 15m h12"):
        _load(session, settings)
    eth = register_run(session, settings, symbol="ETH/USDT", seed=1)
    register_run(session, settings, symbol="ETH/USDT", timeframe="1h", seed=2)
    assert (_load(session, settings).run_id, _load(session, settings).source) == (eth.id, "fallback")
    frozen_clock.advance(minutes=5)
    own = register_run(session, settings, seed=3)
    assert (_load(session, settings).run_id, _load(session, settings).source) == (own.id, "pair")
    registry.pin(session, settings=settings, pair=pair_key(), run_id=eth.id)
    assert (_load(session, settings).run_id, _load(session, settings).source) == (eth.id, "pin")
    registry.unpin(session, pair=pair_key())
    assert _load(session, settings).run_id == own.id
    with pytest.raises(PreconditionFailed, match="no model"):
        _load(session, settings, horizon_steps=3)


def test_resolve_choices_gives_each_pair_what_resolve_choice_gives_it(
    session, settings, frozen_clock
) -> None:
    eth = register_run(session, settings, symbol="ETH/USDT", seed=1)
    register_run(session, settings, symbol="SOL/USDT", timeframe="1h", seed=2)
    frozen_clock.advance(minutes=5)
    register_run(session, settings, seed=3)
    registry.pin(session, settings=settings, pair=pair_key(symbol="XRP/USDT"), run_id=eth.id)
    register_run(session, settings, symbol="ETH/USDT", exchange="okx", seed=4, promote=False)
    pairs = [
        pair_key(),  # its own promoted run
        pair_key(symbol="XRP/USDT"),  # pinned
        pair_key(symbol="DOGE/USDT"),  # fallback 15m h12
        pair_key(symbol="ETH/USDT", exchange="okx"),  # a run, never promoted: fallback
        pair_key(symbol="DOGE/USDT", timeframe="1h"),  # fallback 1h h12
        pair_key(symbol="DOGE/USDT", horizon_steps=3),  # nothing
    ]
    expected = {pair.key(): registry.resolve_choice(session, pair) for pair in pairs}
    assert [c[1] if c else None for c in expected.values()] == ["pair", "pin", *["fallback"] * 3, None]
    assert registry.resolve_choices(session, pairs) == expected
    assert registry.resolve_choices(session, []) == {}


def test_loaded_models_are_cached_and_reloaded_when_the_choice_changes(
    session, settings, frozen_clock
) -> None:
    first = register_run(session, settings, test_auc=0.6, seed=1)
    loads = registry.MODEL_CACHE.loads
    a, b = _load(session, settings), _load(session, settings)
    assert a.predictor is b.predictor and registry.MODEL_CACHE.loads == loads + 1
    frozen_clock.advance(hours=1)
    second = register_run(session, settings, test_auc=0.7, seed=2)
    c = _load(session, settings)
    assert c.run_id == second.id and registry.MODEL_CACHE.loads == loads + 2
    assert not np.array_equal(c.predict(ROWS), a.predict(ROWS), equal_nan=True)
    old_key = registry.MODEL_CACHE._key(first, settings.artifacts_dir)
    assert old_key not in registry.MODEL_CACHE  # the pair's previous choice was dropped


def test_rollback_pins_the_previously_promoted_run(session, settings, frozen_clock) -> None:
    first = register_run(session, settings, test_auc=0.6, seed=1)
    with pytest.raises(PreconditionFailed, match="nothing to roll back to"):
        registry.rollback(session, settings=settings, pair=pair_key())
    frozen_clock.advance(hours=1)
    second = register_run(session, settings, test_auc=0.7, seed=2)
    registry.rollback(session, settings=settings, pair=pair_key())
    assert _load(session, settings).run_id == first.id
    assert _trail(session)[-1] == ("rolled_back", first.id, None)
    active = session.scalars(select(ActiveModel)).one()
    assert (active.pinned_run_id, active.promoted_run_id) == (first.id, second.id)


def test_pin_by_path_accepts_only_registered_untampered_files_inside_the_models_dir(
    session, settings
) -> None:
    run = register_run(session, settings)
    directory = models_dir(settings.artifacts_dir)
    registry.pin(session, settings=settings, pair=pair_key(), path=str(directory / run.model_file))
    assert _load(session, settings).source == "pin"
    stray = directory / "stray.model.json"
    stray.write_bytes((directory / run.model_file).read_bytes())
    with pytest.raises(InvalidInput, match="not the file of a registered model run"):
        registry.pin(session, settings=settings, pair=pair_key(), path=str(stray))
    outside = settings.artifacts_dir / "outside.model.json"
    outside.write_bytes(b"{}")
    with pytest.raises(InvalidInput, match="not the file of a registered model run"):
        registry.pin(session, settings=settings, pair=pair_key(), path=str(outside))
    with pytest.raises(InvalidInput, match="not the file of a registered model run"):
        registry.pin(session, settings=settings, pair=pair_key(), path="nope.model.json")
    (directory / run.model_file).write_bytes(b'{"tampered": true}')
    registry.MODEL_CACHE.clear()
    with pytest.raises(PreconditionFailed, match="integrity check"):
        registry.pin(session, settings=settings, pair=pair_key(), path=run.model_file)
    with pytest.raises(PreconditionFailed, match="integrity check"):
        _load(session, settings)


def test_pin_refuses_unknown_failed_and_mismatched_runs(session, settings) -> None:
    with pytest.raises(NotFound):
        registry.pin(session, settings=settings, pair=pair_key(), run_id=999)
    failed = registry.record_run(session, pair=pair_key(), status="failed", source="test", error="boom")
    with pytest.raises(InvalidInput, match="only successful runs"):
        registry.pin(session, settings=settings, pair=pair_key(), run_id=failed.id)
    other = register_run(session, settings, horizon_steps=3)
    with pytest.raises(InvalidInput, match="predicts 15m h3, not 15m h12"):
        registry.pin(session, settings=settings, pair=pair_key(), run_id=other.id)


def test_unpin_without_a_pin_is_refused(session) -> None:
    with pytest.raises(PreconditionFailed, match="no pin"):
        registry.unpin(session, pair=pair_key())


def test_record_run_keeps_failures(session, frozen_clock) -> None:
    frozen_clock.advance(timedelta(seconds=1))
    run = registry.record_run(session, pair=pair_key(), status="failed", source="test", error="no data")
    assert (run.status, run.error, run.model_file, run.created_at) == (
        "failed",
        "no data",
        None,
        frozen_clock.now(),
    )
