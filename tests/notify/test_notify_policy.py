"""The one retry policy, as a table: (error, attempt, age) → outcome, delay, flags."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from bot.errors import SendError
from bot.notify import Reason, RetryPolicy

T0 = datetime(2026, 1, 1, tzinfo=UTC)
POLICY = RetryPolicy(max_attempts=4, base_s=2.0, max_delay_s=10.0,
                     max_age=timedelta(hours=1))

CASES = [
    # error, attempt, age_s, rand -> outcome, delay_s, maybe_sent, refund
    (SendError("x", retryable=False, status=404), 1, 0, 0.0, "dead", None, False, False),
    (SendError("x", retryable=True, status=503), 1, 0, 0.0, "retry", 1.0, True, False),
    (SendError("x", retryable=True, status=503), 1, 0, 1.0, "retry", 2.0, True, False),
    (SendError("x", retryable=True, status=503), 3, 0, 0.0, "retry", 4.0, True, False),
    (SendError("x", retryable=True, status=503), 4, 0, 0.0, "dead", None, False, False),
    (SendError("x", retryable=True, status=503, retry_after=30), 2, 0, 0.0, "retry", 30.0,
     True, False),
    (SendError("x", retryable=True), 3, 0, 1.0, "retry", 8.0, True, False),      # timeout
    (SendError("x", retryable=True, status=400), 1, 0, 0.0, "retry", 1.0, False, False),
    (SendError("x", retryable=True, status=429, retry_after=5), 1, 0, 0.0, "retry", 5.0,
     False, True),
    (SendError("x", retryable=True, status=429, retry_after=5), 1, 0, 1.0, "retry", 5.25,
     False, True),
    (SendError("x", retryable=True, status=429, retry_after=5), 99, 0, 0.0, "retry", 5.0,
     False, True),  # rate limits never exhaust max_attempts ...
    (SendError("x", retryable=True, status=429, retry_after=5), 1, 3601, 0.0, "dead", None,
     False, False),  # ... but a notice an hour old is given up
    (SendError("x", retryable=True, status=503), 20, 0, 0.0, "dead", None, False, False),
    (SendError("x", retryable=True, status=503), 2, 0, 0.0, "retry", 2.0, True, False),
]


@pytest.mark.parametrize("error, attempt, age_s, rand, outcome, delay, maybe_sent, refund", CASES)
def test_policy_table(error, attempt, age_s, rand, outcome, delay, maybe_sent, refund) -> None:
    now = T0 + timedelta(seconds=age_s)
    d = POLICY.decide(attempt=attempt, error=error, created_at=T0, now=now, rand=lambda: rand)
    assert d.outcome == outcome
    if outcome == "retry":
        assert d.reason is Reason.RETRY
        assert d.next_attempt_at == now + timedelta(seconds=delay)
        assert (d.maybe_sent, d.refund) == (maybe_sent, refund)
    else:
        assert d.reason is Reason.DEAD and d.next_attempt_at is None


def test_backoff_is_capped() -> None:
    assert POLICY.delay_s(30, None, 1.0) == 10.0


def test_bad_policy_fails_at_start() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)
