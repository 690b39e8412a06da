"""Two workers, each in its own thread with its own engine and event loop, drain the same
outbox at the same time: on PostgreSQL the claims use FOR UPDATE SKIP LOCKED, on SQLite a
compare-and-set under BEGIN IMMEDIATE; either way no row is sent twice and each channel still
gets its notices in order."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter

import pytest

from bot.notify import Delivered, DeliveryWorker, OutboxRow
from bot.store import Store, open_store

CHANNELS = 60


@pytest.fixture(params=["sqlite", "postgresql"])
def shared(request, tmp_path, clock) -> tuple[Store, str]:
    """A migrated store and its URL, for other threads to open their own engines on."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'shared.db'}"
        store = open_store(url, now=clock)
        store.upgrade()
    else:
        url = request.getfixturevalue("pg_session_url")
        store = request.getfixturevalue("pg_store")
    yield store, url
    store.close()


class SharedSink:
    """Thread-safe recording sink; a tiny await in send lets the two workers interleave."""

    channel_interval_s = 0.0

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.posts: list[tuple[str, str, str, str | None, str]] = []

    async def send(self, row: OutboxRow) -> Delivered:
        await asyncio.sleep(0.002)
        with self.lock:
            mid = f"m{len(self.posts) + 1}"
            self.posts.append((row.dedupe_key, row.channel, row.notice_kind, row.thread_id,
                               threading.current_thread().name))
        return Delivered(mid)

    async def find_existing(self, row: OutboxRow) -> Delivered | None:
        return None  # no crash here: reconcile is never needed


def test_two_workers_never_send_a_row_twice(shared: tuple[Store, str]) -> None:
    store, url = shared
    for i in range(CHANNELS):
        store.subscribe("slack", "T1", f"C{i:03d}", "all")
    inc = store.open_incident("outage:openai", "outage", title="down")
    store.update_incident(inc.id, reason="new evidence")
    store.resolve_incident(inc.id)
    assert store.outbox_pending_count() == 3 * CHANNELS

    sink = SharedSink()
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def run(name: str) -> None:
        store = open_store(url)
        try:
            worker = DeliveryWorker(store, {"slack": sink}, worker_id=name, concurrency=10)
            start.wait(timeout=10)

            async def loop() -> None:
                for _ in range(200):
                    await worker.drain()
                    if store.outbox_pending_count() == 0:
                        return
                    await asyncio.sleep(0.001)

            asyncio.run(loop())
        except BaseException as exc:  # surface in the main thread
            errors.append(exc)
        finally:
            store.close()

    threads = [threading.Thread(target=run, args=(f"worker-{n}",), name=f"worker-{n}")
               for n in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors

    copies = Counter(key for key, *_ in sink.posts)
    assert len(copies) == 3 * CHANNELS and set(copies.values()) == {1}
    by_worker = Counter(name for *_, name in sink.posts)
    assert by_worker["worker-1"] > 0 and by_worker["worker-2"] > 0, by_worker
    for i in range(CHANNELS):
        notices = [kind for _, ch, kind, _, _ in sink.posts if ch == f"C{i:03d}"]
        assert notices == ["opened", "updated", "resolved"]
    assert store.outbox_counts() == {"sent": 3 * CHANNELS}
    # every row went through exactly one attempt
    assert all(len(store.attempts_of(r.id)) == 1 for r in store.outbox_rows())


def test_concurrent_claims_are_disjoint(shared: tuple[Store, str]) -> None:
    store, url = shared
    """Claim racing claim, from two connections: every row goes to exactly one worker."""
    for i in range(200):
        store.subscribe("slack", "T1", f"C{i:03d}", "all")
    store.open_incident("outage:openai", "outage", title="down")
    step = threading.Barrier(2, timeout=30)
    claimed: dict[str, list[int]] = {"a": [], "b": []}
    empty: dict[str, bool] = {}

    def run(name: str) -> None:
        """Claim in lockstep with the other thread, so every step is a real race."""
        store = open_store(url)
        try:
            while True:
                rows = store.claim_outbox(name, platforms=["slack"], limit=7)
                claimed[name].extend(row.id for row, _ in rows)
                empty[name] = not rows
                step.wait()
                done = all(empty.values())
                step.wait()
                if done:
                    return
        finally:
            store.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in claimed]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    a, b = set(claimed["a"]), set(claimed["b"])
    assert not a & b
    assert len(a | b) == 200 and len(claimed["a"]) + len(claimed["b"]) == 200
    assert a and b  # both really took part
    owners = {r.id: r.locked_by for r in store.outbox_rows()}
    assert all(owners[i] == "a" for i in a) and all(owners[i] == "b" for i in b)
