from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from myassistant.ml.policy import (
    HeadToHead,
    ModelPolicy,
    NotComparable,
    RunSummary,
    decide_promotion,
    health_status,
)

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
POLICY = ModelPolicy()


def run(
    id_: int = 1,
    *,
    days_old: float = 1,
    auc: float | None = 0.6,
    ret: float | None = 0.02,
    status="succeeded",
):
    return RunSummary(
        id=id_, status=status, created_at=NOW - timedelta(days=days_old), test_auc=auc, test_return=ret
    )


def test_policy_defaults_follow_the_spec() -> None:
    assert POLICY.max_age_days == 7 and POLICY.retrain_if_auc_below == 0.55 and POLICY.min_train_rows == 200


@pytest.mark.parametrize(
    "summary, status, words",
    [
        (None, "missing", "no model"),
        (run(days_old=8), "stale", "8.0 days old"),
        (run(days_old=2, auc=0.52), "weak", "0.520 < retrain_if_auc_below 0.55"),
        (run(days_old=2, auc=None), "weak", "no test AUC"),
        (run(days_old=2, auc=0.61), "ok", "test AUC 0.610"),
        (run(days_old=8, auc=0.2), "stale", "max_age_days 7"),
    ],
)
def test_health_status_names_the_reason(summary, status: str, words: str) -> None:
    health = health_status(summary, POLICY, NOW)
    assert health.status == status
    assert words in health.reason


def test_first_successful_run_is_promoted() -> None:
    decision = decide_promotion(run(2), None, POLICY, NOW)
    assert decision.promote and "no promoted model" in decision.reason


def test_a_worse_run_is_refused_with_both_figures() -> None:
    decision = decide_promotion(run(2, auc=0.58), run(1, auc=0.60), POLICY, NOW)
    assert not decision.promote
    assert "does not beat current run 1" in decision.reason and "0.5800 vs 0.6000" in decision.reason


def test_a_better_auc_wins_even_with_a_lower_return() -> None:
    assert decide_promotion(run(2, auc=0.62, ret=-0.1), run(1, auc=0.60, ret=0.3), POLICY, NOW).promote


def test_equal_auc_falls_back_to_the_backtest_return() -> None:
    assert decide_promotion(run(2, auc=0.6, ret=0.05), run(1, auc=0.6, ret=0.02), POLICY, NOW).promote
    assert not decide_promotion(run(2, auc=0.6, ret=0.01), run(1, auc=0.6, ret=0.02), POLICY, NOW).promote


def test_a_stale_current_model_is_replaced_even_by_a_worse_run() -> None:
    decision = decide_promotion(run(2, auc=0.5), run(1, auc=0.7, days_old=10), POLICY, NOW)
    assert decision.promote and "stale" in decision.reason


def test_a_failed_run_is_never_promoted_and_unknown_figures_rank_lowest() -> None:
    assert not decide_promotion(run(2, status="failed"), None, POLICY, NOW).promote
    assert not decide_promotion(run(2, auc=None), run(1, auc=0.51), POLICY, NOW).promote
    assert decide_promotion(run(2, auc=0.51), run(1, auc=None), POLICY, NOW).promote


def shared(candidate: float, current: float, *, returns=(0.01, 0.01)) -> HeadToHead:
    return HeadToHead(
        rows=480,
        start=NOW - timedelta(days=5),
        end=NOW - timedelta(days=1),
        candidate_auc=candidate,
        candidate_return=returns[0],
        current_auc=current,
        current_return=returns[1],
    )


def test_shared_rows_decide_over_each_runs_own_test_window() -> None:
    # on their own windows the candidate looks worse; on the same rows it is better, and vice versa
    promoted = decide_promotion(run(2, auc=0.56), run(1, auc=0.64), POLICY, NOW, shared(0.60, 0.55))
    assert promoted.promote and "on the same 480 out-of-sample rows" in promoted.reason
    assert promoted.comparison == {
        "basis": "shared_rows",
        "rows": 480,
        "start": (NOW - timedelta(days=5)).isoformat(),
        "end": (NOW - timedelta(days=1)).isoformat(),
        "candidate": {"auc": 0.60, "total_return": 0.01},
        "current": {"auc": 0.55, "total_return": 0.01},
    }
    refused = decide_promotion(run(2, auc=0.70), run(1, auc=0.60), POLICY, NOW, shared(0.57, 0.58))
    assert not refused.promote and "0.5700 vs 0.5800" in refused.reason


def test_shared_rows_tie_on_auc_goes_to_the_backtest_return() -> None:
    tie = shared(0.6, 0.6, returns=(0.03, 0.02))
    assert decide_promotion(run(2), run(1), POLICY, NOW, tie).promote
    assert not decide_promotion(run(2), run(1), POLICY, NOW, shared(0.6, 0.6, returns=(0.0, 0.02))).promote


def test_without_shared_rows_the_reason_says_why_and_which_figures_were_used() -> None:
    decision = decide_promotion(
        run(2, auc=0.62), run(1, auc=0.60), POLICY, NOW, NotComparable("current run 1 records no test window")
    )
    assert decision.promote and "each on its own test window (current run 1 records no test window)" in (
        decision.reason
    )
    assert decision.comparison is not None and decision.comparison["basis"] == "own_test_windows"
    assert decision.comparison["candidate"] == {"auc": 0.62, "total_return": 0.02}


def test_a_stale_current_run_is_replaced_whatever_the_shared_rows_say() -> None:
    decision = decide_promotion(run(2), run(1, days_old=9), POLICY, NOW, shared(0.4, 0.9))
    assert decision.promote and "stale" in decision.reason and decision.comparison is None
