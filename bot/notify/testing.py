"""Test and benchmark helper: drain the outbox to quiet on a virtual clock.

Shipped in the package (like ``bot.store.testing``) so every sink's tests settle an outbox the
same way: drain, jump the fake clock to the next due row (backoff, Retry-After, channel pacing),
repeat — no real waiting.
"""

from __future__ import annotations

from typing import Any

from bot.notify.worker import DeliveryWorker, DrainResult


async def drain_until_quiet(worker: DeliveryWorker, store: Any, clock: Any,
                            rounds: int = 50) -> DrainResult:
    """Drain until no row of the worker's platforms is due any more; ``clock`` is a FakeClock."""
    total = DrainResult()
    for _ in range(rounds):
        total += await worker.drain()
        due = store.next_outbox_due(list(worker.sinks))
        if due is None:
            return total
        clock.t = max(clock.t, due)
    raise AssertionError("outbox did not settle")
