"""Delivery through the outbox: exactly once per (incident, channel, notice) across failures,
Retry-After, dead letters, mutes, ordering and threads. Each test runs on SQLite and PostgreSQL
with an injected clock (no waiting) and an in-memory sink."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from fakesink import FakeSink

from bot.clock import FakeClock
from bot.errors import SendError
from bot.notify import DeliveryWorker, DrainResult, Reason, RetryPolicy
from bot.notify.testing import drain_until_quiet
from bot.store import Store

ZERO = lambda: 0.0  # noqa: E731  (jitter off: exact times)


def worker(store: Store, sink: FakeSink, clock: FakeClock, **kw) -> DeliveryWorker:
    kw.setdefault("rand", ZERO)
    return DeliveryWorker(store, {"slack": sink}, now=clock, worker_id="w1", **kw)


def channels(store: Store, n: int, kinds: str = "all") -> list[str]:
    names = [f"C{i}" for i in range(1, n + 1)]
    for name in names:
        store.subscribe("slack", "T1", name, kinds)
    return names


async def test_each_notice_once_across_failures(store: Store, clock: FakeClock) -> None:
    sink = FakeSink([SendError("internal error", retryable=True, status=503),
                     SendError("rate limited", retryable=True, retry_after=7, status=429),
                     "ambiguous",
                     SendError("bad gateway", retryable=True, status=502)])
    names = channels(store, 3)
    inc = store.open_incident("outage:openai", "outage", title="down")
    w = worker(store, sink, clock, concurrency=1)
    first = await w.drain()
    assert (first.sent, first.retried) == (0, 3)  # 503, 429, ambiguous (posted, then timeout)
    store.update_incident(inc.id, reason="severity changed", severity="critical")
    store.resolve_incident(inc.id)
    total = await drain_until_quiet(w, store, clock)
    assert total.dead == 0
    assert total.reconciled == 1  # the ambiguous one was found, not posted again
    assert sorted(sink.copies().values()) == [1] * 9
    assert {(p.channel, p.notice) for p in sink.posts} == {
        (c, k) for c in names for k in ("opened", "updated", "resolved")}
    assert store.outbox_counts() == {"sent": 9}


async def test_retry_after_is_honoured_exactly(store: Store, clock: FakeClock) -> None:
    sink = FakeSink([SendError("ratelimited", retryable=True, retry_after=7, status=429)])
    channels(store, 1)
    store.open_incident("outage:openai", "outage", title="down")
    w = worker(store, sink, clock)
    t0 = clock()
    assert (await w.drain()).retried == 1
    row = store.outbox_rows()[0]
    assert row.status == "pending" and row.next_attempt_at == t0 + timedelta(seconds=7)
    assert row.attempts == 0  # a rate limit does not count toward the dead-letter bound
    assert "retry scheduled: HTTP 429: ratelimited" in row.last_error
    attempt = store.attempts_of(row.id)[0]
    assert attempt.outcome == "retry" and attempt.finished_at == t0  # 429: surely not posted
    clock.advance(6.9)
    assert await w.drain() == DrainResult()
    clock.advance(0.1)
    assert (await w.drain()).sent == 1
    assert len(sink.posts) == 1


async def test_backoff_without_retry_after_and_ambiguous_marks(store: Store,
                                                              clock: FakeClock) -> None:
    sink = FakeSink([SendError("oops", retryable=True, status=500),
                     SendError("oops", retryable=True, status=500)])
    channels(store, 1)
    store.open_incident("outage:openai", "outage", title="down")
    w = worker(store, sink, clock, policy=RetryPolicy(base_s=4.0))
    t0 = clock()
    await w.drain()
    row = store.outbox_rows()[0]
    assert row.next_attempt_at == t0 + timedelta(seconds=2.0)  # 4 s * (0.5 + 0.5 * 0)
    assert row.attempts == 1
    # A 5xx may have been posted: the attempt stays unfinished, so the next try reconciles.
    assert store.attempts_of(row.id)[0].finished_at is None
    clock.t = row.next_attempt_at
    await w.drain()
    row = store.outbox_rows()[0]
    assert row.next_attempt_at == clock() + timedelta(seconds=4.0)  # doubled
    assert sink.find_calls == 1
    clock.t = row.next_attempt_at
    assert (await w.drain()).sent == 1
    assert sink.find_calls == 2 and len(sink.posts) == 1


async def test_dead_letter_after_bound_with_warning(store: Store, clock: FakeClock,
                                                    caplog) -> None:
    token = "xoxb-123456789-abcdefghijkl"
    sink = FakeSink([SendError(f"upstream failed for {token}", retryable=True, status=503)
                     for _ in range(10)])
    channels(store, 1)
    inc = store.open_incident("outage:openai", "outage", title="down")
    w = worker(store, sink, clock, policy=RetryPolicy(max_attempts=3))
    with caplog.at_level(logging.INFO, logger="bot.notify"):
        total = await drain_until_quiet(w, store, clock)
    assert (total.retried, total.dead, total.sent) == (2, 1, 0)
    row = store.outbox_rows()[0]
    assert row.status == "dead" and row.attempts == 3
    assert row.last_error.startswith("dead-lettered: gave up after 3 attempts")
    assert [a.outcome for a in store.attempts_of(row.id)] == ["retry", "retry", "dead"]
    dead_lines = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(dead_lines) == 1
    line = dead_lines[0].getMessage()
    assert f"incident {inc.id} outage:openai" in line and "slack:T1/C1" in line
    assert "dead-lettered" in line
    assert all(token not in r.getMessage() for r in caplog.records)
    assert token not in row.last_error and "[REDACTED]" in row.last_error
    assert store.next_outbox_due(["slack"]) is None  # dead rows are never retried


async def test_not_retryable_is_dead_at_once(store: Store, clock: FakeClock) -> None:
    sink = FakeSink([SendError("channel_not_found", retryable=False, status=404)])
    channels(store, 2)
    store.open_incident("outage:openai", "outage", title="down")
    total = await worker(store, sink, clock).drain()
    assert (total.dead, total.sent) == (1, 1)
    dead = store.outbox_rows(status="dead")[0]
    assert dead.last_error == "dead-lettered: not retryable: HTTP 404: channel_not_found"


async def test_muted_channel_is_suppressed_with_reason(store: Store, clock: FakeClock) -> None:
    sink = FakeSink()
    channels(store, 2)
    until = clock() + timedelta(minutes=30)
    store.mute("slack", "T1", "C1", until, by="U1")
    inc = store.open_incident("outage:openai", "outage", title="down")
    total = await worker(store, sink, clock).drain()
    assert (total.sent, total.suppressed) == (1, 1)
    assert [p.channel for p in sink.posts] == ["C2"]
    muted = store.outbox_rows(status="suppressed")[0]
    assert muted.channel == "C1"
    assert muted.last_error == f"muted: channel muted until {until.isoformat()}"
    assert store.attempts_of(muted.id) == []  # never reached the sink
    # After the mute ends the channel gets notices again.
    clock.advance(31 * 60)
    store.resolve_incident(inc.id)
    await worker(store, sink, clock).drain()
    assert [(p.channel, p.notice) for p in sink.posts[1:]] == [("C1", "resolved"),
                                                                ("C2", "resolved")]


async def test_order_and_threads(store: Store, clock: FakeClock) -> None:
    sink = FakeSink()
    channels(store, 2)
    inc = store.open_incident("outage:openai", "outage", title="down")
    store.update_incident(inc.id, reason="new evidence", detail="more 503s")
    store.resolve_incident(inc.id)
    await worker(store, sink, clock).drain()
    for channel in ("C1", "C2"):
        posts = [p for p in sink.posts if p.channel == channel]
        assert [p.notice for p in posts] == ["opened", "updated", "resolved"]
        opened = posts[0]
        assert opened.thread_id is None
        assert [p.thread_id for p in posts[1:]] == [opened.message_id] * 2
    rows = store.outbox_rows(incident_id=inc.id)
    assert all(r.thread_id == rows[0].platform_message_id for r in rows if r.channel == "C1"
               and r.notice_kind != "opened")


async def test_update_waits_for_its_opened_notice(store: Store, clock: FakeClock) -> None:
    sink = FakeSink([SendError("slow down", retryable=True, retry_after=30, status=429)])
    channels(store, 1)
    inc = store.open_incident("outage:openai", "outage", title="down")
    store.update_incident(inc.id, reason="severity changed", severity="critical")
    w = worker(store, sink, clock)
    assert (await w.drain()).retried == 1
    clock.advance(10)
    assert await w.drain() == DrainResult()  # the update does not overtake 'opened'
    assert sink.posts == []
    clock.advance(20)
    await w.drain()
    assert [p.notice for p in sink.posts] == ["opened", "updated"]
    assert sink.posts[1].thread_id == sink.posts[0].message_id


async def test_channel_interval_paces_a_channel(store: Store, clock: FakeClock) -> None:
    sink = FakeSink()
    sink.channel_interval_s = 1.0
    channels(store, 1)
    inc = store.open_incident("outage:openai", "outage", title="down")
    store.resolve_incident(inc.id)
    w = worker(store, sink, clock)
    assert (await w.drain()).sent == 1
    assert store.next_outbox_due(["slack"]) == clock() + timedelta(seconds=1)
    clock.advance(1)
    assert (await w.drain()).sent == 1


async def test_crashed_claim_is_reclaimed_after_lease(store: Store, clock: FakeClock) -> None:
    """A worker that claimed rows and died: another takes them once the lease has run out."""
    sink = FakeSink()
    channels(store, 2)
    store.open_incident("outage:openai", "outage", title="down")
    claimed = store.claim_outbox("dead-worker", platforms=["slack"], lease_s=60)
    assert len(claimed) == 2
    # dead-worker had started sending row 1 (attempt committed) but had not posted it.
    assert store.begin_attempt(claimed[0][0].id, "dead-worker") is not None
    w = worker(store, sink, clock)
    assert await w.drain() == DrainResult()  # lease still held
    clock.advance(61)
    total = await w.drain()
    assert total.sent == 2 and total.reconciled == 0
    assert sink.find_calls == 1  # only the row with an unfinished attempt was checked
    assert sorted(sink.copies().values()) == [1, 1]


async def test_on_outcome_and_registry(store: Store, clock: FakeClock) -> None:
    from bot.notify import register_sink, registered_sinks, unregister_sink

    seen: list[tuple[str, str]] = []
    sink = FakeSink()
    register_sink("slack", sink)
    try:
        channels(store, 1)
        store.open_incident("outage:openai", "outage", title="down")
        w = DeliveryWorker(store, now=clock, on_outcome=lambda p, o: seen.append((p, o)))
        assert registered_sinks()["slack"] is sink
        await w.drain()
    finally:
        unregister_sink("slack")
    assert seen == [("slack", "sent")]
    with pytest.raises(TypeError, match="not a Sink"):
        register_sink("discord", object())  # type: ignore[arg-type]


async def test_rows_of_platforms_without_a_sink_wait(store: Store, clock: FakeClock) -> None:
    store.subscribe("discord", "G1", "C1", "all")
    store.open_incident("outage:openai", "outage", title="down")
    assert await worker(store, FakeSink(), clock).drain() == DrainResult()
    assert store.outbox_rows()[0].status == "pending"


async def test_release_on_shutdown(store: Store, clock: FakeClock) -> None:
    channels(store, 2)
    store.open_incident("outage:openai", "outage", title="down")
    w = worker(store, FakeSink(), clock)
    claimed = store.claim_outbox("w1", platforms=["slack"])
    store.begin_attempt(claimed[0][0].id, "w1")
    assert await w.release() == 1  # the one not in flight
    assert sorted(r.status for r in store.outbox_rows()) == ["pending", "sending"]


def test_reasons_are_the_documented_values() -> None:
    assert {r.value for r in Reason} >= {"first notice", "duplicate", "muted", "sent",
                                         "retry scheduled", "dead-lettered"}


async def test_platform_wide_rate_limit_pauses_the_platform(store: Store,
                                                            clock: FakeClock) -> None:
    """429s on two channels in one round look platform-wide: the rest of the queue waits for
    Retry-After instead of collecting more 429s. A single channel's 429 pauses nothing."""
    limited = SendError("ratelimited", retryable=True, retry_after=3, status=429)
    sink = FakeSink([limited, limited])
    channels(store, 5)
    store.open_incident("outage:openai", "outage", title="down")
    w = worker(store, sink, clock, concurrency=2)  # rounds of two rows
    first = await w.drain()
    assert (first.retried, first.sent) == (2, 0)
    assert sink.calls == 2  # rows 3-5 were not tried against a rate-limited platform
    assert w.active_platforms() == []
    clock.advance(3)
    assert w.active_platforms() == ["slack"]
    assert (await w.drain()).sent == 5

    one = FakeSink([limited])
    store.subscribe("slack", "T1", "C9", "all")
    store.open_incident("outage:other", "outage", title="other")
    w2 = worker(store, one, clock, concurrency=10)
    result = await w2.drain()
    assert (result.retried, result.sent) == (1, 5) and w2.active_platforms() == ["slack"]


async def test_run_loop_with_injected_sleep(store: Store, clock: FakeClock) -> None:
    import asyncio

    sink = FakeSink([SendError("ratelimited", retryable=True, retry_after=5, status=429)])
    channels(store, 2)
    inc = store.open_incident("outage:openai", "outage", title="down")
    store.resolve_incident(inc.id)
    stop = asyncio.Event()
    waits: list[float] = []

    async def virtual_sleep(seconds: float) -> None:
        waits.append(seconds)
        clock.advance(seconds)
        if store.outbox_pending_count() == 0:
            stop.set()

    w = worker(store, sink, clock, sleep=virtual_sleep)
    await asyncio.wait_for(w.run(stop, idle_s=60), timeout=30)
    assert sorted(sink.copies().values()) == [1, 1, 1, 1]
    assert waits[0] == 5.0  # slept exactly until the Retry-After of the rate-limited row
