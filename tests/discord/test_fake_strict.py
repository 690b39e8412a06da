"""The fake refuses what Discord refuses, in Discord's shape, and its gateway behaves like
Discord's (op 7, op 9, zlib-stream): checked with plain HTTP/websocket clients and with the
real discord.py client of the running bot, which must keep answering after each."""

from __future__ import annotations

import asyncio
import json
import zlib
from typing import Any

import aiohttp
import httpx
import pytest

from adapters.discord.runtime import DiscordRuntime
from adapters.discord.sink import DiscordSink
from bot.clock import utcnow
from bot.errors import SendError
from bot.notify import OutboxRow
from tests.discord.conftest import interact
from tests.discord.discord_schema import invalid_form_body
from tests.discord.fake_discord import ZLIB_SUFFIX, FakeDiscord, Interaction
from tests.discord.test_commands import SEED


@pytest.fixture
async def rest(fake: FakeDiscord) -> Any:
    async with httpx.AsyncClient(base_url=fake.api_url + "/", timeout=5,
                                 headers={"Authorization": f"Bot {fake.token}"}) as http:
        yield http


def _errors_at(body: dict[str, Any], *path: str) -> list[dict[str, str]]:
    node = body["errors"]
    for part in path:
        node = node[part]
    return node["_errors"]


async def test_invalid_form_body_is_50035_with_discords_nested_errors(fake: FakeDiscord, rest):
    cid = fake.channel_id
    resp = await rest.post(f"channels/{cid}/messages", json={"embeds": [
        {"title": "t", "fields": [{"name": "ok", "value": "v"}, {"name": "n", "value": "v" * 1025}]}]})
    body = resp.json()
    assert resp.status_code == 400 and (body["code"], body["message"]) == (50035, "Invalid Form Body")
    assert _errors_at(body, "embeds", "0", "fields", "1", "value") == [
        {"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 1024 or fewer in length."}]
    resp = await rest.post(f"channels/{cid}/messages", json={"content": "x", "message_reference": {}})
    assert _errors_at(resp.json(), "message_reference", "message_id")[0]["code"] == "BASE_TYPE_REQUIRED"
    resp = await rest.post("channels/C1/messages", json={"content": "x"})
    assert _errors_at(resp.json(), "channel_id") == [
        {"code": "NUMBER_TYPE_COERCE", "message": 'Value "C1" is not snowflake.'}]
    big = [{"title": "t" * 256, "description": "d" * 4096}, {"description": "d" * 2000}]
    resp = await rest.post(f"channels/{cid}/messages", json={"embeds": big})
    assert _errors_at(resp.json(), "embeds")[0]["message"] == "Embed size exceeds maximum size of 6000"
    resp = await rest.post(f"channels/{cid}/messages", json={"content": "", "embeds": []})
    assert (resp.status_code, resp.json()) == (400, {"message": "Cannot send an empty message", "code": 50006})
    resp = await rest.post(f"channels/{cid + 99}/messages", json={"content": "x"})
    assert (resp.status_code, resp.json()["code"]) == (404, 10003)
    assert [r.error.split()[0] for r in fake.take_rejections()] == ["50035"] * 4 + ["50006", "10003"]


def test_the_schemas_accept_what_discord_accepts():
    assert invalid_form_body("create_message", {
        "content": "hi", "nonce": "sb1-abc", "enforce_nonce": True, "allowed_mentions": {"parse": []},
        "message_reference": {"message_id": 1234, "channel_id": "5678", "fail_if_not_exists": False},
        "components": [{"type": 1, "components": [{"type": 2, "style": 1, "label": "Ack",
                                                   "custom_id": "sora_alert_ack"}]}]}) is None
    assert invalid_form_body("interaction_callback", {"type": 5, "data": {"flags": 64}}) is None
    assert invalid_form_body("bulk_commands", [{"name": "sora", "description": "d", "type": 1,
                                                "options": [{"type": 1, "name": "help",
                                                             "description": "h"}]}]) is None
    bad = invalid_form_body("bulk_commands", [{"name": "x" * 33, "options": [
        {"type": 1, "name": "help"}]}])
    assert bad is not None and set(bad["errors"]["0"]) == {"name", "options"}
    assert invalid_form_body("create_message", {"nonce": "n" * 26, "content": "x"}) is not None


async def test_an_interaction_is_answered_once(fake: FakeDiscord, runtime: DiscordRuntime, rest):
    payload = fake.interaction("help")
    await interact(fake, payload)
    again = await rest.post(f"interactions/{payload['id']}/{payload['token']}/callback",
                            json={"type": 4, "data": {"content": "twice"}})
    assert (again.status_code, again.json()) == (
        400, {"message": "Interaction has already been acknowledged.", "code": 40060})
    unknown = await rest.post(f"interactions/{fake.snowflake()}/nope/callback", json={"type": 5})
    assert (unknown.status_code, unknown.json()["code"]) == (404, 10062)
    early = fake.interaction("help")
    fake._interactions[early["id"]] = Interaction(early["token"], 2)  # known, not yet answered
    followup = await rest.post(f"webhooks/{fake.app_id}/{early['token']}", json={"content": "x"})
    assert (followup.status_code, followup.json()["code"]) == (404, 10015)  # not answered yet
    assert [r.error.split()[0] for r in fake.take_rejections()] == ["40060", "10062", "10015"]


async def test_rate_limit_headers_and_a_bucket_past_its_limit(fake: FakeDiscord, rest):
    fake.rate_limit, fake.rate_window_s = 2, 3600.0
    cid = fake.channel_id
    first = await rest.post(f"channels/{cid}/messages", json={"content": "1"})
    assert first.headers["X-RateLimit-Limit"] == "2" and first.headers["X-RateLimit-Remaining"] == "1"
    assert float(first.headers["X-RateLimit-Reset-After"]) > 0 and first.headers["X-RateLimit-Bucket"]
    await rest.post(f"channels/{cid}/messages", json={"content": "2"})
    limited = await rest.post(f"channels/{cid}/messages", json={"content": "3"})
    body = limited.json()
    assert limited.status_code == 429 and set(body) == {"message", "retry_after", "global"}
    assert body["global"] is False and body["retry_after"] > 0
    assert int(limited.headers["Retry-After"]) >= 1 and limited.headers["X-RateLimit-Scope"] == "user"
    assert len(fake.posts(cid)) == 2
    sink = DiscordSink(fake.token, fake.api_url, timeout=5)  # the sink sees a retryable 429
    try:
        row = OutboxRow(id=1, dedupe_key="k", incident_id=1, seq=1, notice_kind="opened",
                        platform="discord", workspace=str(fake.guild_id), channel=str(cid),
                        payload={"title": "t", "notice": "opened", "severity": "error",
                                 "incident_id": 1}, thread_id=None, attempts=0, created_at=utcnow())
        with pytest.raises(SendError) as err:
            await sink.send(row)
        assert err.value.status == 429 and err.value.retryable and err.value.retry_after > 0
    finally:
        await sink.aclose()
    assert [r.error for r in fake.take_rejections()] == ["429 rate limited"] * 2


async def test_zlib_stream_frames_share_one_context_and_end_in_sync_flush(fake: FakeDiscord):
    async with aiohttp.ClientSession() as http, \
            http.ws_connect(fake.gateway_url + "?v=10&encoding=json&compress=zlib-stream") as ws:
        inflate, buffer, frames, messages = zlib.decompressobj(), b"", 0, []
        await ws.send_json({"op": 2, "d": {"token": fake.token, "intents": 0, "properties": {}}})
        while len(messages) < 3:  # HELLO, READY, GUILD_CREATE (split over two frames)
            msg = await asyncio.wait_for(ws.receive(), 5)
            assert msg.type == aiohttp.WSMsgType.BINARY
            frames += 1
            buffer += msg.data
            if buffer.endswith(ZLIB_SUFFIX):
                messages.append(json.loads(inflate.decompress(buffer)))
                buffer = b""
    assert [m.get("t") for m in messages] == [None, "READY", "GUILD_CREATE"] and frames > 3


async def _answers_a_paste(fake: FakeDiscord) -> None:
    before = len(fake.calls_to("create_message"))
    await fake.dispatch("MESSAGE_CREATE", fake.message(SEED))
    calls = await fake.wait_calls("create_message", before + 1, timeout=10)
    assert "risk_control" in calls[-1].body["embeds"][0]["title"]


async def test_the_bot_speaks_zlib_stream(fake: FakeDiscord, runtime: DiscordRuntime):
    assert fake.compressed[-1] is True  # discord.py's own connection asked for zlib-stream
    await _answers_a_paste(fake)


async def test_op7_reconnect_resumes_and_the_bot_keeps_answering(fake: FakeDiscord,
                                                                 runtime: DiscordRuntime):
    await fake.request_reconnect()
    await fake.wait_for(lambda: fake.resumes and fake.gateway_sockets, timeout=10)
    [resume] = fake.resumes
    assert resume["session_id"] and resume["token"] == fake.token and len(fake.identifies) == 1
    await _answers_a_paste(fake)


async def test_an_event_sent_during_the_reconnect_is_replayed_once(fake: FakeDiscord,
                                                                   runtime: DiscordRuntime):
    before = len(fake.calls_to("create_message"))
    await fake.request_reconnect()
    await fake.dispatch("MESSAGE_CREATE", fake.message(SEED))  # the client is leaving or away
    await fake.wait_for(lambda: fake.resumes and fake.gateway_sockets, timeout=10)
    calls = await fake.wait_calls("create_message", before + 1, timeout=10)
    await _answers_a_paste(fake)  # and the next one is answered too, once each
    assert len(fake.calls_to("create_message")) == before + 2 and len(calls) == before + 1


@pytest.mark.parametrize("resumable", [True, False])
async def test_op9_invalid_session_and_the_bot_keeps_answering(fake: FakeDiscord,
                                                               runtime: DiscordRuntime, resumable,
                                                               monkeypatch):
    async def no_wait(shard_id: int | None, *, initial: bool = False) -> None:
        """discord.py sleeps 5 s before a repeated IDENTIFY (``before_identify_hook``, meant to
        be overridden): a real wait the test does not need."""

    monkeypatch.setattr(runtime.client, "before_identify_hook", no_wait)
    await fake.invalidate_session(resumable=resumable)
    if resumable:  # d=true: RESUME the same session
        await fake.wait_for(lambda: fake.resumes and fake.gateway_sockets, timeout=10)
        assert len(fake.identifies) == 1
    else:  # d=false: a new IDENTIFY, a new session
        await fake.wait_for(lambda: len(fake.identifies) == 2 and fake.gateway_sockets, timeout=10)
        assert fake.resumes == []
    await _answers_a_paste(fake)
    answer = await interact(fake, fake.interaction("help"))
    assert "help" in answer["embeds"][0]["title"]
