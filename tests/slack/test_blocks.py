"""Reply → Block Kit: structure, limits, escaping and redaction (pure, no network)."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.slack import blocks as bk
from bot.commands.reply import (
    Action,
    ActionKind,
    Reply,
    ReplyField,
    Section,
    Severity,
    ack_action,
    correct_action,
    mute_action,
    note_action,
    share_action,
)

SECRET = "sk-proj-" + "A1b2C3d4E5f6G7h8J9k0" * 2


def _reply(**kw) -> Reply:
    base = dict(title="Risk-control rejection (risk_control)", severity=Severity.ERROR,
                text="The request was rejected.",
                fields=(ReplyField("Category", "risk_control"), ReplyField("Retryable", "no")),
                sections=(Section("Likely causes", ("Platform risk control (60%)", "Account limits")),
                          Section("What to do", ("Check the status page", "Wait"), numbered=True)),
                context=("fingerprint abc123 · request id req_1",),
                actions=(share_action(),))
    base.update(kw)
    return Reply(**base)


def _types(blocks):
    return [b["type"] for b in blocks]


def test_structure_header_fields_sections_context_actions():
    blocks = bk.reply_blocks(_reply())
    assert _types(blocks) == ["header", "section", "section", "section", "section", "context", "actions"]
    assert blocks[0]["text"] == {"type": "plain_text", "text": "❌ Risk-control rejection (risk_control)",
                                 "emoji": True}
    fields = blocks[2]["fields"]
    assert [f["text"] for f in fields] == ["*Category*\nrisk_control", "*Retryable*\nno"]
    assert blocks[3]["text"]["text"] == "*Likely causes*\n• Platform risk control (60%)\n• Account limits"
    assert blocks[4]["text"]["text"] == "*What to do*\n1. Check the status page\n2. Wait"
    assert blocks[5]["elements"][0]["text"] == "fingerprint abc123 · request id req_1"
    assert blocks[6]["elements"][0]["action_id"] == "share_status"
    assert blocks[6]["elements"][0]["value"] == "status public"


def test_payload_always_has_fallback_text_and_response_type():
    reply = _reply()
    payload = bk.response_payload(reply)
    assert payload["response_type"] == "ephemeral"
    assert payload["text"].startswith("❌ Risk-control rejection")
    assert "1. Check the status page" in payload["text"]
    assert bk.response_payload(_reply(ephemeral=False))["response_type"] == "in_channel"
    assert bk.response_payload(reply, public=True)["response_type"] == "in_channel"


def test_a_reply_without_its_share_control_has_no_actions_block():
    blocks = bk.reply_blocks(_reply().without(ActionKind.SHARE))
    assert "actions" not in _types(blocks)


def test_controls_render_as_buttons_and_a_menu_and_come_back_as_values():
    reply = _reply(actions=(note_action("fp1"), correct_action("fp1")))
    elements = [b for b in bk.reply_blocks(reply) if b["type"] == "actions"][0]["elements"]
    assert [e["type"] for e in elements] == ["button", "static_select"]
    assert elements[0]["action_id"] == "sora_note" and elements[0]["value"] == "fp1"
    menu = elements[1]
    assert menu["action_id"] == "sora_correct"
    assert {o["value"] for o in menu["options"]} >= {"quota|fp1", "auth|fp1"}
    assert "unknown|fp1" not in {o["value"] for o in menu["options"]}
    picked = {"action_id": "sora_correct", "type": "static_select",
              "selected_option": {"text": {"type": "plain_text", "text": "quota"}, "value": "quota|fp1"}}
    assert bk.action_value(picked) == ("fp1", "quota")
    assert bk.action_value({"action_id": "sora_note", "value": "fp1"}) == ("fp1", None)


def test_limits_are_respected_for_huge_replies():
    reply = _reply(title="T" * 500, text="x" * 10_000,
                   fields=tuple(ReplyField(f"f{i}", "v" * 5000) for i in range(25)),
                   sections=tuple(Section(f"s{i}", tuple("item " * 200 for _ in range(30)))
                                  for i in range(40)),
                   context=tuple("c" * 5000 for _ in range(20)),
                   actions=tuple(Action(kind, "L" * 200, "v" * 5000, choices=("c" * 200,) * (200 if i else 0))
                                 for i, kind in enumerate(ActionKind)))
    blocks = bk.reply_blocks(reply)
    limits = bk.LIMITS
    assert len(blocks) <= limits.blocks
    assert len(blocks[0]["text"]["text"]) <= limits.header
    for b in blocks:
        if b["type"] == "section":
            if "text" in b:
                assert len(b["text"]["text"]) <= limits.section_text
            for f in b.get("fields", []):
                assert len(f["text"]) <= limits.field_text
            assert len(b.get("fields", [])) <= limits.fields_per_section
        if b["type"] == "context":
            assert len(b["elements"]) <= limits.context_elements
        if b["type"] == "actions":
            assert len(b["elements"]) <= limits.actions_elements
            for e in b["elements"]:
                if e["type"] == "button":
                    assert len(e["text"]["text"]) <= limits.button_text
                    assert len(e["value"]) <= limits.button_value
                else:
                    assert len(e["options"]) <= limits.select_options
                    assert all(len(o["value"]) <= limits.option_value
                               and len(o["text"]["text"]) <= limits.option_text for o in e["options"])
    # buttons and context survive the cut; the cut is announced
    assert blocks[-1]["type"] == "actions"
    assert any("cut to fit Slack" in json.dumps(b) for b in blocks)
    assert len(bk.fallback_text(reply)) <= limits.fallback_text


def test_user_text_is_escaped_so_a_paste_cannot_ping_the_channel():
    reply = _reply(text="error from <!channel> & <@U999> <https://evil|click>",
                   fields=(ReplyField("Message", "<!here> boom"),))
    payload = bk.message_payload(reply)
    dumped = json.dumps(payload)
    assert "<!channel>" not in dumped and "<!here>" not in dumped and "<@U999>" not in dumped
    assert "&lt;!channel&gt; &amp; &lt;@U999&gt;" in dumped
    assert "<!channel>" not in payload["text"]


def test_text_is_inert_only_code_spans_and_trusted_urls_are_formatted():
    # a paste's masked link: the URL becomes a code span, never a Slack link
    hostile = bk.mrkdwn("[Rotate your key here](https://evil.example/login) now")
    assert "<https://evil" not in hostile and "`https://evil.example/login`" in hostile
    # the bot's own pointers stay links
    assert bk.mrkdwn("see https://status.openai.com.") == "see <https://status.openai.com>."
    # look-alike hosts and userinfo tricks are not trusted
    for url in ("https://status.openai.com.evil.example/x", "https://status.openai.com@evil.example/"):
        assert f"`{url}`" in bk.mrkdwn(url)
    # emphasis from a paste does not become formatting; words with underscores are untouched
    assert bk.mrkdwn("*urgent* invalid_request_error") == "\u200b*urgent* invalid_request_error"
    # every mrkdwn text object is sent verbatim: Slack auto-links nothing in it
    blocks = bk.reply_blocks(_reply(text="evil.example/login"))
    assert all(b["text"].get("verbatim") is True for b in blocks
               if b["type"] == "section" and b.get("text", {}).get("type") == "mrkdwn")


def test_secrets_are_masked_even_if_a_reply_carries_one():
    reply = _reply(title=f"bad key {SECRET}", text=f"key {SECRET}",
                   fields=(ReplyField("Key", SECRET),), context=(f"ctx {SECRET}",),
                   sections=(Section("Causes", (f"leaked {SECRET}",)),))
    dumped = json.dumps(bk.message_payload(reply))
    assert SECRET not in dumped
    assert "A1b2C3d4E5f6" not in dumped


def test_alert_blocks_have_status_line_and_ack_mute_buttons():
    blocks = bk.alert_blocks(_reply(actions=(ack_action(7), mute_action())), "Status: open · updated 12:00 UTC")
    status = [b for b in blocks if b.get("block_id") == bk.STATUS_BLOCK_ID]
    assert status and status[0]["elements"][0]["text"] == "Status: open · updated 12:00 UTC"
    actions = [b for b in blocks if b["type"] == "actions"][0]
    assert [e["action_id"] for e in actions["elements"]] == [bk.ACTION_ACK, bk.ACTION_MUTE_1H]


def test_set_context_line_replaces_or_inserts_before_buttons():
    blocks = bk.alert_blocks(_reply(actions=(ack_action(7), mute_action())), "Status: open")
    once = bk.set_context_line(blocks, bk.ACK_BLOCK_ID, "✋ Acknowledged by <@U1>", raw=True)
    twice = bk.set_context_line(once, bk.ACK_BLOCK_ID, "✋ Acknowledged by <@U2>", raw=True)
    acks = [b for b in twice if b.get("block_id") == bk.ACK_BLOCK_ID]
    assert len(acks) == 1 and acks[0]["elements"][0]["text"] == "✋ Acknowledged by <@U2>"
    assert twice.index(acks[0]) == len(twice) - 2 and twice[-1]["type"] == "actions"
    status = bk.set_context_line(twice, bk.STATUS_BLOCK_ID, "Status: resolved")
    assert [b for b in status if b.get("block_id") == bk.STATUS_BLOCK_ID][0]["elements"][0]["text"] \
        == "Status: resolved"
    assert "actions" not in _types(bk.without_actions(status))


def test_truncate_never_cuts_inside_an_entity_and_closes_code_fences():
    text = "a" * 95 + "&amp;" + "b" * 50
    cut = bk.truncate(text, 100)
    assert len(cut) <= 100 and not cut.rstrip("…").endswith(("&", "&a", "&am", "&amp"))
    fenced = bk.truncate("```" + "x" * 200, 50)
    assert fenced.count("```") == 2 and len(fenced) <= 50


@settings(max_examples=150, deadline=None)
@given(title=st.text(max_size=400), text=st.text(max_size=4000),
       items=st.lists(st.text(max_size=600), max_size=60))
def test_any_reply_renders_within_limits(title, text, items):
    reply = Reply(title=title, text=text, sections=(Section("s", tuple(items)),),
                  fields=tuple(ReplyField(t[:30] or "x", t) for t in items[:15]))
    blocks = bk.reply_blocks(reply)
    assert 1 <= len(blocks) <= bk.LIMITS.blocks
    assert len(blocks[0]["text"]["text"]) <= bk.LIMITS.header
    for b in blocks:
        if b["type"] == "section" and "text" in b:
            assert 1 <= len(b["text"]["text"]) <= bk.LIMITS.section_text
    json.dumps(bk.message_payload(reply))
