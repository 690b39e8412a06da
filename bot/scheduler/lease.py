"""Leadership among PostgreSQL replicas: a lease row with a fencing term.

Why not only the advisory lock it replaces: a session lock lives as long as its connection on
the *server*, and the holder learns that it is gone only at its next keepalive. When the
leader's connection was terminated, the other replica took the lock at once while the old
leader went on scheduling for seconds: both ran jobs, both said ``leader=true``. A lease makes
the end of leadership a time both sides agree on, and a term makes late writes harmless:

* the row ``scheduler_lease`` says who holds it, until when (``expires_at``, from the
  database's own clock) and under which ``term`` (one more on every acquisition);
* a replica takes the lease only once it has expired; the holder renews it every
  ``ttl / 3``, each renewal bounded;
* the holder stops on its own clock, *before* the expiry the others go by: it counts from when
  it *sent* the renewal (the database stamps it later) and keeps a margin. At that instant
  ``is_leader`` turns false and the scheduler's runs are cancelled, whether or not the
  renewal ever answers (a stalled network, a stuck thread);
* every write a job makes checks the term in its own transaction (``bot.store.base.Fence``),
  so even a write from a thread the holder could not stop cannot commit once another replica
  has taken over.

Time line of a handover (ttl 15 s, margin 3 s), for a leader cut off at t0 just after a
renewal sent at t0: it stops at t0 + 12 s; the row expires at t0 + 15 s or later; the next
replica's try after that wins, with a new term.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

from bot.errors import StoreError
from bot.store import Store
from bot.store.base import Fence

log = logging.getLogger("bot.scheduler")

LEASE_NAME = "scheduler"
T = TypeVar("T")


def default_holder() -> str:
    """Unique per process: host, pid and a random part (pids repeat across containers)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class LeaseElector:
    """Run the scheduler while holding the lease; ``run`` has the interface of the other
    electors (``FileLockLeader``, ``always_leader``)."""

    def __init__(self, store: Store, *, ttl_s: float = 15.0, holder: str | None = None,
                 name: str = LEASE_NAME, clock: Callable[[], float] = time.monotonic) -> None:
        if ttl_s < 1.0:
            raise ValueError("the lease must last at least 1 s")
        self.store = store
        self.ttl_s = ttl_s
        self.name = name
        self.holder = holder or default_holder()
        self.renew_every_s = ttl_s / 3
        self.margin_s = max(0.5, ttl_s / 5)
        self._now = clock  # monotonic; also read from worker threads (the store's fence check)
        self._fence: Fence | None = None
        self._valid_until = 0.0

    # -- what the rest of the bot asks ---------------------------------------------------

    def _valid(self) -> bool:
        return self._now() < self._valid_until

    @property
    def is_leader(self) -> bool:
        """True only while the lease is ours by our own (earlier) deadline."""
        return self._fence is not None and self._fence.valid()

    @property
    def fence(self) -> Fence | None:
        return self._fence

    # -- the loop --------------------------------------------------------------------------

    @staticmethod
    async def _call(fn: Callable[..., T], *args: object, timeout: float) -> T:
        """One store call in a worker thread, given up on after ``timeout`` (the thread
        itself ends within DB_TIMEOUT: the store bounds every call)."""
        return await asyncio.wait_for(asyncio.to_thread(fn, *args), timeout)

    async def _try_acquire(self) -> tuple[int, float] | None:
        sent = self._now()
        try:
            term = await self._call(self.store.acquire_lease, self.name, self.holder,
                                    self.ttl_s, timeout=self.ttl_s)
        except (StoreError, TimeoutError) as exc:
            log.warning("leader election: cannot reach the database: %s",
                        str(exc) or type(exc).__name__)
            return None
        return None if term is None else (term, sent)

    async def _wait(self, stop: asyncio.Event, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), max(0.0, seconds))

    async def _hold(self, term: int, stop: asyncio.Event) -> str | None:
        """Renew until ``stop`` (returns None) or until the lease is lost (returns why)."""
        next_renew = self._now() + self.renew_every_s
        while True:
            await self._wait(stop, min(next_renew, self._valid_until) - self._now())
            if stop.is_set():
                return None
            remaining = self._valid_until - self._now()
            if remaining <= 0:
                return "the lease could not be renewed in time"
            sent = self._now()
            try:
                renewed = await self._call(self.store.renew_lease, self.name, self.holder, term,
                                           self.ttl_s, timeout=remaining)
            except TimeoutError:
                return "the lease could not be renewed in time (no answer from the database)"
            except StoreError as exc:
                log.warning("leader: lease renewal failed, retrying: %s", exc)
                next_renew = self._now() + min(1.0, self.renew_every_s)
                continue
            if not renewed:
                return "the lease expired or another replica holds it"
            self._valid_until = sent + self.ttl_s - self.margin_s
            next_renew = sent + self.renew_every_s

    async def run(self, on_elected: Callable[[], Awaitable[None]],
                  on_lost: Callable[[], Awaitable[None]], stop: asyncio.Event) -> None:
        """Until ``stop``: take the lease when it is free, lead while it lasts."""
        while not stop.is_set():
            acquired = await self._try_acquire()
            if acquired is None:
                await self._wait(stop, self.renew_every_s)
                continue
            term, sent = acquired
            self._valid_until = sent + self.ttl_s - self.margin_s
            self._fence = Fence(holder=self.holder, term=term, lease=self.name,
                                valid=self._valid)
            log.info("leader: this replica leads the scheduler (term %d, lease %g s)", term,
                     self.ttl_s)
            why: str | None = None
            try:
                await on_elected()
                why = await self._hold(term, stop)
            finally:
                if why is not None:  # past our own deadline already: fenced by the clock
                    self._valid_until = 0.0
                    log.warning("leader: stopped leading (term %d): %s", term, why)
                else:
                    log.info("leader: stopped leading (term %d): shutting down", term)
                # On a graceful stop the runs in flight finish (bounded by the scheduler's
                # stop) under the fence, which stays valid only as long as the lease would.
                await on_lost()
                self._valid_until = 0.0
                self._fence = None
                if why is None:
                    await self._release(term)

    async def _release(self, term: int) -> None:
        """Hand the lease over at once on a graceful stop (bounded; the expiry covers a miss)."""
        try:
            await self._call(self.store.release_lease, self.name, self.holder, term,
                             timeout=min(2.0, self.ttl_s))
        except (StoreError, TimeoutError) as exc:
            log.info("leader: could not release the lease (%s); it expires by itself",
                     str(exc) or type(exc).__name__)


__all__ = ["LeaseElector", "LEASE_NAME", "default_holder"]
