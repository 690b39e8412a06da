"""The page watcher classifies every failed poll in one word and ends every poll by an overall
deadline: a page that drips a byte at a time (issue 12, item 6) ends as ``timeout`` and the
next poll, once the page is fixed, reads it again. Real loopback sockets throughout."""

from __future__ import annotations

import time

from bot import connectivity as conn
from bot.status_page import StatusWatcher
from tests.probes.loopback import LoopbackServer, closed_port

PAGE = b'{"status": {"indicator": "none"}, "components": [], "incidents": []}'


def watcher(base: str, **kw: float) -> StatusWatcher:
    return StatusWatcher(base + "/api/v2/summary.json", timeout=kw.pop("timeout", 2), **kw)


async def test_closed_port_is_refused() -> None:
    snap = await watcher(f"http://127.0.0.1:{closed_port()}").poll()
    assert (snap.ok, snap.indicator, snap.failure) == (False, "unknown", conn.REFUSED)
    assert "connection refused" in (snap.error or "")


async def test_unresolvable_host_is_dns() -> None:
    snap = await watcher("http://status.sora-bot.invalid").poll()
    assert (snap.ok, snap.failure) == (False, conn.DNS)


async def test_accept_and_close_is_reset() -> None:
    with LoopbackServer("close") as srv:
        snap = await watcher(srv.base_url).poll()
    assert (snap.ok, snap.failure) == (False, conn.RESET)


async def test_blackhole_is_timeout() -> None:
    with LoopbackServer("blackhole") as srv:
        snap = await watcher(srv.base_url, timeout=0.3).poll()
    assert (snap.ok, snap.failure) == (False, conn.READ_TIMEOUT)


async def test_garbage_and_http_errors_are_http() -> None:
    with LoopbackServer("ok", body=b"not json at all") as srv:
        w = watcher(srv.base_url)
        assert (await w.poll()).failure == conn.HTTP
        srv.status, srv.body = 503, b"{}"
        assert (await w.poll()).failure == conn.HTTP
        srv.status, srv.body = 200, PAGE
        snap = await w.poll()
    assert (snap.ok, snap.failure, snap.indicator) == (True, None, "operational")


async def test_slow_drip_ends_at_deadline_and_the_next_poll_recovers() -> None:
    with LoopbackServer("drip", body=PAGE, drip_s=0.1) as srv:
        w = watcher(srv.base_url, timeout=0.5, deadline=1.0)
        started = time.perf_counter()
        snap = await w.poll()
        elapsed = time.perf_counter() - started
        assert (snap.ok, snap.failure) == (False, conn.READ_TIMEOUT)
        assert 0.9 < elapsed < 2.0 and "timed out after 1 s" in (snap.error or "")
        srv.mode = "ok"  # the page is fixed
        fixed = await w.poll()
    assert (fixed.ok, fixed.indicator, fixed.failure) == (True, "operational", None)


async def test_failure_survives_a_store_round_trip(tmp_path) -> None:
    from bot.status_page import StatusSnapshot
    from bot.store import open_store

    store = open_store(f"sqlite:///{tmp_path / 's.db'}")
    store.upgrade()
    snap = await watcher(f"http://127.0.0.1:{closed_port()}").poll()
    store.add_status_snapshot(snap)
    row = store.latest_status_snapshot()
    assert row is not None and row.failure == conn.REFUSED
    assert StatusSnapshot.from_record(row).failure == conn.REFUSED
    store.close()
