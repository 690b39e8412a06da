"""Group commit for the ingest API: concurrent requests share one transaction.

Why: a transaction per request makes the database's commit the ceiling of the whole API (on
SQLite, one writer at a time; on PostgreSQL, one WAL flush per request). Here every request
hands its events to one writer and waits; the writer takes everything that queued up while
its previous transaction ran and writes it in one. Each request gets its answer only once
*its* events are committed, so a 202 still means "stored", and a failed transaction fails
every request in it (each answers 503: all or nothing per request, as before).

Back-pressure, never a silent drop: when more than ``max_queued`` events wait, a request is
refused at once with :class:`Overloaded` (the web app answers 503 with Retry-After). The
writer has a thread of its own, so a stalled database holds up only the ingest writes (each
call is bounded by DB_TIMEOUT), never the threads the rest of the bot uses.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

log = logging.getLogger("bot.web")

MAX_BATCH_EVENTS = 2000  # one transaction writes at most this many events
MAX_QUEUED_EVENTS = 20_000  # past this, requests are refused (503) until the writer catches up

Write = Callable[[Sequence[dict[str, Any]]], object]


class Overloaded(Exception):
    """The writer is this far behind; retry after ``retry_after_s``."""

    def __init__(self, queued: int, retry_after_s: int = 1) -> None:
        super().__init__(f"{queued} events are waiting to be written")
        self.retry_after_s = retry_after_s


class GroupCommit:
    """``await submit(events)`` returns once the events are committed (or raises what the
    write raised, or :class:`Overloaded`)."""

    def __init__(self, write: Write, *, max_batch: int | None = None,
                 max_queued: int | None = None, name: str = "ingest-writer") -> None:
        self.write = write
        self.max_batch = MAX_BATCH_EVENTS if max_batch is None else max_batch
        self.max_queued = MAX_QUEUED_EVENTS if max_queued is None else max_queued
        self._queue: deque[tuple[list[dict[str, Any]], asyncio.Future[None]]] = deque()
        self._queued = 0
        self._runner: asyncio.Task[None] | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self.transactions = 0  # for tests and benchmarks: how many commits served the events

    @property
    def queued(self) -> int:
        return self._queued

    async def submit(self, events: list[dict[str, Any]]) -> None:
        if not events:
            return
        if self._queued and self._queued + len(events) > self.max_queued:
            raise Overloaded(self._queued)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        # Mark the outcome retrieved even when the caller went away (no "never retrieved").
        future.add_done_callback(lambda f: f.cancelled() or f.exception())
        self._queue.append((events, future))
        self._queued += len(events)
        if self._runner is None or self._runner.done():
            self._runner = asyncio.create_task(self._run(), name="ingest-group-commit")
        await asyncio.shield(future)  # a caller that goes away does not cancel the write

    def _take(self) -> list[tuple[list[dict[str, Any]], asyncio.Future[None]]]:
        batch = [self._queue.popleft()]
        size = len(batch[0][0])
        while self._queue and size + len(self._queue[0][0]) <= self.max_batch:
            item = self._queue.popleft()
            batch.append(item)
            size += len(item[0])
        return batch

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while self._queue:
            batch = self._take()
            events = [e for part, _ in batch for e in part]
            try:
                await loop.run_in_executor(self._executor, self.write, events)
            except Exception as exc:  # noqa: BLE001 - handed to every waiting request
                if len(batch) > 1 and not _is_store_error(exc):
                    # Not the database: maybe one request's events. Write them one by one so
                    # the others are not refused for it.
                    await self._one_by_one(loop, batch)
                else:
                    for _, future in batch:
                        _settle(future, exc)
            else:
                self.transactions += 1
                for _, future in batch:
                    _settle(future, None)
            finally:
                self._queued -= len(events)

    async def _one_by_one(self, loop: asyncio.AbstractEventLoop,
                          batch: list[tuple[list[dict[str, Any]], asyncio.Future[None]]]) -> None:
        for part, future in batch:
            try:
                await loop.run_in_executor(self._executor, self.write, part)
            except Exception as exc:  # noqa: BLE001
                _settle(future, exc)
            else:
                self.transactions += 1
                _settle(future, None)

    def close(self) -> None:
        if self._runner is not None and not self._runner.done():
            self._runner.cancel()
        self._executor.shutdown(wait=False, cancel_futures=True)


def _is_store_error(exc: BaseException) -> bool:
    from sqlalchemy.exc import SQLAlchemyError

    from bot.errors import StoreError

    return isinstance(exc, (StoreError, SQLAlchemyError))


def _settle(future: asyncio.Future[None], exc: BaseException | None) -> None:
    if future.done():
        return
    with contextlib.suppress(asyncio.InvalidStateError):
        if exc is None:
            future.set_result(None)
        else:
            future.set_exception(exc)


__all__ = ["GroupCommit", "Overloaded", "MAX_BATCH_EVENTS", "MAX_QUEUED_EVENTS"]
