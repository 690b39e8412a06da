"""The delivery stages. Each is a small class with one async ``process(notices)`` returning the
notices that go on; a stage that stops a notice sets its decision (with a reason) instead.

The order is written once, in bot.notify.pipeline. Store calls run in worker threads
(``asyncio.to_thread``), never on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from typing import Any, TypeVar

from bot.clock import Clock
from bot.errors import SendError
from bot.notify.model import Decision, Delivered, Notice, Reason, Sink
from bot.notify.policy import RetryPolicy

log = logging.getLogger("bot.notify")
T = TypeVar("T")

# Belt and braces: sinks must not put tokens in errors, and we still mask token shapes before
# anything is logged or stored.
_TOKENS = re.compile(r"(xox[a-z]-[A-Za-z0-9-]+|sk-[A-Za-z0-9_-]{8,}|(?i:bearer)\s+\S+|"
                     r"[A-Za-z0-9_-]{24}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,})")


def scrub(text: str) -> str:
    return _TOKENS.sub("[REDACTED]", text)


async def bounded(items: list[T], limit: int, fn: Callable[[T], Awaitable[None]]) -> None:
    """Run ``fn`` over items concurrently, at most ``limit`` at a time."""
    gate = asyncio.Semaphore(limit)

    async def one(item: T) -> None:
        async with gate:
            await fn(item)

    await asyncio.gather(*(one(item) for item in items))


class DedupStage:
    """Never send a notice twice. A row whose last attempt never finished (a crash between send
    and mark, or an ambiguous timeout) may already be in the channel: ask the sink
    (``find_existing``) and, if it is there, record it as sent instead of posting again."""

    def __init__(self, store: Any, sinks: Mapping[str, Sink], policy: RetryPolicy, *,
                 now: Clock, rand: Callable[[], float], concurrency: int,
                 timeout_s: float) -> None:
        self.store, self.sinks, self.policy = store, sinks, policy
        self.now, self.rand, self.concurrency = now, rand, concurrency
        self.timeout_s = timeout_s

    async def process(self, notices: list[Notice]) -> list[Notice]:
        # attempts == 0: no counted attempt, so none can be unfinished (only finished 429s are
        # refunded); no need to look. The others are looked up in one worker-thread hop.
        ids = [n.row.id for n in notices if n.row.attempts]
        found = await asyncio.to_thread(self._last_attempts, ids) if ids else {}
        await bounded(notices, self.concurrency, lambda n: self._check(n, found.get(n.row.id)))
        return [n for n in notices if n.decision is None]

    def _last_attempts(self, ids: list[int]) -> dict[int, Any]:
        return {i: self.store.last_attempt(i) for i in ids}

    async def _check(self, notice: Notice, last: Any) -> None:
        if last is None:
            notice.trail.append(Reason.RETRY_DUE if notice.row.attempts or notice.reclaimed
                                else Reason.FIRST_NOTICE)
            return
        if last.finished_at is not None:
            notice.trail.append(Reason.RETRY_DUE)
            return
        try:
            found = await asyncio.wait_for(
                self.sinks[notice.row.platform].find_existing(notice.row), self.timeout_s)
        except Exception as exc:  # SendError, timeout or a sink bug: we cannot tell
            error = exc if isinstance(exc, SendError) else SendError(
                f"reconcile: {type(exc).__name__}: {scrub(str(exc))[:200]}", retryable=True)
            # Whether it was posted is unknown: check again later, never post blind.
            decision = self.policy.decide(attempt=notice.row.attempts, error=error,
                                          created_at=notice.row.created_at, now=self.now(),
                                          rand=self.rand)
            if decision.outcome == "retry":
                decision = replace(decision, detail=f"reconcile failed: {decision.detail}",
                                   maybe_sent=True, refund=False)
            notice.decide(replace(decision, detail=scrub(decision.detail)))
            return
        if found is not None:
            notice.decide(Decision("sent", Reason.DUPLICATE, "already delivered (found by "
                                   "reconcile); not sent again", delivered=found))
        else:
            notice.trail.append(Reason.UNCONFIRMED)


class MuteStage:
    """A muted channel gets nothing until the mute ends; its notices are recorded as
    suppressed, with the mute's end in the reason."""

    def __init__(self, store: Any, *, now: Clock) -> None:
        self.store, self.now = store, now

    async def process(self, notices: list[Notice]) -> list[Notice]:
        going = []
        mutes = await asyncio.to_thread(self.store.active_mutes, self.now())
        for notice in notices:
            row = notice.row
            mute = mutes.get((row.platform, row.workspace, row.channel))
            if mute is None:
                going.append(notice)
            else:
                notice.decide(Decision("suppressed", Reason.MUTED,
                                       f"channel muted until {mute.until.isoformat()}"))
        return going


class SendStage:
    """Record the attempt (committed), then call the sink; classify the result with the one
    retry policy. Channels are sent concurrently (bounded); the claim gives at most one row per
    channel at a time, so each channel stays in order."""

    def __init__(self, store: Any, sinks: Mapping[str, Sink], policy: RetryPolicy, *,
                 worker_id: str, now: Clock, rand: Callable[[], float], concurrency: int,
                 send_timeout_s: float) -> None:
        self.store, self.sinks, self.policy = store, sinks, policy
        self.worker_id, self.now, self.rand = worker_id, now, rand
        self.concurrency, self.send_timeout_s = concurrency, send_timeout_s

    async def process(self, notices: list[Notice]) -> list[Notice]:
        # Every attempt is recorded (committed) before any sink is called, in row order, in
        # one worker-thread hop; then the channels are sent concurrently.
        await asyncio.to_thread(self._begin, notices)
        await bounded([n for n in notices if n.decision is None], self.concurrency, self._send)
        return notices

    def _begin(self, notices: list[Notice]) -> None:
        """Blocking: find each update's thread, then record its attempt."""
        for notice in notices:
            row = notice.row
            if row.notice_kind != "opened":
                parent = self.store.thread_parent(row.incident_id, row.platform, row.workspace,
                                                  row.channel)
                notice.row = row = replace(row, thread_id=parent)
            notice.attempt_id = self.store.begin_attempt(row.id, self.worker_id,
                                                         thread_id=row.thread_id, now=self.now())
            if notice.attempt_id is None:
                notice.decide(Decision("skip", Reason.LEASE_LOST, "claimed by another worker"))

    async def _send(self, notice: Notice) -> None:
        row = notice.row
        try:
            delivered = await asyncio.wait_for(self.sinks[row.platform].send(row),
                                               self.send_timeout_s)
        except SendError as exc:
            error = exc
        except TimeoutError:
            error = SendError(f"no answer within {self.send_timeout_s:g}s", retryable=True)
        except Exception as exc:  # a sink bug: unknown whether it posted; never crash the worker
            log.error("sink %s raised %s: %s", row.platform, type(exc).__name__,
                      scrub(str(exc))[:300])
            error = SendError(f"{type(exc).__name__}: {scrub(str(exc))[:200]}", retryable=True)
        else:
            if not isinstance(delivered, Delivered) or not delivered.message_id:
                error = SendError("sink returned no message id", retryable=True)
            else:
                notice.decide(Decision("sent", Reason.SENT, delivered=delivered))
                return
        attempt = row.attempts + 1
        decision = self.policy.decide(attempt=attempt, error=error, created_at=row.created_at,
                                      now=self.now(), rand=self.rand)
        notice.decide(replace(decision, detail=scrub(decision.detail)))


class RecordStage:
    """Store every decision (row state + attempt outcome + reason) and log it."""

    def __init__(self, store: Any, sinks: Mapping[str, Sink], *, worker_id: str, now: Clock,
                 on_outcome: Callable[[str, str], None] | None = None) -> None:
        self.store, self.sinks, self.worker_id, self.now = store, sinks, worker_id, now
        self.on_outcome = on_outcome

    async def process(self, notices: list[Notice]) -> list[Notice]:
        await asyncio.to_thread(self._record_all, notices)
        return notices

    def _record_all(self, notices: list[Notice]) -> None:
        """Blocking: one short transaction per notice, in order."""
        for notice in notices:
            self._record(notice)

    def _record(self, notice: Notice) -> None:
        row, d = notice.row, notice.decision
        if d is None:  # no stage decided: a bug; give the row back rather than lose it
            d = Decision("retry", Reason.RETRY, "no decision", next_attempt_at=self.now())
            notice.decide(d)
        if d.outcome == "skip":
            log.info("outbox %s %s: %s", row.id, row.channel_key, d.text())
            return
        where = (f"outbox {row.id} (incident {row.incident_id} {row.payload.get('key', '')} "
                 f"notice {row.seq} {row.notice_kind}) -> {row.channel_key}")
        if d.outcome == "sent":
            assert d.delivered is not None
            interval = float(getattr(self.sinks.get(row.platform), "channel_interval_s", 0.0))
            ok = self.store.mark_sent(
                row.id, self.worker_id, message_id=d.delivered.message_id,
                thread_id=d.delivered.thread_id or row.thread_id, attempt_id=notice.attempt_id,
                reason=d.text() if d.reason is Reason.DUPLICATE else None, now=self.now(),
                channel_interval_s=interval)
        elif d.outcome == "retry":
            assert d.next_attempt_at is not None
            ok = self.store.mark_retry(row.id, self.worker_id, next_attempt_at=d.next_attempt_at,
                                       error=d.text(), attempt_id=notice.attempt_id,
                                       maybe_sent=d.maybe_sent, refund=d.refund, now=self.now())
        elif d.outcome == "dead":
            ok = self.store.mark_dead(row.id, self.worker_id, error=d.text(),
                                      attempt_id=notice.attempt_id, now=self.now())
        else:
            ok = self.store.mark_suppressed(row.id, self.worker_id, reason=d.text())
        trail = ", ".join(str(r) for r in notice.trail)
        if not ok:
            log.warning("%s: lease lost before recording %s; another worker owns it now",
                        where, d.outcome)
            return
        level = logging.WARNING if d.outcome == "dead" else logging.INFO
        log.log(level, "%s: %s [%s]", where, d.text(), trail)
        if self.on_outcome is not None:
            self.on_outcome(row.platform, d.outcome)
