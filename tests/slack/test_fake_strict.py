"""The fake refuses what Slack refuses, in Slack's shape: checked with the real slack_sdk client.

A fake that accepts anything proves nothing; these tests pin the refusals the other tests rely
on (and take them from ``fake.rejections``, which every test's teardown otherwise requires to
be empty)."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from adapters.slack import blocks as bk
from bot.commands.reply import Reply, Section
from tests.slack.conftest import CHANNEL
from tests.slack.fake_slack import FakeSlack, FakeSocketMode
from tests.slack.slack_rules import block_errors


@pytest.fixture
def client(fake: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)


async def _refused(call, error: str) -> dict:
    with pytest.raises(SlackApiError) as err:
        await call
    assert err.value.response.status_code == 200 and err.value.response["ok"] is False
    assert err.value.response["error"] == error, err.value.response.data
    return dict(err.value.response.data)


def _section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


@pytest.mark.parametrize("blocks, pointer", [
    ([_section("x" * 3001)], "/blocks/0/text"),
    ([{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}], "/blocks/0/text"),
    ([{"type": "header", "text": {"type": "mrkdwn", "text": "*h*"}}], "/blocks/0/text"),
    ([{"type": "actions", "elements": [{"type": "button", "action_id": "a", "value": "v",
                                        "text": {"type": "plain_text", "text": "b" * 76}}]}],
     "/blocks/0/elements/0"),
    ([{"type": "actions", "elements": [{"type": "button", "action_id": "a" * 256,
                                        "text": {"type": "plain_text", "text": "ok"}}]}],
     "/blocks/0/elements/0"),
    ([{"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 11}], "/blocks/0"),
    ([_section("fine")] * 51, "/blocks"),
    ([_section("")], "/blocks/0/text/text"),
    ([{"type": "not_a_block"}], "/blocks/0/type"),
    ([dict(_section("a"), block_id="x"), dict(_section("b"), block_id="x")], "/blocks/1/block_id"),
])
async def test_invalid_blocks_are_refused_with_json_pointers(fake: FakeSlack, client, blocks, pointer):
    data = await _refused(client.chat_postMessage(channel=CHANNEL, text="t", blocks=blocks),
                          "invalid_blocks")
    assert any(f"[json-pointer:{pointer}" in e for e in data["errors"]), data
    assert data["response_metadata"]["messages"][0].startswith("[ERROR] ")
    assert fake.posts(CHANNEL) == []
    assert [r.error for r in fake.take_rejections()] == ["invalid_blocks"]


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing:UserWarning")
async def test_message_rules(fake: FakeSlack, client):
    await _refused(client.chat_postMessage(channel=CHANNEL, text="x" * 40_001), "msg_too_long")
    await _refused(client.chat_postMessage(channel=CHANNEL, text=""), "no_text")
    await _refused(client.api_call("chat.postMessage", json={"text": "hi"}), "invalid_arguments")
    await _refused(client.chat_postMessage(channel="C404", text="hi"), "channel_not_found")
    fake.add_channel("C500", bot_member=False)
    await _refused(client.chat_postMessage(channel="C500", text="hi"), "not_in_channel")
    await _refused(client.chat_postMessage(channel=CHANNEL, text="hi", thread_ts="1.000001"),
                   "thread_not_found")
    await _refused(client.chat_postMessage(channel=CHANNEL, text="hi", metadata={"x": 1}),
                   "invalid_metadata_format")
    await _refused(client.chat_update(channel=CHANNEL, ts="1.000001", text="x"), "message_not_found")
    fake.saw_message({"channel": CHANNEL, "ts": "1700000000.000100", "user": "U1", "text": "mine"})
    await _refused(client.chat_update(channel=CHANNEL, ts="1700000000.000100", text="x"),
                   "cant_update_message")
    data = await _refused(client.api_call("chat.postMessages"), "unknown_method")
    assert data["req_method"] == "chat.postMessages"
    missing = await _refused(client.api_call("chat.update", json={"channel": CHANNEL}), "invalid_arguments")
    assert missing["response_metadata"]["messages"] == ["[ERROR] missing required field: ts"]
    assert len(fake.take_rejections()) == 11
    posted = await client.chat_postMessage(channel=CHANNEL, text="hi", blocks=[_section("ok")])
    assert posted["ts"] and fake.posts(CHANNEL)[0]["blocks"] == [_section("ok")]


async def test_tokens_are_checked_and_not_counted_as_rejections(fake: FakeSlack):
    await _refused(AsyncWebClient(base_url=fake.api_url).auth_test(), "not_authed")
    await _refused(AsyncWebClient(token="xoxb-0-nope", base_url=fake.api_url).auth_test(),
                   "invalid_auth")
    await _refused(AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
                   .apps_connections_open(app_token=fake.bot_token), "invalid_auth")
    assert fake.rejections == []


async def test_history_replies_and_members_are_paginated(fake: FakeSlack, client):
    fake.page_size = 2
    parent = (await client.chat_postMessage(channel=CHANNEL, text="parent"))["ts"]
    for i in range(4):
        await client.chat_postMessage(channel=CHANNEL, text=f"m{i}")
        await client.chat_postMessage(channel=CHANNEL, text=f"r{i}", thread_ts=parent)
    fake.members[CHANNEL] = [f"U{i}" for i in range(5)]

    async def read_all(method, key, **args) -> list:
        out, cursor, pages = [], None, 0
        while True:
            resp = await client.api_call(method, params={**args, "limit": 100, **({"cursor": cursor} if cursor else {})})
            out += resp[key]
            pages += 1
            cursor = resp["response_metadata"]["next_cursor"]
            if not cursor:
                return out, pages

    history, pages = await read_all("conversations.history", "messages", channel=CHANNEL)
    assert [m["text"] for m in history] == ["m3", "m2", "m1", "m0", "parent"] and pages == 3
    replies, _ = await read_all("conversations.replies", "messages", channel=CHANNEL, ts=parent)
    assert [m["text"] for m in replies] == ["parent", "r0", "r1", "r2", "r3"]
    members, _ = await read_all("conversations.members", "members", channel=CHANNEL)
    assert members == [f"U{i}" for i in range(5)]
    first = await client.conversations_history(channel=CHANNEL, limit=100)
    assert len(first["messages"]) == 2 and first["has_more"] is True  # fewer than asked, like Slack
    await _refused(client.conversations_history(channel=CHANNEL, cursor="bogus"), "invalid_cursor")
    await _refused(client.conversations_replies(channel=CHANNEL, ts="1.000002"), "thread_not_found")
    assert [r.error for r in fake.take_rejections()] == ["invalid_cursor", "thread_not_found"]


async def test_response_url_is_good_for_five_uses_within_thirty_minutes(fake: FakeSlack):
    now = [1000.0]
    fake.now = lambda: now[0]
    hook = AsyncWebhookClient(fake.response_url("r5"))
    for _ in range(5):
        assert (await hook.send(text="ok")).status_code == 200
    used = await hook.send(text="sixth")
    assert (used.status_code, used.body) == (404, "used_url")
    late = AsyncWebhookClient(fake.response_url("late"))
    now[0] += 30 * 60 + 1
    expired = await late.send(text="late")
    assert (expired.status_code, expired.body) == (404, "expired_url")
    bad = AsyncWebhookClient(fake.response_url("bad"))
    now[0] = fake._response_urls["bad"].issued_at
    invalid = await bad.send(text="t", blocks=[_section("x" * 3001)])
    assert (invalid.status_code, invalid.body) == (400, "invalid_blocks")
    assert [r.error for r in fake.take_rejections()] == ["used_url", "expired_url", "invalid_blocks"]


async def test_socket_mode_envelopes_are_acked_once(fake: FakeSlack):
    from websockets.asyncio.client import connect

    ws = await FakeSocketMode(fake).start()
    try:
        async with connect(ws.url) as app:
            await app.recv()  # hello
            envelope = {"envelope_id": str(uuid.uuid4()), "type": "slash_commands", "payload": {}}
            await ws.send(envelope)
            await app.recv()
            await app.send(json.dumps({"envelope_id": envelope["envelope_id"]}))
            await app.send(json.dumps({"envelope_id": envelope["envelope_id"]}))
            await app.send(json.dumps({"envelope_id": "never-sent"}))
            for _ in range(3):  # all three reached the fake
                await asyncio.wait_for(ws.received.get(), 3)
    finally:
        await ws.close()
    assert [r.error for r in fake.take_rejections()] == ["already acknowledged", "unknown envelope"]


def test_our_renderer_passes_the_same_rules_on_a_huge_reply():
    reply = Reply(title="T" * 500, text="x" * 10_000,
                  sections=tuple(Section(f"s{i}", tuple("item " * 200 for _ in range(30)))
                                 for i in range(40)))
    assert block_errors(bk.reply_blocks(reply)) == []


def _modal(**over: object) -> dict:
    view = bk.note_modal("cb", "{}", "b1", "a1")
    view.update(over)
    return view


async def test_views_open_takes_a_fresh_trigger_once_and_a_valid_modal(fake: FakeSlack, client):
    now = [1000.0]
    fake.now = lambda: now[0]
    await _refused(client.views_open(trigger_id="1.2.3", view=_modal()), "invalid_trigger_id")
    late = fake.trigger()
    now[0] += 3.5
    await _refused(client.views_open(trigger_id=late, view=_modal()), "expired_trigger_id")
    trigger = fake.trigger()
    no_submit = {k: v for k, v in _modal().items() if k != "submit"}
    bad = await _refused(client.views_open(trigger_id=trigger, view=no_submit), "invalid_arguments")
    assert "[json-pointer:/view/submit]" in bad["response_metadata"]["messages"][0]
    long_title = _modal(title={"type": "plain_text", "text": "t" * 25})
    await _refused(client.views_open(trigger_id=trigger, view=long_title), "invalid_arguments")
    opened = await client.views_open(trigger_id=trigger, view=_modal())  # refusals used nothing
    assert opened["view"]["id"] in fake.views and opened["view"]["callback_id"] == "cb"
    await _refused(client.views_open(trigger_id=trigger, view=_modal()), "exchanged_trigger_id")
    assert [r.error for r in fake.take_rejections()] == [
        "invalid_trigger_id", "expired_trigger_id", "invalid_arguments", "invalid_arguments",
        "exchanged_trigger_id"]
    # what the person can submit: the modal's own inputs, within their limits, once
    with pytest.raises(AssertionError, match="empty"):
        fake.submission(opened["view"]["id"], {"a1": ""})
    with pytest.raises(AssertionError, match="does not take"):
        fake.submission(opened["view"]["id"], {"a1": "x" * 2001})
    payload = fake.submission(opened["view"]["id"], {"a1": "fixed"})
    assert payload["view"]["state"]["values"] == {"b1": {"a1": {"type": "plain_text_input",
                                                                "value": "fixed"}}}
    with pytest.raises(AssertionError, match="already submitted"):
        fake.submission(opened["view"]["id"], {"a1": "again"})
