"""The bolt app over real HTTP on loopback, driven by real signed Slack requests.

The Web API and response_url are the loopback fake (``fake_slack.py``); the router is the real
``bot.commands.router.Router`` (without core services here; see test_services.py for those).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

import pytest

from adapters.slack import blocks as bk
from tests.slack.conftest import CHANNEL, SIGNING_SECRET, TEAM, USER, Harness, block_action, make_harness, message_event

KEY = "sk-proj-" + "Zq9XwV8uT7sR6pO5nM4lK3jH2gF1dS0a" * 2
SEED = ('{"error":{"code":"invalid_request","message":"Unable to process request",'
        '"param":null,"type":"invalid_request_error"}}')
SEED_WITH_KEY = f"Authorization: Bearer {KEY}\n{SEED}"
ACK_LIMIT_S = 3.0


def _no_secret(h: Harness) -> None:
    received = h.fake.received_text()
    assert KEY not in received and KEY[8:40] not in received


def _block_types(payload: dict[str, Any]) -> list[str]:
    return [b["type"] for b in payload["blocks"]]


async def test_help_is_answered_in_the_ack_ephemeral_with_blocks_and_text(slack: Harness):
    resp = await slack.sender.slash("help")
    assert resp.status_code == 200 and slack.sender.last_elapsed < ACK_LIMIT_S
    body = resp.json()
    assert body["response_type"] == "ephemeral"
    assert _block_types(body)[0] == "header" and "sora-bot help" in body["blocks"][0]["text"]["text"]
    assert "/sora status" in body["text"]  # the plain-text fallback holds the command list
    assert slack.fake.calls_to("chat.postMessage") == [] and slack.fake.responses() == []


async def test_help_errors_is_the_quick_reference(slack: Harness):
    body = (await slack.sender.slash("help errors")).json()
    assert "quick reference" in body["blocks"][0]["text"]["text"].lower()
    # every row is in the blocks (the fallback text may be cut at Slack's ~4k)
    assert "billing_hard_limit_reached" in json.dumps(body["blocks"])
    assert "cut to fit" not in json.dumps(body["blocks"])


async def test_unknown_subcommand_answers_short_help(slack: Harness):
    body = (await slack.sender.slash("frobnicate now")).json()
    assert "frobnicate" in body["blocks"][0]["text"]["text"]
    assert body["response_type"] == "ephemeral"


async def test_diagnose_seed_error_with_key_ephemeral_no_secret(slack: Harness):
    resp = await slack.sender.slash(f"diagnose {SEED_WITH_KEY}")
    assert resp.status_code == 200 and slack.sender.last_elapsed < ACK_LIMIT_S
    body = resp.json()
    assert body["response_type"] == "ephemeral"
    assert "risk_control" in body["blocks"][0]["text"]["text"]
    dumped = json.dumps(body)
    assert KEY not in dumped and KEY[8:40] not in dumped
    for cause_id_title in ("risk", "limit"):
        assert cause_id_title in body["text"].lower()
    context = [b for b in body["blocks"] if b["type"] == "context"]
    assert context and "fingerprint" in context[0]["elements"][0]["text"]
    _no_secret(slack)


async def test_slack_escaped_paste_is_unescaped_before_diagnosis(slack: Harness):
    # Slack sends & < > as entities; the router must see the real text (here: an HTML 502 page).
    html = "&lt;html&gt;&lt;head&gt;&lt;title&gt;502 Bad Gateway&lt;/title&gt;&lt;/head&gt;&lt;/html&gt;"
    body = (await slack.sender.slash(f"diagnose {html}")).json()
    assert "(server)" in body["blocks"][0]["text"]["text"]


async def test_probe_acks_at_once_then_responds(slack: Harness):
    resp = await slack.sender.slash("probe", rid="probe1")
    assert resp.status_code == 200 and slack.sender.last_elapsed < ACK_LIMIT_S
    assert resp.json()["text"] == "⏳ Running probes…"
    await slack.fake.wait_calls("response")
    posted = slack.fake.responses()[0]
    assert posted["response_type"] == "ephemeral" and posted["blocks"][0]["type"] == "header"
    assert slack.fake.calls_to("response")[0].path == "/response/probe1"


class GatedRouter:
    """A real Router whose command handling waits for the test's go-ahead: slow work, no sleep."""

    def __init__(self) -> None:
        from bot.commands.router import Router

        self.inner = Router(None)
        self.go = asyncio.Event()
        self.started = asyncio.Event()
        self.calls: list[tuple[str, Any]] = []

    async def handle_command(self, text: str, channel: Any, caller: Any, surface: Any = None) -> Any:
        self.calls.append((text, caller))
        self.started.set()
        await self.go.wait()
        return await self.inner.handle_command(text, channel, caller)

    async def handle_chat(self, text: str, channel: Any, caller: Any, **kw: Any) -> Any:
        return await self.inner.handle_chat(text, channel, caller, **kw)


async def test_slow_command_is_acked_within_budget_then_answered_via_respond(fake):
    router = GatedRouter()
    h, served, http = await make_harness(fake, router, inline_budget_s=0.2)
    try:
        resp = await h.sender.slash("help")
        assert resp.status_code == 200 and h.sender.last_elapsed < ACK_LIMIT_S
        assert resp.json()["text"] == "⏳ Working on it…"
        assert fake.responses() == []
        router.go.set()
        await fake.wait_calls("response")
        assert "sora-bot help" in fake.responses()[0]["blocks"][0]["text"]["text"]
    finally:
        await http.aclose()
        await served.close()


async def test_bad_signature_is_401_and_nothing_happens(slack: Harness):
    body = slack.sender.slash_body("help")
    headers = slack.sender.headers(body, "application/x-www-form-urlencoded", secret="wrong-secret")
    resp = await slack.sender.http.post(slack.sender.url + "/slack/events", content=body, headers=headers)
    assert resp.status_code == 401
    event_body = json.dumps({"type": "event_callback", "team_id": TEAM,
                             "event": message_event(SEED_WITH_KEY)})
    headers = slack.sender.headers(event_body, "application/json", secret="wrong-secret")
    resp = await slack.sender.http.post(slack.sender.url + "/slack/events", content=event_body,
                                        headers=headers)
    assert resp.status_code == 401
    assert slack.fake.calls == []


async def test_stale_timestamp_is_401(slack: Harness):
    resp = await slack.sender.post(slack.sender.slash_body("help"), "application/x-www-form-urlencoded",
                                   ts=int(time.time()) - 6 * 60)
    assert resp.status_code == 401
    assert slack.fake.calls == []


# Paste detection -----------------------------------------------------------------------------


async def test_pasted_error_gets_a_threaded_diagnosis_without_the_secret(slack: Harness):
    event = message_event(f"our job failed:\n```{SEED_WITH_KEY}```", ts="1700000100.000200")
    resp = await slack.sender.event(event)
    assert resp.status_code == 200 and slack.sender.last_elapsed < ACK_LIMIT_S
    [call] = await slack.fake.wait_calls("chat.postMessage")
    assert call.body["channel"] == CHANNEL
    assert call.body["thread_ts"] == "1700000100.000200"
    assert call.body["text"] and call.body["blocks"][0]["type"] == "header"
    assert "risk_control" in call.body["blocks"][0]["text"]["text"]
    assert "actions" not in [b["type"] for b in call.body["blocks"]]
    _no_secret(slack)


async def test_reply_in_an_existing_thread_stays_in_that_thread(slack: Harness):
    event = message_event(SEED, ts="1700000100.000900", thread_ts="1700000100.000100")
    await slack.sender.event(event)
    [call] = await slack.fake.wait_calls("chat.postMessage")
    assert call.body["thread_ts"] == "1700000100.000100"


async def test_snippet_file_share_is_read_and_diagnosed(slack: Harness):
    slack.fake.files["F1"] = f"Traceback (most recent call last):\n  ...\n{SEED_WITH_KEY}\n".encode()
    event = message_event("see snippet", subtype="file_share", files=[{
        "id": "F1", "mode": "snippet", "filetype": "text", "mimetype": "text/plain", "size": 300,
        "url_private": slack.fake.file_url("F1"), "url_private_download": slack.fake.file_url("F1"),
        "preview": "Traceback (most recent call last):"}])
    await slack.sender.event(event)
    [call] = await slack.fake.wait_calls("chat.postMessage")
    assert "risk_control" in call.body["blocks"][0]["text"]["text"]
    [download] = slack.fake.calls_to("file")
    assert download.token == slack.fake.bot_token
    _no_secret(slack)


async def test_files_on_foreign_hosts_never_get_the_token(slack: Harness):
    event = message_event("look", subtype="file_share", files=[{
        "id": "F2", "mode": "snippet", "filetype": "text", "size": 10,
        "url_private": "http://127.0.0.1:9/steal", "preview": SEED}])
    await slack.sender.event(event)
    [call] = await slack.fake.wait_calls("chat.postMessage")  # diagnosed from the preview
    assert "risk_control" in call.body["blocks"][0]["text"]["text"]
    assert slack.fake.calls_to("file") == []


async def test_a_message_that_merely_says_error_gets_no_reply(slack_sync: Harness):
    for text in ("hmm, I got an error again, anyone else?", "the build has errors, fixing"):
        assert (await slack_sync.sender.event(message_event(text))).status_code == 200
    assert slack_sync.fake.calls_to("chat.postMessage") == []
    # the same app does answer a real paste (so the silence above means something)
    await slack_sync.sender.event(message_event(SEED))
    assert len(slack_sync.fake.calls_to("chat.postMessage")) == 1


async def test_bot_messages_edits_and_own_messages_are_ignored(slack_sync: Harness):
    h = slack_sync
    await h.sender.event(message_event(SEED, bot_id="B999", subtype="bot_message"))
    await h.sender.event(message_event(SEED, bot_id="B998"))
    await h.sender.event(message_event(SEED, user=h.fake.bot_user_id))
    await h.sender.event({"type": "message", "subtype": "message_changed", "channel": CHANNEL,
                          "ts": "1700000100.000500", "message": {"text": SEED, "user": USER}})
    await h.sender.event({"type": "message", "subtype": "channel_join", "channel": CHANNEL,
                          "user": USER, "ts": "1700000100.000600", "text": SEED})
    assert h.fake.calls_to("chat.postMessage") == []


async def test_a_paste_cannot_ping_the_channel(slack: Harness):
    await slack.sender.event(message_event(f"&lt;!channel&gt; {SEED}"))
    [call] = await slack.fake.wait_calls("chat.postMessage")
    dumped = json.dumps(call.body)
    assert "<!channel>" not in dumped


async def test_dm_paste_and_dm_command(slack: Harness):
    await slack.sender.event(message_event(SEED, channel="D123", channel_type="im"))
    await slack.sender.event(message_event("help", channel="D123", channel_type="im",
                                           ts="1700000100.000300"))
    calls = await slack.fake.wait_calls("chat.postMessage", 2)
    titles = sorted(c.body["blocks"][0]["text"]["text"] for c in calls)
    assert any("risk_control" in t for t in titles) and any("help" in t for t in titles)


async def test_small_talk_in_a_dm_gets_a_hint_and_in_a_channel_nothing(slack_sync: Harness):
    h = slack_sync
    await h.sender.event(message_event("hello there", channel="D123", channel_type="im",
                                       ts="1700000100.000400"))
    [call] = h.fake.calls_to("chat.postMessage")
    assert "Not an error I can diagnose" in call.body["blocks"][0]["text"]["text"]
    await h.sender.event(message_event("hello there", ts="1700000100.000500"))
    assert len(h.fake.calls_to("chat.postMessage")) == 1
    await h.sender.event(message_event("SORA STATUS is red again", ts="1700000100.000600"))
    assert len(h.fake.calls_to("chat.postMessage")) == 1  # "sora …" in a channel is talk


async def test_app_mention_runs_a_command_in_thread_and_message_copy_is_not_double_answered(
        slack_sync: Harness):
    h = slack_sync
    text = f"<@{h.fake.bot_user_id}> diagnose {SEED}"
    await h.sender.event({**message_event(text, ts="1700000100.000700"), "type": "app_mention"})
    await h.sender.event(message_event(text, ts="1700000100.000700"))  # Slack sends both
    [call] = h.fake.calls_to("chat.postMessage")
    assert call.body["thread_ts"] == "1700000100.000700"
    assert "risk_control" in call.body["blocks"][0]["text"]["text"]


async def test_app_mention_with_a_subcommand(slack_sync: Harness):
    h = slack_sync
    await h.sender.event({**message_event(f"<@{h.fake.bot_user_id}> help", ts="1700000100.000800"),
                          "type": "app_mention"})
    [call] = h.fake.calls_to("chat.postMessage")
    assert "sora-bot help" in call.body["blocks"][0]["text"]["text"]


# Interactivity --------------------------------------------------------------------------------


def _alert_message(ts: str = "1700000500.000100") -> dict[str, Any]:
    from bot.commands.reply import Reply, Severity, ack_action, mute_action

    reply = Reply(title="Sora API degraded", severity=Severity.CRITICAL, text="Error rate 40%",
                  actions=(ack_action(1), mute_action()))
    return {"type": "message", "ts": ts, "user": "UBOT", "bot_id": "BBOT", "text": "Sora API degraded",
            "blocks": bk.alert_blocks(reply, "Status: open · since 12:00 UTC")}


async def test_acknowledge_edits_the_parent_and_says_who(slack: Harness):
    message = _alert_message()
    slack.fake.messages[CHANNEL] = [message]
    resp = await slack.sender.action(block_action(bk.ACTION_ACK, "ack", message=message, fake=slack.fake))
    assert resp.status_code == 200 and slack.sender.last_elapsed < ACK_LIMIT_S
    [update] = await slack.fake.wait_calls("chat.update")
    assert update.body["ts"] == message["ts"] and update.body["channel"] == CHANNEL
    ack_blocks = [b for b in update.body["blocks"] if b.get("block_id") == bk.ACK_BLOCK_ID]
    assert ack_blocks and f"Acknowledged by <@{USER}>" in ack_blocks[0]["elements"][0]["text"]
    # the status line and the buttons are kept
    assert any(b.get("block_id") == bk.STATUS_BLOCK_ID for b in update.body["blocks"])
    assert update.body["blocks"][-1]["type"] == "actions"
    [note] = await slack.fake.wait_calls("chat.postMessage")
    assert note.body["thread_ts"] == message["ts"] and f"<@{USER}>" in note.body["text"]


async def test_mute_button_without_services_reports_failure_privately(slack: Harness):
    # USER is a member; no admin config → allowed; Router(None) cannot mute → an error reply,
    # sent only to the clicker, and the parent is not touched.
    slack.fake.members[CHANNEL] = [USER]
    await slack.sender.action(block_action(bk.ACTION_MUTE_1H, "mute 1h", message=_alert_message(),
                                           fake=slack.fake))
    [resp] = await slack.fake.wait_calls("response")
    assert resp.body["response_type"] == "ephemeral" and resp.body["replace_original"] is False
    assert slack.fake.calls_to("chat.update") == []


async def test_mute_button_by_a_non_member_is_not_allowed(slack: Harness):
    slack.fake.members[CHANNEL] = ["U777"]
    await slack.sender.action(block_action(bk.ACTION_MUTE_1H, "mute 1h", message=_alert_message(),
                                           fake=slack.fake))
    [resp] = await slack.fake.wait_calls("response")
    assert "Not allowed" in resp.body["blocks"][0]["text"]["text"]
    assert slack.fake.calls_to("chat.update") == []
    assert [c.body["channel"] for c in slack.fake.calls_to("conversations.members")] == [CHANNEL]


@pytest.mark.parametrize("secret", [SIGNING_SECRET])
async def test_signature_helper_matches_slack_sdk(secret):
    from slack_sdk.signature import SignatureVerifier

    from tests.slack.conftest import SlackSender

    s = SlackSender("http://x", None, None, secret=secret)  # type: ignore[arg-type]
    h = s.headers("a=b", "application/x-www-form-urlencoded")
    assert SignatureVerifier(secret).is_valid("a=b", h["x-slack-request-timestamp"], h["x-slack-signature"])
    assert not SignatureVerifier("other").is_valid("a=b", h["x-slack-request-timestamp"],
                                                   h["x-slack-signature"])


class _Logged(logging.Handler):
    """Sets ``event`` when a record containing ``needle`` is logged (a wait without sleeping)."""

    def __init__(self, needle: str) -> None:
        super().__init__()
        self.needle, self.event, self.lines = needle, asyncio.Event(), []

    def emit(self, record: logging.LogRecord) -> None:
        if self.needle in record.getMessage():
            self.lines.append(record.getMessage())
            self.event.set()


async def test_a_refused_respond_is_logged_not_lost(fake):
    """bolt's respond() does not raise when the response_url says no: the refusal is logged."""
    router = GatedRouter()
    h, served, http = await make_harness(fake, router, inline_budget_s=0.05)
    logged = _Logged("respond() was refused")
    logging.getLogger("adapters.slack.app").addHandler(logged)
    now = [1000.0]
    fake.now = lambda: now[0]
    try:
        assert (await h.sender.slash("help", rid="late")).json()["text"] == "⏳ Working on it…"
        now[0] += 31 * 60  # the work outlived the response_url
        router.go.set()
        await asyncio.wait_for(logged.event.wait(), 5)
        assert logged.lines == ["slack: respond() was refused (HTTP 404 expired_url)"]
        assert [r.error for r in fake.take_rejections()] == ["expired_url"]
    finally:
        logging.getLogger("adapters.slack.app").removeHandler(logged)
        await http.aclose()
        await served.close()


async def test_button_membership_is_read_past_the_first_page(slack: Harness):
    slack.fake.page_size = 3
    slack.fake.members[CHANNEL] = [f"U9{i:02d}" for i in range(10)] + [USER]
    await slack.sender.action(block_action(bk.ACTION_MUTE_1H, "mute 1h", message=_alert_message(),
                                           fake=slack.fake))
    [resp] = await slack.fake.wait_calls("response")
    assert "Not allowed" not in resp.body["blocks"][0]["text"]["text"]  # a member, on page 4
    assert len(slack.fake.calls_to("conversations.members")) == 4
