"""The scheduler: jobs as data, no overlapping runs, jitter, recorded runs, graceful stop.

Jobs live in APScheduler's memory job store, defined in code, so a new leader simply recreates
them (sharing a persistent job store between replicas double-fires; see the testing recipes).
Each run is recorded in ``job_runs`` so /healthz can report "last successful poll" ages.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

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

    def __init__(self, jobs: list[JobSpec], *, record: Callable[[str, bool, str | None], object] | None = None) -> None:
        self.jobs = jobs
        self.record = record
        self._sched: AsyncIOScheduler | None = None
        self._inflight: set[asyncio.Task[None]] = set()
        self._stopping: asyncio.Future[None] | None = None
        self.running = False

    async def _run(self, spec: JobSpec) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._inflight.add(task)
        try:
            await spec.func()
        except asyncio.CancelledError:  # shutdown cut a run short: expected, not an error
            log.info("job %s cancelled at shutdown", spec.name)
            return
        except Exception as exc:  # a failing job is logged and recorded, never kills the loop
            log.warning("job %s failed: %s: %s", spec.name, type(exc).__name__, exc)
            self._record(spec.name, False, f"{type(exc).__name__}: {exc}"[:500])
        else:
            self._record(spec.name, True, None)
        finally:
            if task is not None:
                self._inflight.discard(task)

    def _record(self, name: str, ok: bool, error: str | None) -> None:
        if self.record is None:
            return
        try:
            self.record(name, ok, error)
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
