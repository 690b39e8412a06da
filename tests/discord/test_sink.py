"""DiscordSink: through the real outbox (DeliveryWorker + SQLite store) against the fake REST.

One incident → one parent per subscribed channel, updates as replies plus an edit of the
parent, one resolved; a muted channel gets nothing; 429s and lost answers delay but never
duplicate or drop; failures are classified and never hold the token.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from adapters.discord import embeds as em
from adapters.discord.sink import ACTION_ACK, ACTION_MUTE_1H, DiscordSink, delivery_ref
from bot.clock import FakeClock, utcnow
from bot.errors import SendError
from bot.notify import DeliveryWorker, OutboxRow, Sink
from bot.notify.testing import drain_until_quiet
from bot.store import open_store
from tests.discord.fake_discord import BASE_MS, FakeDiscord, snowflake_at

# Real snowflakes, as Discord's ids are (the strict fake refuses anything else in a URL or body)
GUILD = str(snowflake_at(BASE_MS, 1))
C1, C2, C3, C4, C5 = (str(snowflake_at(BASE_MS + 60_000, i)) for i in range(1, 6))
CHANNELS = [C1, C2, C3, C4, C5]


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
def channels(fake: FakeDiscord) -> None:
    for channel in CHANNELS:
        fake.add_channel(channel)


@pytest.fixture
async def sink(fake: FakeDiscord) -> Any:
    s = DiscordSink(fake.token, fake.api_url, timeout=5)
    yield s
    await s.aclose()


def _worker(store: Any, sink: DiscordSink, clock: FakeClock) -> DeliveryWorker:
    return DeliveryWorker(store, {"discord": sink}, now=clock, rand=lambda: 0.0)


def _open(store: Any) -> Any:
    return store.open_incident(
        "outage:openai", "outage", title="Sora API failing", severity="critical",
        summary="5 of 5 probes failed", detail="5 of 5 probes failed in 3 minutes",
        target="openai", fields=[{"name": "Error rate", "value": "100%"}],
        links=[{"title": "Status page", "url": "https://status.openai.com"}])


def _parents(fake: FakeDiscord, channel: str) -> list[dict[str, Any]]:
    return [m for m in fake.posts(channel) if "message_reference" not in m]


def _replies(fake: FakeDiscord, channel: str, parent_id: str) -> list[dict[str, Any]]:
    return [m for m in fake.posts(channel)
            if (m.get("message_reference") or {}).get("message_id") == parent_id]


def _status(message: dict[str, Any]) -> str:
    value = em.field_value(message["embeds"][0], em.STATUS_FIELD)
    assert value is not None
    return value


def _ids(message: dict[str, Any]) -> list[str]:
    return [c["custom_id"] for row in message.get("components") or [] for c in row["components"]]


def test_discord_sink_is_a_notify_sink(sink: DiscordSink):
    assert isinstance(sink, Sink) and sink.channel_interval_s == 1.0


async def test_lifecycle_one_parent_per_channel_replies_and_parent_edits(
        fake: FakeDiscord, store: Any, sink: DiscordSink, clock: FakeClock):
    for channel in (C1, C2, C3):
        store.subscribe("discord", GUILD, channel, "all", "U1")
    store.mute("discord", GUILD, C3, clock() + timedelta(hours=1), "U1")
    worker = _worker(store, sink, clock)

    incident = _open(store)
    await drain_until_quiet(worker, store, clock)
    parents = {c: _parents(fake, c) for c in (C1, C2)}
    for [parent] in parents.values():
        embed = parent["embeds"][0]
        assert embed["title"] == "🚨 Sora API failing" and embed["color"] == 0x8B0000
        assert _status(parent).startswith("🔴 Open")
        assert parent["content"].startswith("🚨 Sora API failing — 🔴 Open")
        assert _ids(parent) == [f"{ACTION_ACK}:{incident.id}", ACTION_MUTE_1H]
        assert "[Status page](https://status.openai.com)" in json.dumps(embed)
        assert embed["footer"]["text"].startswith("incident #") and " · ref sb" in embed["footer"]["text"]
    creates = fake.calls_to("create_message")
    assert all(c.body["enforce_nonce"] is True and c.body["nonce"].startswith("sb") for c in creates)
    assert all(c.body["allowed_mentions"] == {"parse": []} for c in creates)
    assert fake.posts(C3) == []

    clock.advance(60)
    store.update_incident(incident.id, reason="severity changed", severity="error",
                          detail="3 of 5 probes failing")
    await drain_until_quiet(worker, store, clock)
    clock.advance(60)
    store.resolve_incident(incident.id, detail="all probes healthy for 5 minutes")
    await drain_until_quiet(worker, store, clock)

    for channel, [parent] in parents.items():
        pid = parent["id"]
        replies = _replies(fake, channel, pid)
        assert [r["embeds"][0]["title"].split(":")[0] for r in replies] == ["❌ Update", "✅ Resolved"]
        assert len(fake.posts(channel)) == 3  # exactly: opened, updated, resolved
        [now_parent] = _parents(fake, channel)
        assert _status(now_parent).startswith("✅ Resolved")
        assert now_parent["embeds"][0]["title"] == "✅ Resolved: Sora API failing"
        assert now_parent["embeds"][0]["color"] == 0x2EB67D and _ids(now_parent) == []
        # order on the wire: parent, reply, edit, reply, edit
        order = [(c.name, c.body.get("message_reference") is not None if c.body else None)
                 for c in fake.calls if c.params.get("cid") == channel
                 and c.name in ("create_message", "edit_message")]
        assert order == [("create_message", False), ("create_message", True), ("edit_message", False),
                         ("create_message", True), ("edit_message", False)]
    edits = fake.calls_to("edit_message")
    assert len(edits) == 4  # one parent edit per channel per later notice
    assert fake.calls_to("edit_message")[0].body["embeds"][0]["fields"][0]["value"].startswith("🟠 Open, updated")
    assert fake.posts(C3) == []


async def test_parent_edit_keeps_who_acknowledged(fake: FakeDiscord, store: Any, sink: DiscordSink,
                                                  clock: FakeClock):
    store.subscribe("discord", GUILD, C1, "all", "U1")
    worker = _worker(store, sink, clock)
    incident = _open(store)
    await drain_until_quiet(worker, store, clock)
    [parent] = _parents(fake, C1)
    parent["embeds"][0] = em.set_field(parent["embeds"][0], em.ACK_FIELD, "✋ Acknowledged by <@U9>",
                                       after=em.STATUS_FIELD)
    clock.advance(60)
    store.update_incident(incident.id, reason="new evidence", detail="still failing")
    await drain_until_quiet(worker, store, clock)
    [parent] = _parents(fake, C1)
    names = [f["name"] for f in parent["embeds"][0]["fields"]]
    assert names[:2] == [em.STATUS_FIELD, em.ACK_FIELD]
    assert _status(parent).startswith("🟠 Open, updated") and _ids(parent) == [f"{ACTION_ACK}:{incident.id}", ACTION_MUTE_1H]


async def test_unreadable_parent_is_rendered_again(fake: FakeDiscord, store: Any, sink: DiscordSink,
                                                   clock: FakeClock):
    store.subscribe("discord", GUILD, C1, "all", "U1")
    worker = _worker(store, sink, clock)
    incident = _open(store)
    await drain_until_quiet(worker, store, clock)
    fake.fail("get_message", status=403, code=50001, message="Missing Access")
    store.resolve_incident(incident.id, detail="ok again")
    await drain_until_quiet(worker, store, clock)
    [parent] = _parents(fake, C1)
    assert parent["embeds"][0]["title"] == "✅ Resolved: Sora API failing"
    assert _status(parent).startswith("✅ Resolved") and _ids(parent) == []


async def test_429_storm_delays_but_never_duplicates_or_drops(fake: FakeDiscord, store: Any,
                                                             sink: DiscordSink, clock: FakeClock):
    channels = CHANNELS
    for channel in channels:
        store.subscribe("discord", GUILD, channel, "all", "U1")
    worker = _worker(store, sink, clock)
    fake.fail("create_message", status=429, retry_after=0.25, times=12)
    incident = _open(store)
    await drain_until_quiet(worker, store, clock)
    fake.fail("create_message", status=429, retry_after=0.25, times=7)
    clock.advance(60)
    store.update_incident(incident.id, reason="new evidence", detail="x")
    await drain_until_quiet(worker, store, clock)
    for channel in channels:
        [parent] = _parents(fake, channel)
        assert len(_replies(fake, channel, parent["id"])) == 1
    assert len(fake.calls_to("create_message")) == 2 * len(channels) + 12 + 7


async def test_retry_after_from_the_body_is_honoured_by_the_outbox(fake: FakeDiscord, store: Any,
                                                                  sink: DiscordSink, clock: FakeClock):
    store.subscribe("discord", GUILD, C1, "all", "U1")
    worker = _worker(store, sink, clock)
    fake.fail("create_message", status=429, retry_after=30.5, header_retry_after="31")
    _open(store)
    result = await worker.drain()
    assert result.retried == 1 and fake.posts(C1) == []
    due = store.next_outbox_due(["discord"])
    assert timedelta(seconds=30) < due - clock() <= timedelta(seconds=33)
    assert (await worker.drain()).sent == 0  # not due yet
    clock.t = due
    assert (await worker.drain()).sent == 1 and len(_parents(fake, C1)) == 1


@pytest.mark.parametrize("notice", ["opened", "updated"])
async def test_lost_answer_is_reconciled_not_reposted(fake: FakeDiscord, store: Any, sink: DiscordSink,
                                                      clock: FakeClock, notice: str):
    store.subscribe("discord", GUILD, C1, "all", "U1")
    worker = _worker(store, sink, clock)
    incident = _open(store)
    if notice == "updated":
        await drain_until_quiet(worker, store, clock)
        clock.advance(1)
        store.update_incident(incident.id, reason="new evidence", detail="x")
    fake.fail("create_message", status=502, applied=True)  # posted, but the answer is a 502
    await drain_until_quiet(worker, store, clock)
    assert len(fake.posts(C1)) == (1 if notice == "opened" else 2)
    reads = fake.calls_to("get_messages")
    assert reads and reads[0].query["limit"] == "50"


async def test_missing_access_is_dead_lettered_once(fake: FakeDiscord, store: Any, sink: DiscordSink,
                                                    clock: FakeClock):
    store.subscribe("discord", GUILD, C1, "all", "U1")
    worker = _worker(store, sink, clock)
    fake.fail("create_message", status=403, code=50001, message="Missing Access")
    _open(store)
    result = await worker.drain()
    assert result.dead == 1 and len(fake.calls_to("create_message")) == 1
    assert store.next_outbox_due(["discord"]) is None


def _row(**kw: Any) -> OutboxRow:
    base = dict(id=7, dedupe_key="k7", incident_id=1, seq=1, notice_kind="opened", platform="discord",
                workspace=GUILD, channel=C1, payload={"title": "t", "notice": "opened",
                                                        "severity": "error", "incident_id": 1},
                thread_id=None, attempts=0, created_at=utcnow())
    base.update(kw)
    return OutboxRow(**base)


@pytest.mark.parametrize("setup, retryable, status, retry_after", [
    (dict(status=429, retry_after=45.5), True, 429, 45.5),
    (dict(status=429, header_retry_after="7"), True, 429, 7.0),
    (dict(status=429, retry_after=2, is_global=True), True, 429, 2.0),
    (dict(status=503), True, 503, None),
    (dict(status=500), True, 500, None),
    (dict(status=403, code=50001, message="Missing Access"), False, 403, None),
    (dict(status=403, code=50013, message="Missing Permissions"), False, 403, None),
    (dict(status=404, code=10003, message="Unknown Channel"), False, 404, None),
    (dict(status=400, code=50035, message="Invalid Form Body"), False, 400, None),
    (dict(status=401, code=0, message="401: Unauthorized"), False, 401, None),
])
async def test_failures_are_classified_and_never_hold_the_token(fake: FakeDiscord, sink: DiscordSink,
                                                               caplog, setup, retryable, status,
                                                               retry_after):
    caplog.set_level(logging.DEBUG)
    fake.fail("create_message", **setup)
    with pytest.raises(SendError) as err:
        await sink.send(_row())
    e = err.value
    assert (e.retryable, e.status, e.retry_after) == (retryable, status, retry_after)
    if "code" in setup:
        assert str(setup["code"]) in str(e)
    assert fake.token not in f"{e} {e!r} {e.args} {sink!r}" and fake.token not in caplog.text


async def test_discords_error_text_is_masked_if_it_echoes_the_token(fake: FakeDiscord, sink: DiscordSink):
    fake.fail("create_message", status=400, code=50035, message=f"bad token {fake.token}")
    with pytest.raises(SendError) as err:
        await sink.send(_row())
    assert fake.token not in str(err.value) and "[REDACTED]" in str(err.value)


async def test_connection_failure_is_retryable_and_tokenless():
    token = "MTA.closed-port-token.Secret"
    sink = DiscordSink(token, "http://127.0.0.1:9/api/v10", timeout=2)
    try:
        for call in (sink.send(_row()), sink.find_existing(_row())):
            with pytest.raises(SendError) as err:
                await call
            assert err.value.retryable and err.value.status is None
            assert token not in f"{err.value} {err.value!r}"
    finally:
        await sink.aclose()


async def test_resend_within_minutes_returns_the_same_message_by_nonce(fake: FakeDiscord,
                                                                       sink: DiscordSink):
    first = await sink.send(_row())
    again = await sink.send(_row())
    assert first == again and len(fake.posts(C1)) == 1
    assert [c.body["nonce"] for c in fake.calls_to("create_message")] == [delivery_ref(_row())] * 2


async def test_find_existing_matches_the_footer_reference_and_ignores_others(fake: FakeDiscord,
                                                                              sink: DiscordSink):
    sent = await sink.send(_row(id=8, dedupe_key="k8"))
    for i in range(60):  # the channel moves on: the notice is on the second page
        fake.messages[C1].append({**fake._new_message(C1, {"content": f"chat {i}"})})
    assert await sink.find_existing(_row(id=7)) is None
    assert await sink.find_existing(_row(id=8, dedupe_key="other")) is None  # another database
    found = await sink.find_existing(_row(id=8, dedupe_key="k8"))
    assert found is not None and found.message_id == sent.message_id == found.thread_id
    reads = fake.calls_to("get_messages")
    assert "nonce" not in json.dumps([m for m in fake.messages[C1]])  # reads carry no nonce
    assert reads[-1].query.get("before") and reads[0].query == {"limit": "50"}


async def test_find_existing_of_a_reply_keeps_the_thread(fake: FakeDiscord, sink: DiscordSink):
    parent = await sink.send(_row(id=1, dedupe_key="k1"))
    row = _row(id=2, dedupe_key="k2", seq=2, notice_kind="updated", thread_id=parent.message_id,
               payload={"title": "t", "notice": "updated", "severity": "error", "incident_id": 1})
    sent = await sink.send(row)
    found = await sink.find_existing(row)
    assert found == sent and found.thread_id == parent.message_id
