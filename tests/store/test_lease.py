"""The scheduler lease on PostgreSQL: database-clock expiry, terms, release, and fencing of
writes (issue 12 item 5). The elector's own deadline is tested with a renewal that never
answers, as on a stalled network."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from bot.scheduler.lease import LeaseElector
from bot.store.base import CURRENT_FENCE, Fence, LeaseLost


@pytest.fixture
def pg(request) -> Any:  # type: ignore[no-untyped-def]
    from bot.store.testing import empty_store

    st = empty_store(request.getfixturevalue("pg_session_url"))
    yield st
    st.close()


def test_one_holder_at_a_time_and_a_new_term_each_time(pg: Any) -> None:
    assert pg.acquire_lease("scheduler", "a", 30) == 1
    assert pg.acquire_lease("scheduler", "b", 30) is None  # a's lease runs
    assert pg.renew_lease("scheduler", "a", 1, 30) is True
    assert pg.renew_lease("scheduler", "b", 1, 30) is False
    assert pg.release_lease("scheduler", "a", 1) is True
    assert pg.acquire_lease("scheduler", "b", 30) == 2  # free at once after a release
    assert pg.renew_lease("scheduler", "a", 1, 30) is False  # a's term is over
    assert pg.lease("scheduler").holder == "b"


def test_a_lease_expires_by_the_database_clock(pg: Any) -> None:
    assert pg.acquire_lease("scheduler", "a", 1) == 1
    deadline = time.monotonic() + 10
    while (term := pg.acquire_lease("scheduler", "b", 30)) is None:
        assert time.monotonic() < deadline, "the lease never expired"
        time.sleep(0.1)
    assert term == 2
    assert pg.renew_lease("scheduler", "a", 1, 30) is False  # an expired lease is not renewed


def _as(fence: Fence | None, fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Call a store method in the context of a scheduler job under ``fence``."""
    token = CURRENT_FENCE.set(fence)
    try:
        return fn(*args, **kwargs)
    finally:
        CURRENT_FENCE.reset(token)


def test_writes_under_an_ended_term_are_refused(pg: Any) -> None:
    assert pg.acquire_lease("scheduler", "a", 30) == 1
    old = Fence(holder="a", term=1, lease="scheduler", valid=lambda: True)
    _as(old, pg.record_job_run, "probes", ok=True)  # a leads: its write goes through
    pg.release_lease("scheduler", "a", 1)
    assert pg.acquire_lease("scheduler", "b", 30) == 2
    # a still believes it leads (its clock says so), but the database knows the term is over
    with pytest.raises(LeaseLost, match="another replica leads now"):
        _as(old, pg.record_job_run, "status_poll", ok=True)
    assert pg.job_runs().keys() == {"probes"}  # nothing was written
    expired = Fence(holder="b", term=2, lease="scheduler", valid=lambda: False)
    with pytest.raises(LeaseLost, match="has ended"):  # its own deadline passed: no query
        _as(expired, pg.record_job_run, "status_poll", ok=True)
    current = Fence(holder="b", term=2, lease="scheduler", valid=lambda: True)
    _as(current, pg.record_job_run, "status_poll", ok=True)
    assert pg.job_runs().keys() == {"probes", "status_poll"}
    assert pg.lease("scheduler").holder == "b"


class StalledRenewals:
    """The store, with lease renewals that never answer (a cut network) once ``stall`` is set."""

    def __init__(self, store: Any) -> None:
        self._store = store
        self.stall = threading.Event()
        self.release = threading.Event()

    def renew_lease(self, *args: Any) -> bool:
        if self.stall.is_set():
            self.release.wait(30)
            return False
        return bool(self._store.renew_lease(*args))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


async def test_the_leader_stops_on_its_own_deadline_when_renewals_hang(pg: Any) -> None:
    store = StalledRenewals(pg)
    elector = LeaseElector(store, ttl_s=1.5, holder="a")  # type: ignore[arg-type]
    stop = asyncio.Event()
    elected, lost = asyncio.Event(), asyncio.Event()

    async def on_elected() -> None:
        elected.set()

    async def on_lost() -> None:
        lost.set()

    task = asyncio.create_task(elector.run(on_elected, on_lost, stop))
    try:
        await asyncio.wait_for(elected.wait(), 10)
        assert elector.is_leader and elector.fence is not None
        stalled_at = time.monotonic()
        store.stall.set()
        await asyncio.wait_for(lost.wait(), 10)
        took = time.monotonic() - stalled_at
        assert not elector.is_leader
        # stopped before the lease's expiry in the database (1.5 s after the last renewal)
        assert took < 1.5, took
        expires = pg.lease("scheduler").expires_at
        with pg.engine.connect() as conn:
            db_now = conn.exec_driver_sql("SELECT now()").scalar()
        assert db_now < expires  # the others cannot take over yet: no overlap
    finally:
        store.release.set()
        stop.set()
        await asyncio.wait_for(task, 30)
