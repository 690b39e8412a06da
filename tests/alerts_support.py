"""Shared by the chat adapters' alert end-to-end tests: the scheduler's minute, run by hand."""

from __future__ import annotations

from bot.clock import FakeClock
from bot.monitor.service import MonitorService
from bot.notify import DeliveryWorker
from bot.service import CoreServices


async def scheduler_minute(services: CoreServices, monitor: MonitorService,
                           worker: DeliveryWorker, clock: FakeClock) -> None:
    """One scheduler minute: a probe round, evaluations every 5 s, outbox drains."""
    await services.run_probes()
    for _ in range(12):
        monitor.evaluate_and_apply()
        await worker.drain()
        clock.advance(5)
