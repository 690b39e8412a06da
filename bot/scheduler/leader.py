"""Leader election: exactly one process schedules.

Three electors share one interface, ``run(on_elected, on_lost, stop)`` plus ``is_leader`` and
``fence`` (what the scheduler's jobs write under, see ``bot.store.base.Fence``):

* PostgreSQL replicas: :class:`bot.scheduler.lease.LeaseElector`, a lease row with a term;
* one SQLite file: :class:`FileLockLeader`, an exclusive ``flock`` (one host, so the kernel is
  the only authority needed: the lock cannot be lost while the process lives);
* an in-memory database: :func:`always_leader`.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable

from bot.store.base import Fence

log = logging.getLogger(__name__)


async def always_leader(on_elected: Callable[[], Awaitable[None]], on_lost: Callable[[], Awaitable[None]],
                        stop: asyncio.Event) -> None:
    await on_elected()
    await stop.wait()
    await on_lost()


class FileLockLeader:
    """SQLite means one scheduling process per database file: the leader holds an exclusive
    ``flock`` on ``<database>.leader``. The kernel drops the lock when the process dies, so a
    second ``sora-bot run`` on the same file serves commands and takes over scheduling then,
    instead of probing and alerting twice."""

    def __init__(self, path: str, *, retry_s: float = 5.0) -> None:
        self.path = path
        self.retry_s = retry_s
        self.is_leader = False
        self._fd: int | None = None
        self._fence = Fence(holder=f"pid {os.getpid()}", term=0, lease=None,
                            valid=lambda: self.is_leader)

    @property
    def fence(self) -> Fence | None:
        return self._fence if self.is_leader else None

    def _try_lock(self) -> bool:
        import fcntl

        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def _unlock(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None

    async def run(self, on_elected: Callable[[], Awaitable[None]],
                  on_lost: Callable[[], Awaitable[None]], stop: asyncio.Event) -> None:
        warned = False
        while not stop.is_set():
            if self._try_lock():
                break
            if not warned:
                log.warning("another sora-bot process schedules on this SQLite database (%s is "
                            "locked); this one serves commands and takes over if it stops",
                            self.path)
                warned = True
            try:
                await asyncio.wait_for(stop.wait(), self.retry_s)
            except TimeoutError:
                pass
        if stop.is_set():
            return
        self.is_leader = True
        try:
            await on_elected()
            await stop.wait()
        finally:
            await on_lost()  # runs in flight finish under the still-held lock
            self.is_leader = False
            self._unlock()
