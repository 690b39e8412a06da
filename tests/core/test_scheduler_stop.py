"""Scheduler.stop() under the exit race: a shutdown and a lost lead stop it at the same time.

Before the fix the second call found the APScheduler already gone after its first await and
raised ``AttributeError: 'NoneType' object has no attribute 'shutdown'``, which made
``sora-bot run`` exit 1 now and then under load.
"""

from __future__ import annotations

import asyncio

from bot.scheduler import JobSpec, Scheduler


async def test_two_concurrent_stops_wait_for_the_in_flight_run_and_do_not_raise() -> None:
    started, release = asyncio.Event(), asyncio.Event()
    finished: list[str] = []

    async def slow_job() -> None:
        started.set()
        await release.wait()
        finished.append("run")

    sched = Scheduler([JobSpec("slow", slow_job, 3600)])
    sched.start()
    await asyncio.wait_for(started.wait(), 10)
    first = asyncio.create_task(sched.stop(timeout=10))
    second = asyncio.create_task(sched.stop(timeout=10))
    await asyncio.sleep(0)  # both are now inside stop(), waiting for the run
    assert not first.done() and not second.done()
    release.set()
    await asyncio.wait_for(asyncio.gather(first, second), 10)
    assert finished == ["run"] and not sched.running
    await sched.stop()  # a third, later call is a no-op


async def test_stop_before_start_is_a_no_op() -> None:
    await Scheduler([]).stop()
