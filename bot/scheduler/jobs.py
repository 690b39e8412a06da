"""The scheduler: jobs as data, no overlapping runs, jitter, recorded runs, graceful stop.

Jobs live in APScheduler's memory job store, defined in code, so a new leader simply recreates
them (sharing a persistent job store between replicas double-fires; see the testing recipes).
Each run is recorded in ``job_runs`` so /healthz can report "last successful poll" ages.

Fencing: with a ``fence`` source (the elector's), a run starts only while the leadership is
valid, and runs under that fence (``bot.store.base.CURRENT_FENCE``): every write it makes,
in this task or in a worker thread, is checked against the lease in the database.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.store.base import CURRENT_FENCE, Fence

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobSpec:
    name: str
    func: Callable[[], Awaitable[Any]]
    interval_s: float
    jitter_s: float = 0.0
    run_at_start: bool = True


class Scheduler:
    """Wraps AsyncIOScheduler: ``max_instances=1`` + ``coalesce`` so a slow run never overlaps
    the next; every run's outcome goes to ``record(name, ok, error)``."""

    def __init__(self, jobs: list[JobSpec], *,
                 record: Callable[[str, bool, str | None], object] | None = None,
                 fence: Callable[[], Fence | None] | None = None) -> None:
        self.jobs = jobs
        self.record = record  # a blocking store call: run in a worker thread
        self.fence = fence
        self._sched: AsyncIOScheduler | None = None
        self._inflight: set[asyncio.Task[None]] = set()
        self._stopping: asyncio.Future[None] | None = None
        self.running = False

    async def _run(self, spec: JobSpec) -> None:
        fence = self.fence() if self.fence is not None else None
        if self.fence is not None and (fence is None or not fence.valid()):
            log.info("job %s not run: this replica no longer leads", spec.name)
            return
        task = asyncio.current_task()
        if task is not None:
            self._inflight.add(task)
        CURRENT_FENCE.set(fence)  # this run's task only (each run is a task of its own)
        term = "-" if fence is None else fence.term
        log.debug("job %s started (term %s)", spec.name, term)
        try:
            try:
                await spec.func()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a failing job is logged and recorded, never kills the loop
                log.warning("job %s failed: %s: %s", spec.name, type(exc).__name__, exc)
                await self._record(spec.name, False, f"{type(exc).__name__}: {exc}"[:500])
            else:
                await self._record(spec.name, True, None)
        except asyncio.CancelledError:  # shutdown or a lost lead cut a run short: expected
            log.info("job %s cancelled (%s)", spec.name,
                     "leadership ended" if fence is not None and not fence.valid()
                     else "shutdown")
        finally:
            log.debug("job %s ended (term %s)", spec.name, term)
            if task is not None:
                self._inflight.discard(task)

    async def _record(self, name: str, ok: bool, error: str | None) -> None:
        if self.record is None:
            return
        try:
            await asyncio.to_thread(self.record, name, ok, error)
        except Exception as exc:  # the DB may be briefly away; the next run records again
            log.warning("could not record job run %s: %s", name, exc)

    def start(self) -> None:
        from datetime import datetime

        sched = AsyncIOScheduler(timezone=UTC)
        for spec in self.jobs:
            sched.add_job(self._run, "interval", args=[spec], id=spec.name, name=spec.name,
                          seconds=spec.interval_s, jitter=spec.jitter_s or None,
                          max_instances=1, coalesce=True, replace_existing=True,
                          misfire_grace_time=max(1, int(spec.interval_s)),
                          next_run_time=datetime.now(UTC) if spec.run_at_start else None)
        sched.start()
        self._sched = sched
        self.running = True
        log.info("scheduler started: %s", ", ".join(f"{j.name}/{j.interval_s:g}s" for j in self.jobs))

    async def stop(self, timeout: float = 10.0) -> None:
        """Stop scheduling, then let in-flight runs finish (bounded), then cancel the rest.

        Safe to call twice at once (a shutdown and a lost lead both stop the scheduler): the
        second call waits for the first instead of shutting down a scheduler already gone.
        """
        if self._stopping is not None:
            await asyncio.shield(self._stopping)
            return
        sched = self._sched
        if sched is None:
            return
        self._stopping = asyncio.get_running_loop().create_future()
        try:
            sched.pause()  # no new runs while the current ones finish
            self.running = False
            pending = [t for t in self._inflight if not t.done()]
            if pending:
                _, still = await asyncio.wait(pending, timeout=timeout)
                for t in still:
                    t.cancel()
                if still:
                    await asyncio.gather(*still, return_exceptions=True)
            sched.shutdown(wait=False)
            self._sched = None
            log.info("scheduler stopped")
        finally:
            self._stopping.set_result(None)
            self._stopping = None
