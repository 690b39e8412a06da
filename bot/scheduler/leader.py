"""Leader election: with PostgreSQL, exactly one replica schedules.

The leader holds a session-level ``pg_try_advisory_lock`` on a dedicated connection; the lock
lives exactly as long as that connection, so when the leader dies (or its connection drops) the
server releases it and another replica's next try wins. SQLite means one process: always leader.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

log = logging.getLogger(__name__)

LOCK_KEY = 0x50_4A_B0_7  # "sora-bot" scheduler lock; any fixed bigint


async def always_leader(on_elected: Callable[[], Awaitable[None]], on_lost: Callable[[], Awaitable[None]],
                        stop: asyncio.Event) -> None:
    await on_elected()
    await stop.wait()
    await on_lost()


class LeaderElector:
    def __init__(self, engine: Engine, *, retry_s: float = 5.0, keepalive_s: float = 5.0,
                 key: int = LOCK_KEY) -> None:
        self.engine = engine
        self.retry_s = retry_s
        self.keepalive_s = keepalive_s
        self.key = key
        self.is_leader = False

    def _try_lock(self) -> Connection | None:
        conn = self.engine.connect()
        try:
            got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}).scalar()
            conn.commit()
        except Exception:
            conn.close()
            raise
        if got:
            return conn
        conn.close()
        return None

    @staticmethod
    def _alive(conn: Connection) -> None:
        conn.execute(text("SELECT 1")).scalar()
        conn.commit()

    async def run(self, on_elected: Callable[[], Awaitable[None]],
                  on_lost: Callable[[], Awaitable[None]], stop: asyncio.Event) -> None:
        """Loop until ``stop``: try to lead; while leading, keep the connection alive."""
        while not stop.is_set():
            try:
                conn = await asyncio.to_thread(self._try_lock)
            except Exception as exc:
                log.warning("leader election: database unavailable: %s", type(exc).__name__)
                conn = None
            if conn is None:
                try:
                    await asyncio.wait_for(stop.wait(), self.retry_s)
                except TimeoutError:
                    pass
                continue
            self.is_leader = True
            log.info("this replica is the scheduler leader")
            await on_elected()
            try:
                while not stop.is_set():
                    try:
                        await asyncio.wait_for(stop.wait(), self.keepalive_s)
                    except TimeoutError:
                        pass
                    if stop.is_set():
                        break
                    try:
                        await asyncio.to_thread(self._alive, conn)
                    except Exception as exc:
                        log.warning("leader lost its lock connection: %s", type(exc).__name__)
                        break
            finally:
                self.is_leader = False
                await on_lost()
                try:
                    await asyncio.to_thread(conn.close)
                except Exception:
                    pass


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

    def _try_lock(self) -> bool:
        import fcntl
        import os

        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def _unlock(self) -> None:
        import os

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
            self.is_leader = False
            await on_lost()
            self._unlock()
