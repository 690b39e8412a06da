"""The delivery worker: claims due outbox rows and runs them through the pipeline.

Crash safety, in order of events for one row:
  claim (status 'sending', lease) → attempt row committed → sink.send → mark sent.
A crash before the attempt row: the lease runs out and the row is simply sent. A crash after
it (maybe sent): the next worker finds the unfinished attempt and asks ``sink.find_existing``
before sending, so a channel gets each notice exactly once.

Every store call runs in a worker thread (``asyncio.to_thread``): the loop that delivers also
answers chat and HTTP, and a stalled database must hold up only the delivery round.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from bot.clock import Clock, utcnow
from bot.notify.model import Notice, OutboxRow, Reason, Sink
from bot.notify.pipeline import Pipeline
from bot.notify.policy import RetryPolicy
from bot.notify.sinks import registered_sinks
from bot.notify.stages import DedupStage, MuteStage, RecordStage, SendStage

log = logging.getLogger("bot.notify")


@dataclass(frozen=True)
class DrainResult:
    """What one drain did. ``sent`` includes ``reconciled`` (found already delivered)."""

    sent: int = 0
    retried: int = 0
    dead: int = 0
    suppressed: int = 0
    reconciled: int = 0

    def __add__(self, other: DrainResult) -> DrainResult:
        return DrainResult(self.sent + other.sent, self.retried + other.retried,
                           self.dead + other.dead, self.suppressed + other.suppressed,
                           self.reconciled + other.reconciled)

    @classmethod
    def of(cls, notices: list[Notice]) -> DrainResult:
        outcomes = [n.decision.outcome for n in notices if n.decision is not None]
        return cls(sent=outcomes.count("sent"), retried=outcomes.count("retry"),
                   dead=outcomes.count("dead"), suppressed=outcomes.count("suppressed"),
                   reconciled=sum(1 for n in notices if n.decision is not None
                                  and n.decision.reason is Reason.DUPLICATE))


# Rate limits hitting this many different channels of one platform in one round look
# platform-wide (a global or workspace limit): the worker then pauses that platform until the
# earliest Retry-After instead of spending the rest of the queue on more 429s.
PLATFORM_PAUSE_AFTER = 2


def default_worker_id() -> str:
    """Unique per process: two workers must never share an id (leases are per id)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class DeliveryWorker:
    """Drains the outbox through dedup → mute → send → record.

    ``sinks`` maps platform → Sink (default: the live registry of ``register_sink``); only rows
    of those platforms are claimed, so a replica without a Slack token leaves Slack rows to
    one that has it. ``now``, ``rand`` and ``sleep`` are injected for exact tests and for
    virtual-time benchmarks (``sleep``: how ``run`` waits between drains; default: real time,
    cut short by ``stop`` or ``wake()``).
    """

    def __init__(self, store: object, sinks: Mapping[str, Sink] | None = None, *,
                 now: Clock = utcnow, worker_id: str | None = None,
                 policy: RetryPolicy = RetryPolicy(), rand: Callable[[], float] = random.random,
                 concurrency: int = 50, lease_s: float = 60.0, send_timeout_s: float = 20.0,
                 on_outcome: Callable[[str, str], None] | None = None,
                 sleep: Callable[[float], Awaitable[object]] | None = None) -> None:
        # A round is one reconcile check plus one send per row, each bounded by send_timeout_s;
        # the lease must outlast it or another worker could take rows over mid-round.
        if 2 * send_timeout_s >= lease_s:
            raise ValueError("lease_s must be more than twice send_timeout_s")
        self.store = store
        self.sinks: Mapping[str, Sink] = registered_sinks() if sinks is None else sinks
        self.now = now
        self.worker_id = worker_id or default_worker_id()
        self.batch, self.lease_s = concurrency, lease_s
        self._sleep = sleep
        self._wake = asyncio.Event()
        self._paused: dict[str, datetime] = {}
        self.pipeline = Pipeline(
            dedup=DedupStage(store, self.sinks, policy, now=now, rand=rand,
                             concurrency=concurrency, timeout_s=send_timeout_s),
            mute=MuteStage(store, now=now),
            send=SendStage(store, self.sinks, policy, worker_id=self.worker_id, now=now,
                           rand=rand, concurrency=concurrency, send_timeout_s=send_timeout_s),
            record=RecordStage(store, self.sinks, worker_id=self.worker_id, now=now,
                               on_outcome=on_outcome),
        )

    async def drain(self, limit: int = 10_000) -> DrainResult:
        """Deliver what is due now (at most ``limit`` rows).

        Works in rounds of at most ``concurrency`` rows, at most one per channel (the claim
        takes only the head of each channel's queue), all sent concurrently.
        """
        total, done = DrainResult(), 0
        while done < limit:
            platforms = self.active_platforms()
            if not platforms:
                break
            claimed = await asyncio.to_thread(
                self.store.claim_outbox,  # type: ignore[attr-defined]
                self.worker_id, platforms=platforms, limit=min(self.batch, limit - done),
                lease_s=self.lease_s, now=self.now())
            if not claimed:
                break
            notices = [Notice(OutboxRow.from_model(row), reclaimed=reclaimed)
                       for row, reclaimed in claimed]
            await self.pipeline.run(notices)
            self._pause_rate_limited(notices)
            total += DrainResult.of(notices)
            done += len(notices)
        return total

    def active_platforms(self) -> list[str]:
        """Platforms with a sink that are not paused by a platform-wide rate limit."""
        now = self.now()
        return [p for p in self.sinks if self._paused.get(p, now) <= now]

    def _pause_rate_limited(self, notices: list[Notice]) -> None:
        limited: dict[str, list[Notice]] = {}
        for n in notices:
            if n.decision is not None and n.decision.refund:
                limited.setdefault(n.row.platform, []).append(n)
        for platform, hit in limited.items():
            if len({n.row.channel_key for n in hit}) >= PLATFORM_PAUSE_AFTER:
                until = min(n.decision.next_attempt_at for n in hit
                            if n.decision is not None and n.decision.next_attempt_at)
                self._paused[platform] = until
                log.info("outbox: %s is rate limiting %d channels at once; pausing it until %s",
                         platform, len(hit), until.isoformat())

    def wake(self) -> None:
        """Ask a running ``run`` loop to drain now (e.g. right after an incident change)."""
        self._wake.set()

    async def run(self, stop: asyncio.Event, *, idle_s: float = 1.0,
                  min_wait_s: float = 0.02) -> None:
        """Drain until ``stop`` is set; between drains wait until the next row is due (at most
        ``idle_s``) or ``wake()``. Waits are at least ``min_wait_s`` while rows are waiting, so
        retries scattered by jitter are sent in batches, not one wake-up each."""
        while not stop.is_set():
            self._wake.clear()  # a wake() during the drain below still cuts the wait short
            try:
                await self.drain()
                due = await asyncio.to_thread(self._next_due)
            except Exception as exc:  # the database may be briefly away; keep the loop alive
                log.error("outbox drain failed: %s", exc)
                due = None
            wait = idle_s if due is None else (due - self.now()).total_seconds()
            wait = max(min_wait_s, min(idle_s, wait))
            if wait > 0 and not self._wake.is_set():
                await self._wait(stop, wait)
        await self.release()

    def _next_due(self) -> datetime | None:
        """The next time a drain can do something: a row due on an active platform, or the end
        of a platform pause (with rows waiting behind it). Blocking (store reads)."""
        now = self.now()
        times = []
        active = self.active_platforms()
        if active:
            times.append(self.store.next_outbox_due(active))  # type: ignore[attr-defined]
        paused = [p for p in self.sinks if p not in active]
        if paused:
            waiting = self.store.next_outbox_due(paused)  # type: ignore[attr-defined]
            if waiting is not None:
                times.append(max(waiting, min(self._paused[p] for p in paused)))
        present = [t for t in times if t is not None]
        return max(now, min(present)) if present else None

    async def _wait(self, stop: asyncio.Event, seconds: float) -> None:
        if self._sleep is not None:  # injected (virtual) time
            await self._sleep(seconds)
            return
        waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
        try:
            await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waiters:
                w.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await w

    async def release(self) -> int:
        """Give back claimed rows not yet being sent (graceful shutdown)."""
        released = int(await asyncio.to_thread(
            self.store.release_claims, self.worker_id))  # type: ignore[attr-defined]
        if released:
            log.info("outbox: released %d claimed rows on shutdown", released)
        return released
