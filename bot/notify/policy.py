"""The one retry policy for every sink: exponential backoff with jitter, Retry-After honoured.

Sinks only classify failures (SendError.retryable / retry_after / status); this module alone
decides when to try again and when to give up, so Slack, Discord and the shell behave alike.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.errors import SendError
from bot.notify.model import Decision, Reason


@dataclass(frozen=True)
class RetryPolicy:
    """When to retry a failed send.

    * not retryable → dead-lettered at once;
    * rate limited (HTTP 429) → retry after the platform's Retry-After; such attempts do not
      count toward ``max_attempts`` (nothing was wrong with the notice);
    * any notice still failing ``max_age`` after it was queued is given up (a stale alert is
      worse than none, and this bounds rate-limit and reconcile loops);
    * other retryable failures → ``base_s * 2**(n-1)`` (capped at ``max_delay_s``) with "equal
      jitter" (half fixed, half random), or Retry-After when given; dead after ``max_attempts``.

    Retry-After gets only a small jitter (``retry_after_jitter`` of it): the platform already
    said when, and a large spread would make a rate-limited fan-out slower than the limit.
    """

    max_attempts: int = 8
    base_s: float = 2.0
    max_delay_s: float = 600.0
    retry_after_jitter: float = 0.05
    max_age: timedelta = timedelta(hours=24)

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.base_s <= 0 or self.max_delay_s < self.base_s:
            raise ValueError(f"bad RetryPolicy: {self}")

    def delay_s(self, attempt: int, retry_after: float | None, rand: float) -> float:
        if retry_after is not None and retry_after >= 0:
            return retry_after * (1.0 + self.retry_after_jitter * rand)
        backoff = min(self.max_delay_s, self.base_s * 2.0 ** max(0, attempt - 1))
        return float(backoff * (0.5 + 0.5 * rand))

    def decide(self, *, attempt: int, error: SendError, created_at: datetime, now: datetime,
               rand: Callable[[], float]) -> Decision:
        """``attempt`` counts this one (1 for the first send)."""
        detail = str(error) or type(error).__name__
        if error.status is not None:
            detail = f"HTTP {error.status}: {detail}" if str(error.status) not in detail \
                else detail
        if not error.retryable:
            return Decision("dead", Reason.DEAD, f"not retryable: {detail}")
        rate_limited = error.status == 429
        if now - created_at > self.max_age:
            return Decision("dead", Reason.DEAD, f"still failing after {self.max_age}: {detail}")
        if not rate_limited and attempt >= self.max_attempts:
            return Decision("dead", Reason.DEAD, f"gave up after {attempt} attempts: {detail}")
        delay = self.delay_s(attempt, error.retry_after, rand())
        # 4xx means the platform refused the request: nothing was posted. Anything else (5xx,
        # timeouts, connection resets: status unknown) may have been posted: reconcile first.
        maybe_sent = error.status is None or error.status >= 500
        return Decision("retry", Reason.RETRY, f"{detail} (retry in {delay:.1f}s)",
                        next_attempt_at=now + timedelta(seconds=delay), maybe_sent=maybe_sent,
                        refund=rate_limited)
