"""Text from a paste is never a link or markup, in any field, on any platform (issue 12 #3).

A paste that puts a phishing link (or a backtick break-out, or a mention, or emphasis) into
``param``, ``code``, ``type`` or ``message`` is diagnosed and rendered for Slack (Block Kit)
and Discord (embed and plain-text fallback); every place the hostile URL shows up must be a
code span, and nothing may ping or render as a masked link.
"""

from __future__ import annotations

import json
import re

import pytest

from adapters.discord import embeds as em
from adapters.slack import blocks as bk
from bot.commands.views import diagnosis_reply
from bot.diagnosis import diagnose

EVIL = "https://evil.example/login"
LINK = f"[Rotate your key here]({EVIL})"
# a parameter name has no spaces (a "param" that is a sentence is not named as one): the same
# markdown link, written as a name
PARAM_LINK = f"[rotate_key]({EVIL})"
PASTES = [
    json.dumps({"error": {"message": "Invalid value for param.", "type": "invalid_request_error",
                          "param": PARAM_LINK, "code": "invalid_value"}}),
    json.dumps({"error": {"message": f"Bad request: see {LINK}", "type": "invalid_request_error",
                          "param": None, "code": LINK}}),
    json.dumps({"error": {"message": "x", "type": f"`x` {LINK} `y`", "param": f"a` {EVIL} `b",
                          "code": "<!channel> *urgent*"}}),
    f"openai.BadRequestError: Error code: 400 - {{'error': {{'message': 'Rejected, go to {EVIL}', "
    f"'type': 'invalid_request_error', 'param': '{PARAM_LINK}', 'code': None}}}}",
]


def _outside_code(text: str) -> str:
    """The text with every backtick code span removed (what could render as markup)."""
    return re.sub(r"`[^`\n]*`", "", text)


def _slack_texts(payload: dict[str, object]) -> list[str]:
    out: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn":
                out.append(str(node["text"]))
                assert node.get("verbatim") is True
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(payload["blocks"])
    return out


@pytest.mark.parametrize("paste", PASTES)
def test_slack_renders_paste_text_inert(paste):
    payload = bk.message_payload(diagnosis_reply(diagnose(paste)))
    for text in _slack_texts(payload):
        outside = _outside_code(text)
        assert "evil.example" not in outside, text
        assert "<http" not in text and "<!channel>" not in text, text
        assert not re.search(r"(^|\s)\*urgent\*", outside), text
    assert any("evil.example" in t for t in _slack_texts(payload))  # shown, as code
    fallback = str(payload["text"])  # notifications and screen readers
    assert "<!channel>" not in fallback and "evil.example" not in _outside_code(fallback)


@pytest.mark.parametrize("paste", PASTES)
def test_discord_renders_paste_text_inert(paste):
    reply = diagnosis_reply(diagnose(paste))
    embed = em.reply_embed(reply).to_dict()
    parts = [embed.get("description") or ""] + [f["name"] + "\n" + f["value"] for f in embed["fields"]]
    for text in parts:
        outside = _outside_code(text)
        assert "evil.example" not in outside, text
        assert "](" not in outside or "](http" not in outside, text
    assert any("evil.example" in t for t in parts)
    # the plain-text fallback (no Embed Links permission) goes out as content: same rule
    fallback = em.fallback_text(reply)
    assert "evil.example" in fallback and "evil.example" not in _outside_code(fallback)
