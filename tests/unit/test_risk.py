from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from myassistant.signals.risk import BrokerState, RiskInputs, RiskPolicy, evaluate
from tests.fixtures.decision import OPEN_POLICY

CLOSE = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
CALM_BROKER = BrokerState(equity=10_000, open_positions=0, symbol_position_value=0, order_notional=1_000)


def buy(**overrides) -> RiskInputs:
    values: dict[str, Any] = {
        "symbol": "BTC/USDT",
        "raw_signal": "buy",
        "prob": 0.7,
        "threshold": 0.6,
        "bar_close": CLOSE,
        "vol_norm": 1.0,
        "ret_std_24": 0.01,
    }
    values.update(overrides)
    return RiskInputs(**values)


def reasons(decision) -> dict:
    return {r.filter: (r.value, r.limit) for r in decision.reasons}


def test_a_buy_within_every_limit_passes() -> None:
    decision = evaluate(buy(), RiskPolicy(), CALM_BROKER)
    assert decision.final_signal == "buy" and decision.reasons == [] and not decision.blocked


def test_flat_is_never_blocked_or_changed() -> None:
    decision = evaluate(buy(raw_signal="flat", vol_norm=99), RiskPolicy(), CALM_BROKER)
    assert decision.final_signal == "flat" and decision.reasons == [] and not decision.blocked


def test_disabled_policy_passes_everything_and_says_so() -> None:
    decision = evaluate(buy(vol_norm=99), RiskPolicy(enabled=False), CALM_BROKER)
    assert decision.final_signal == "buy" and decision.policy_enabled is False


@pytest.mark.parametrize(("vol_norm", "blocked"), [(2.99, False), (3.0, False), (3.01, True)])
def test_vol_norm_filter_blocks_only_above_the_limit(vol_norm: float, blocked: bool) -> None:
    decision = evaluate(buy(vol_norm=vol_norm), OPEN_POLICY.model_copy(update={"max_vol_norm": 3.0}))
    assert decision.blocked is blocked
    if blocked:
        assert reasons(decision) == {"max_vol_norm": (3.01, 3.0)}
        assert "vol_norm 3.0100 is above 3.0" in decision.reasons[0].message


@pytest.mark.parametrize("unknown", [None, float("nan")])
def test_unknown_volatility_blocks_when_the_filter_is_on(unknown) -> None:
    decision = evaluate(buy(vol_norm=unknown), OPEN_POLICY.model_copy(update={"max_vol_norm": 3.0}))
    assert reasons(decision) == {"max_vol_norm": (None, 3.0)}


def test_ret_std_24_filter() -> None:
    policy = OPEN_POLICY.model_copy(update={"max_ret_std_24": 0.02})
    assert not evaluate(buy(ret_std_24=0.019), policy).blocked
    assert reasons(evaluate(buy(ret_std_24=0.025), policy)) == {"max_ret_std_24": (0.025, 0.02)}


def test_probability_margin_filter() -> None:
    policy = OPEN_POLICY.model_copy(update={"min_prob_margin": 0.05})
    assert not evaluate(buy(prob=0.65, threshold=0.6), policy).blocked
    decision = evaluate(buy(prob=0.62, threshold=0.6), policy)
    assert reasons(decision) == {"min_prob_margin": (0.02, 0.05)}


def test_cooldown_is_measured_between_bar_closes() -> None:
    policy = OPEN_POLICY.model_copy(update={"cooldown_minutes": 60})
    recent = evaluate(buy(last_buy_bar_close=CLOSE - timedelta(minutes=45)), policy)
    assert reasons(recent) == {"cooldown_minutes": (45.0, 60)}
    assert not evaluate(buy(last_buy_bar_close=CLOSE - timedelta(minutes=60)), policy).blocked
    assert not evaluate(buy(last_buy_bar_close=None), policy).blocked


def test_blacklist_matches_symbol_or_base_case_insensitively() -> None:
    policy = OPEN_POLICY.model_copy(update={"blacklist": ["DOGE", "XRP/USDT"]})
    assert reasons(evaluate(buy(symbol="doge/usdt"), policy))["blacklist"][0] == "DOGE/USDT"
    assert evaluate(buy(symbol="XRP/USDT"), policy).blocked
    assert not evaluate(buy(symbol="BTC/USDT"), policy).blocked


def test_max_open_positions_blocks_new_symbols_but_allows_adding() -> None:
    policy = OPEN_POLICY.model_copy(update={"max_open_positions": 2})
    full = BrokerState(equity=10_000, open_positions=2, symbol_position_value=0, order_notional=100)
    assert reasons(evaluate(buy(), policy, full)) == {"max_open_positions": (2, 2)}
    adding = BrokerState(equity=10_000, open_positions=2, symbol_position_value=500, order_notional=100)
    assert not evaluate(buy(), policy, adding).blocked


def test_max_position_pct_counts_the_existing_position_plus_the_order() -> None:
    policy = OPEN_POLICY.model_copy(update={"max_position_pct": 10})
    ok = BrokerState(equity=10_000, open_positions=1, symbol_position_value=500, order_notional=500)
    assert not evaluate(buy(), policy, ok).blocked
    too_big = BrokerState(equity=10_000, open_positions=1, symbol_position_value=600, order_notional=500)
    assert reasons(evaluate(buy(), policy, too_big)) == {"max_position_pct": (11.0, 10)}


def test_every_blocking_filter_is_reported_not_just_the_first() -> None:
    decision = evaluate(
        buy(vol_norm=5, prob=0.6, symbol="DOGE/USDT"),
        RiskPolicy(blacklist=["DOGE"], min_prob_margin=0.1),
        CALM_BROKER,
    )
    assert set(reasons(decision)) == {"blacklist", "max_vol_norm", "min_prob_margin"}
    assert decision.metrics["vol_norm"] == 5


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_vol_norm", -1),
        ("max_ret_std_24", 0),
        ("min_prob_margin", 1.5),
        ("min_prob_margin", -0.1),
        ("cooldown_minutes", -5),
        ("max_open_positions", -1),
        ("max_position_pct", 0),
        ("max_position_pct", 150),
    ],
)
def test_nonsense_limits_are_rejected_naming_the_field(field: str, value: float) -> None:
    with pytest.raises(ValidationError) as excinfo:
        RiskPolicy(**{field: value})
    assert excinfo.value.errors()[0]["loc"] == (field,)
