"""SlackSink: through the real outbox (DeliveryWorker + SQLite store) against the fake Web API.

One incident → one parent per subscribed channel, updates in its thread, one resolved; a muted
channel gets nothing; 429 storms and lost answers delay but never duplicate or drop.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from adapters.slack import blocks as bk
from adapters.slack.client import make_web_client
from adapters.slack.sink import EVENT_TYPE, SlackSink
from bot.clock import FakeClock, utcnow
from bot.errors import SendError
from bot.notify import DeliveryWorker, OutboxRow, Sink
from bot.notify.testing import drain_until_quiet
from bot.store import open_store
from tests.slack.fake_slack import FakeSlack

TEAM = "T111"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(utcnow())


@pytest.fixture
def store(tmp_path, clock) -> Iterator[Any]:
    st = open_store(f"sqlite:///{tmp_path / 'sora-bot.db'}", now=clock)
    st.upgrade()
    yield st
    st.close()


@pytest.fixture(autouse=True)
def channels(fake: FakeSlack) -> None:
    for i in range(1, 6):
        fake.add_channel(f"C{i}")


@pytest.fixture
def sink(fake: FakeSlack) -> SlackSink:
    return SlackSink(make_web_client(fake.bot_token, fake.api_url, retry_connection_errors=False))


def _worker(store: Any, sink: SlackSink, clock: FakeClock) -> DeliveryWorker:
    return DeliveryWorker(store, {"slack": sink}, now=clock, rand=lambda: 0.0)


def _open(store: Any) -> Any:
    return store.open_incident(
        "outage:openai", "outage", title="Sora API failing", severity="critical",
        summary="5 of 5 probes failed", detail="5 of 5 probes failed in 3 minutes",
        target="openai", fields=[{"name": "Error rate", "value": "100%"}],
        links=[{"title": "Status page", "url": "https://status.openai.com"}])


def _parents(fake: FakeSlack, channel: str) -> list[dict[str, Any]]:
    return [m for m in fake.posts(channel) if "thread_ts" not in m]


def _replies(fake: FakeSlack, channel: str, ts: str) -> list[dict[str, Any]]:
    return [m for m in fake.posts(channel) if m.get("thread_ts") == ts]


def _status_text(message: dict[str, Any]) -> str:
    [block] = [b for b in message["blocks"] if b.get("block_id") == bk.STATUS_BLOCK_ID]
    return block["elements"][0]["text"]


def test_slack_sink_is_a_notify_sink(sink: SlackSink):
    assert isinstance(sink, Sink) and sink.channel_interval_s == 1.0


async def test_lifecycle_one_parent_per_channel_updates_in_thread_resolved_edits_parent(
        fake: FakeSlack, store: Any, sink: SlackSink, clock: FakeClock):
    for channel in ("C1", "C2", "C3"):
        store.subscribe("slack", TEAM, channel, "all", "U1")
    store.mute("slack", TEAM, "C3", clock() + timedelta(hours=1), "U1")
    worker = _worker(store, sink, clock)

    incident = _open(store)
    await drain_until_quiet(worker, store, clock)
    parents = {c: _parents(fake, c) for c in ("C1", "C2")}
    for [parent] in parents.values():
        assert parent["metadata"]["event_type"] == EVENT_TYPE
        assert parent["metadata"]["event_payload"]["outbox_id"]
        assert "Sora API failing" in parent["blocks"][0]["text"]["text"]
        assert _status_text(parent).startswith("🔴 Open")
        actions = [b for b in parent["blocks"] if b["type"] == "actions"][0]
        assert [e["action_id"] for e in actions["elements"]] == [bk.ACTION_ACK, bk.ACTION_MUTE_1H]
        assert "<https://status.openai.com|Status page>" in str(parent["blocks"])
        assert parent["text"]
    assert fake.posts("C3") == []

    clock.advance(60)
    store.update_incident(incident.id, reason="severity changed", severity="error",
                          detail="3 of 5 probes failing")
    await drain_until_quiet(worker, store, clock)
    clock.advance(60)
    store.resolve_incident(incident.id, detail="all probes healthy for 5 minutes")
    await drain_until_quiet(worker, store, clock)

    for channel, [parent] in parents.items():
        ts = parent["ts"]
        replies = _replies(fake, channel, ts)
        assert [r["blocks"][0]["text"]["text"].split(":")[0] for r in replies] == \
            ["❌ Update", "✅ Resolved"]
        assert all(r["metadata"]["event_type"] == EVENT_TYPE for r in replies)
        assert len(fake.posts(channel)) == 3  # exactly: opened, updated, resolved
        [now_parent] = _parents(fake, channel)
        assert _status_text(now_parent).startswith("✅ Resolved")
        assert now_parent["blocks"][0]["text"]["text"] == "✅ Resolved: Sora API failing"
        assert not [b for b in now_parent["blocks"] if b["type"] == "actions"]
    updates = fake.calls_to("chat.update")
    assert len(updates) == 4  # one parent edit per channel per later notice
    assert fake.posts("C3") == []


async def test_parent_edit_keeps_who_acknowledged(fake: FakeSlack, store: Any, sink: SlackSink,
                                                  clock: FakeClock):
    store.subscribe("slack", TEAM, "C1", "all", "U1")
    worker = _worker(store, sink, clock)
    incident = _open(store)
    await drain_until_quiet(worker, store, clock)
    [parent] = _parents(fake, "C1")
    parent["blocks"] = bk.set_context_line(parent["blocks"], bk.ACK_BLOCK_ID,
                                           "✋ Acknowledged by <@U9>", raw=True)
    clock.advance(60)
    store.update_incident(incident.id, reason="new evidence", detail="still failing")
    await drain_until_quiet(worker, store, clock)
    [parent] = _parents(fake, "C1")
    assert "✋ Acknowledged by <@U9>" in str(parent["blocks"])
    assert _status_text(parent).startswith("🟠 Open, updated")


async def test_429_storm_delays_but_never_duplicates_or_drops(fake: FakeSlack, store: Any,
                                                             sink: SlackSink, clock: FakeClock):
    channels = [f"C{i}" for i in range(1, 6)]
    for channel in channels:
        store.subscribe("slack", TEAM, channel, "all", "U1")
    worker = _worker(store, sink, clock)
    fake.fail("chat.postMessage", status=429, retry_after=0, times=12)
    incident = _open(store)
    await drain_until_quiet(worker, store, clock)
    fake.fail("chat.postMessage", status=429, retry_after=0, times=7)
    clock.advance(60)
    store.update_incident(incident.id, reason="new evidence", detail="x")
    await drain_until_quiet(worker, store, clock)
    for channel in channels:
        [parent] = _parents(fake, channel)
        assert len(_replies(fake, channel, parent["ts"])) == 1
    attempts = len(fake.calls_to("chat.postMessage"))
    assert attempts == 2 * len(channels) + 12 + 7  # every 429 retried, each notice posted once


async def test_long_retry_after_is_left_to_the_outbox_schedule(fake: FakeSlack, store: Any,
                                                              sink: SlackSink, clock: FakeClock):
    store.subscribe("slack", TEAM, "C1", "all", "U1")
    worker = _worker(store, sink, clock)
    fake.fail("chat.postMessage", status=429, retry_after=30)
    _open(store)
    result = await worker.drain()
    assert result.retried == 1 and fake.posts("C1") == []
    due = store.next_outbox_due(["slack"])
    assert timedelta(seconds=29) < due - clock() <= timedelta(seconds=32)
    assert (await worker.drain()).sent == 0  # not due yet: Retry-After honoured
    clock.t = due
    assert (await worker.drain()).sent == 1
    assert len(_parents(fake, "C1")) == 1


@pytest.mark.parametrize("method", ["opened", "updated"])
async def test_lost_answer_is_reconciled_not_reposted(fake: FakeSlack, store: Any, sink: SlackSink,
                                                      clock: FakeClock, method: str):
    store.subscribe("slack", TEAM, "C1", "all", "U1")
    worker = _worker(store, sink, clock)
    incident = _open(store)
    if method == "updated":
        await drain_until_quiet(worker, store, clock)
        clock.advance(60)
        store.update_incident(incident.id, reason="new evidence", detail="x")
    fake.fail("chat.postMessage", status=500, applied=True)  # posted, but the answer is a 500
    await drain_until_quiet(worker, store, clock)
    assert len(fake.posts("C1")) == (1 if method == "opened" else 2)
    lookups = fake.calls_to("conversations.history" if method == "opened" else "conversations.replies")
    assert any(c.body.get("include_all_metadata") in (True, "true", "1") for c in lookups)


async def test_channel_not_found_is_dead_lettered_once(fake: FakeSlack, store: Any, sink: SlackSink,
                                                       clock: FakeClock):
    store.subscribe("slack", TEAM, "C1", "all", "U1")
    worker = _worker(store, sink, clock)
    fake.fail("chat.postMessage", error="channel_not_found")
    _open(store)
    result = await worker.drain()
    assert result.dead == 1
    assert len(fake.calls_to("chat.postMessage")) == 1
    assert store.next_outbox_due(["slack"]) is None


def _row(**kw: Any) -> OutboxRow:
    base = dict(id=7, dedupe_key="k7", incident_id=1, seq=1, notice_kind="opened", platform="slack",
                workspace=TEAM, channel="C1", payload={"title": "t", "notice": "opened",
                                                       "severity": "error", "incident_id": 1},
                thread_id=None, attempts=0, created_at=utcnow())
    base.update(kw)
    return OutboxRow(**base)


@pytest.mark.parametrize("setup, retryable, status, retry_after", [
    (dict(status=429, retry_after=45), True, 429, 45.0),
    (dict(status=503), True, 503, None),
    (dict(status=500, retry_after=2), True, 500, 2.0),
    (dict(error="channel_not_found"), False, 200, None),
    (dict(error="not_in_channel"), False, 200, None),
    (dict(error="invalid_auth"), False, 200, None),
    (dict(error="ratelimited"), True, 429, 1.0),
])
async def test_failures_are_classified_and_never_hold_the_token(fake: FakeSlack, sink: SlackSink,
                                                               setup, retryable, status, retry_after):
    fake.fail("chat.postMessage", **setup)
    with pytest.raises(SendError) as err:
        await sink.send(_row())
    e = err.value
    assert (e.retryable, e.status, e.retry_after) == (retryable, status, retry_after)
    assert fake.bot_token not in f"{e} {e!r} {e.args}"


async def test_connection_failure_is_retryable_and_tokenless():
    token = "xoxb-1234-secretsecretsecret"
    sink = SlackSink(make_web_client(token, "http://127.0.0.1:9/api/", timeout=2,
                                     retry_connection_errors=False))
    for call in (sink.send(_row()), sink.find_existing(_row())):
        with pytest.raises(SendError) as err:
            await call
        assert err.value.retryable and err.value.status is None
        assert token not in f"{err.value} {err.value!r}"


async def test_find_existing_matches_outbox_id_and_ignores_others(fake: FakeSlack, sink: SlackSink):
    await sink.send(_row(id=8, dedupe_key="k8"))
    assert await sink.find_existing(_row(id=7)) is None
    found = await sink.find_existing(_row(id=8, dedupe_key="k8"))
    [posted] = fake.posts("C1")
    assert found is not None and found.message_id == posted["ts"] == found.thread_id
    # a history without metadata (include_all_metadata missing) would not match: the call asks
    assert fake.calls_to("conversations.history")[-1].body["include_all_metadata"] in (True, "1", "true")


async def test_an_answer_without_ts_is_ambiguous_reconciled_and_never_stored_as_none(
        fake: FakeSlack, store: Any, sink: SlackSink, clock: FakeClock):
    """Slack said ok but the answer had no ``ts`` (a proxy, a truncated body): the notice may be
    posted, so it is reconciled by metadata, and its real ts is what the thread hangs on."""
    store.subscribe("slack", TEAM, "C1", "all", "U1")
    worker = _worker(store, sink, clock)
    fake.fail("chat.postMessage", omit="ts")
    incident = _open(store)
    await drain_until_quiet(worker, store, clock)
    [parent] = _parents(fake, "C1")
    [row] = store.outbox_rows()
    assert (row.status, row.platform_message_id, row.thread_id) == ("sent", parent["ts"], parent["ts"])
    clock.advance(60)
    store.update_incident(incident.id, reason="new evidence", detail="x")
    await drain_until_quiet(worker, store, clock)
    assert len(_replies(fake, "C1", parent["ts"])) == 1  # threaded under the real parent
    assert len(fake.posts("C1")) == 2
    with pytest.raises(SendError) as err:  # and directly: a retryable, ambiguous SendError
        fake.fail("chat.postMessage", omit="ts")
        await sink.send(_row(id=9, dedupe_key="k9"))
    assert err.value.retryable and err.value.status is None


@pytest.mark.parametrize("threaded", [False, True])
async def test_find_existing_reads_every_page(fake: FakeSlack, sink: SlackSink, threaded: bool):
    """Slack pages history and replies (and may return fewer than ``limit``): the notice is found
    on a later page, not missed because the first page did not hold it."""
    fake.page_size = 2
    parent = await sink.send(_row(id=1, dedupe_key="k1"))
    row = _row(id=8, dedupe_key="k8")
    if threaded:
        row = _row(id=8, dedupe_key="k8", seq=2, notice_kind="updated", thread_id=parent.message_id,
                   payload={"title": "t", "notice": "updated", "severity": "error", "incident_id": 1})
    async def chatter() -> None:  # the channel (or the thread) moves on
        for i in range(7):
            await sink.client.chat_postMessage(channel="C1", text=f"chat {i}",
                                               thread_ts=parent.message_id if threaded else None)

    if threaded:  # replies are read oldest first: ours comes after the chatter
        await chatter()
    sent = await sink.send(row)
    if not threaded:  # history is read newest first: ours comes before the chatter
        await chatter()
    assert await sink.find_existing(row) == sent
    method = "conversations.replies" if threaded else "conversations.history"
    assert len(fake.calls_to(method)) >= 4  # it walked the cursor
