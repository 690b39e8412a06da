"""Reply → Block Kit. Pure functions, no I/O, so the rendering is tested on fields, not on Slack.

Why a renderer of its own: Slack silently rejects a whole message (``invalid_blocks``) when one
block breaks a limit, so every text is cut to the limits below *before* sending, and every piece
of user-influenced text is escaped. A pasted error can hold ``<!channel>`` or a secret: the
escape pass stops the ping, the redaction pass (``bot.diagnosis.redact``) stops the leak, even
though the Reply is built from already-redacted data (defence in depth).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from bot.commands.reply import Button, Reply, ReplyField, Section

Block = dict[str, Any]


@dataclass(frozen=True)
class BlockLimits:
    """Block Kit limits (api.slack.com/reference/block-kit/blocks), kept as data."""

    header: int = 150
    section_text: int = 3000
    field_text: int = 2000
    fields_per_section: int = 10
    blocks: int = 50
    context_elements: int = 10
    context_text: int = 2000
    actions_elements: int = 25
    button_text: int = 75
    button_value: int = 2000
    action_id: int = 255
    fallback_text: int = 3900  # ``text`` over ~4k is truncated by Slack in notifications


LIMITS = BlockLimits()

# Block ids the adapter looks for when it edits a message it posted (alerts): the status line
# is replaced by the sink on updates, the ack/mute lines by the interactive handlers.
STATUS_BLOCK_ID = "sora_status"
ACK_BLOCK_ID = "sora_ack"
MUTE_BLOCK_ID = "sora_mute"
ACTIONS_BLOCK_ID = "sora_actions"

# Interactive action ids: Acknowledge and Mute 1 h on alert parents; Share on status replies
# (the id comes from ``bot.commands.views.status_reply``).
ACTION_ACK = "sora_alert_ack"
ACTION_MUTE_1H = "sora_alert_mute_1h"
ACTION_SHARE = "share_status"

ALERT_BUTTONS: tuple[Button, ...] = (
    Button(ACTION_ACK, "Acknowledge", "ack", style="primary"),
    Button(ACTION_MUTE_1H, "Mute 1 h", "mute 1h"),
)

_BUTTON_STYLES = frozenset({"primary", "danger"})
_PARTIAL_ENTITY = re.compile(r"&[a-z#0-9]{0,5}$")
_BOLD = re.compile(r"\*\*(.+?)\*\*", re.S)
_LINK = re.compile(r"\[([^\]\n]{1,200})\]\((https?://[^\s)]{1,1000})\)")


def _load_redact() -> Callable[[str], str]:
    """The core's redactor; identity only if the diagnosis package is absent (never in prod)."""
    try:
        from bot.diagnosis.redact import redact
    except ImportError:  # pragma: no cover - the core ships it
        return lambda text: text

    def _redact(text: str) -> str:
        result = redact(text)
        return result if isinstance(result, str) else getattr(result, "text", str(result))

    return _redact


_redact = _load_redact()


def redact(text: str) -> str:
    """Mask secrets in text that is about to leave the process."""
    return _redact(text) if text else text


def escape(text: str) -> str:
    """Slack's three control characters; stops ``<!channel>``/``<@U…>`` injection from pastes."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape(text: str) -> str:
    """What Slack does to message and command text on the way in, undone (``&amp;`` last)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def mrkdwn(text: str) -> str:
    """Neutral Reply markup (``**bold**``, ``[label](url)``, backticks) → Slack mrkdwn, escaped."""
    out = escape(redact(text))
    out = _BOLD.sub(r"*\1*", out)
    return _LINK.sub(lambda m: f"<{m.group(2)}|{m.group(1)}>", out)


def truncate(text: str, limit: int) -> str:
    """Cut to ``limit`` characters with an ellipsis, never inside an entity, code fences closed."""
    if len(text) <= limit:
        return text
    cut = _PARTIAL_ENTITY.sub("", text[: max(0, limit - 5)])
    if cut.count("```") % 2:
        cut += "```"
    return (cut + "…")[:limit]


def _text(kind: str, text: str, limit: int) -> dict[str, Any]:
    obj: dict[str, Any] = {"type": kind, "text": truncate(text, limit) or " "}
    if kind == "plain_text":
        obj["emoji"] = True
    return obj


def _chunks(lines: Iterable[str], limit: int) -> list[str]:
    """Pack lines into texts of at most ``limit`` characters (a long line is truncated)."""
    out: list[str] = []
    current = ""
    for line in lines:
        line = truncate(line, limit)
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            out.append(current)
            current = line
        else:
            current = candidate
    if current:
        out.append(current)
    return out


def header_block(reply: Reply) -> Block:
    # plain_text: Slack shows it literally, so no escaping (escaping would show "&lt;")
    return {"type": "header", "text": _text("plain_text", redact(f"{reply.severity.emoji} {reply.title}"),
                                              LIMITS.header)}


def _field_blocks(fields: Iterable[ReplyField]) -> list[Block]:
    blocks: list[Block] = []
    short: list[dict[str, Any]] = []

    def flush() -> None:
        for i in range(0, len(short), LIMITS.fields_per_section):
            blocks.append({"type": "section", "fields": short[i:i + LIMITS.fields_per_section]})
        short.clear()

    for f in fields:
        text = f"*{mrkdwn(f.label)}*\n{mrkdwn(f.value)}"
        if f.short:
            short.append(_text("mrkdwn", text, LIMITS.field_text))
        else:
            flush()
            blocks.append({"type": "section", "text": _text("mrkdwn", text, LIMITS.section_text)})
    flush()
    return blocks


def _section_blocks(section: Section) -> list[Block]:
    lines = [f"*{mrkdwn(section.title)}*"]
    for i, item in enumerate(section.items, 1):
        lines.append(f"{i}. {mrkdwn(item)}" if section.numbered else f"• {mrkdwn(item)}")
    return [{"type": "section", "text": _text("mrkdwn", chunk, LIMITS.section_text)}
            for chunk in _chunks(lines, LIMITS.section_text)]


def context_block(lines: Iterable[str], *, block_id: str | None = None, raw: bool = False) -> Block:
    """A context block; ``raw`` lines are adapter-made mrkdwn (mentions) and are not escaped."""
    elements = [_text("mrkdwn", line if raw else mrkdwn(line), LIMITS.context_text)
                for line in lines][: LIMITS.context_elements]
    block: Block = {"type": "context", "elements": elements}
    if block_id:
        block["block_id"] = block_id
    return block


def actions_block(buttons: Iterable[Button]) -> Block | None:
    elements = []
    seen: set[str] = set()
    for b in buttons:
        action_id = b.action_id[: LIMITS.action_id]
        if action_id in seen:  # Slack rejects duplicate action ids inside one block
            continue
        seen.add(action_id)
        element: dict[str, Any] = {"type": "button", "action_id": action_id,
                                   "text": _text("plain_text", b.label, LIMITS.button_text),
                                   "value": b.value[: LIMITS.button_value]}
        if b.style in _BUTTON_STYLES:
            element["style"] = b.style
        elements.append(element)
    if not elements:
        return None
    return {"type": "actions", "block_id": ACTIONS_BLOCK_ID,
            "elements": elements[: LIMITS.actions_elements]}


def _cap(head: list[Block], body: list[Block], tail: list[Block]) -> list[Block]:
    """At most 50 blocks: body (causes, lists) gives way first; header, context, buttons stay."""
    room = LIMITS.blocks - len(head) - len(tail)
    if len(body) > room:
        dropped = len(body) - (room - 1)
        body = body[: room - 1] + [context_block([f"… {dropped} more block(s) cut to fit Slack"])]
    return (head + body + tail)[: LIMITS.blocks]


def reply_blocks(reply: Reply, *, extra_context: Iterable[str] = (),
                 extra_buttons: Iterable[Button] = (), drop_actions: Iterable[str] = (),
                 status_line: str | None = None) -> list[Block]:
    """The Block Kit body of a Reply: header, text, fields, sections, context, buttons.

    ``status_line`` (alerts) becomes a context block with a known block id so it can be edited
    in place later; ``drop_actions`` removes buttons that make no sense where the message goes
    (no "Share" button on a message that is already shared).
    """
    head: list[Block] = [header_block(reply)]
    if status_line:
        head.append(context_block([status_line], block_id=STATUS_BLOCK_ID))
    if reply.text:
        head += [{"type": "section", "text": _text("mrkdwn", chunk, LIMITS.section_text)}
                 for chunk in _chunks(mrkdwn(reply.text).split("\n"), LIMITS.section_text)]
    head += _field_blocks(reply.fields)
    body: list[Block] = []
    for section in reply.sections:
        body += _section_blocks(section)
    tail: list[Block] = []
    context = [*reply.context]
    if context:
        tail.append(context_block(context))
    extra = list(extra_context)
    if extra:
        tail.append(context_block(extra, raw=True))
    dropped = set(drop_actions)
    actions = actions_block([b for b in (*reply.buttons, *extra_buttons) if b.action_id not in dropped])
    if actions:
        tail.append(actions)
    return _cap(head, body, tail)


def fallback_text(reply: Reply) -> str:
    """The ``text`` Slack shows in notifications and to screen readers: always set."""
    return truncate(escape(redact(reply.plain_text())), LIMITS.fallback_text)


def message_payload(reply: Reply, **kwargs: Any) -> dict[str, Any]:
    """``chat.postMessage``/``respond`` keyword arguments: ``text`` and ``blocks``."""
    return {"text": fallback_text(reply), "blocks": reply_blocks(reply, **kwargs)}


def response_payload(reply: Reply, *, public: bool | None = None, **kwargs: Any) -> dict[str, Any]:
    """A slash-command ack/``respond`` body: ephemeral unless the Reply (or caller) says public."""
    in_channel = (not reply.ephemeral) if public is None else public
    payload = message_payload(reply, **kwargs)
    payload["response_type"] = "in_channel" if in_channel else "ephemeral"
    return payload


def alert_blocks(reply: Reply, status_line: str, *, buttons: bool = True) -> list[Block]:
    """An alert parent: the notice, an editable status line, Acknowledge / Mute 1 h buttons."""
    return reply_blocks(reply, status_line=status_line,
                        extra_buttons=ALERT_BUTTONS if buttons else ())


def set_context_line(blocks: list[Block], block_id: str, line: str, *,
                     raw: bool = False) -> list[Block]:
    """Replace (or add, before the buttons) the context block ``block_id``: for chat.update.

    Works on the blocks Slack hands back in an interactive payload, so editing a message needs
    no stored copy of it.
    """
    new = context_block([line], block_id=block_id, raw=raw)
    out = [dict(b) for b in blocks]
    for i, b in enumerate(out):
        if b.get("block_id") == block_id:
            out[i] = new
            return out
    at = next((i for i, b in enumerate(out) if b.get("type") == "actions"), len(out))
    out.insert(at, new)
    return out[: LIMITS.blocks]


def without_actions(blocks: list[Block], action_ids: Iterable[str] | None = None) -> list[Block]:
    """Drop the given buttons (all actions blocks when ``action_ids`` is None), e.g. on resolve."""
    ids = None if action_ids is None else set(action_ids)
    out: list[Block] = []
    for b in blocks:
        if b.get("type") != "actions":
            out.append(b)
            continue
        if ids is None:
            continue
        kept = [e for e in b.get("elements", []) if e.get("action_id") not in ids]
        if kept:
            out.append({**b, "elements": kept})
    return out
