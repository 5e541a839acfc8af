from __future__ import annotations

import pytest

from myassistant.core.retry import RetryPolicy


def test_backoff_doubles_up_to_the_cap_and_retry_after_wins_when_longer() -> None:
    policy = RetryPolicy(backoff_base_s=0.5, backoff_max_s=3.0)
    assert [policy.backoff(n) for n in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 3.0]
    assert policy.delay(1, retry_after=4.0) == 4.0 and policy.delay(3, retry_after=0.1) == 2.0


@pytest.mark.parametrize("attempt", [1, 2, 3])
def test_jitter_stays_within_its_fraction(attempt: int) -> None:
    policy = RetryPolicy(backoff_base_s=1.0, backoff_max_s=100.0, jitter=0.25)
    plain = RetryPolicy(backoff_base_s=1.0, backoff_max_s=100.0).backoff(attempt)
    waits = [policy.backoff(attempt) for _ in range(200)]
    assert all(0.75 * plain <= w <= 1.25 * plain for w in waits) and len(set(waits)) > 1
