"""Reply → Block Kit. Pure functions, no I/O, so the rendering is tested on fields, not on Slack.

Why a renderer of its own: Slack silently rejects a whole message (``invalid_blocks``) when one
block breaks a limit, so every text is cut to the limits below *before* sending, and every piece
of user-influenced text is made inert. A pasted error can hold ``<!channel>``, a phishing link
or a secret: Reply text goes through ``bot.commands.markup`` (code spans stay code, a URL is a
link only on a host the bot itself points to, everything else is literal), mrkdwn objects are
sent ``verbatim`` (Slack then auto-links nothing), Slack's control characters are escaped and
emphasis markers that could open formatting are defused; the redaction pass
(``bot.diagnosis.redact``) stops the leak, even though the Reply is built from already-redacted
data (defence in depth).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from bot.commands.markup import Kind, segments
from bot.commands.reply import Action, ActionKind, Link, Reply, ReplyField, Section, note_action

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
    select_options: int = 100
    option_text: int = 75
    option_value: int = 150
    placeholder: int = 150
    modal_title: int = 24
    private_metadata: int = 3000
    fallback_text: int = 3900  # ``text`` over ~4k is truncated by Slack in notifications


LIMITS = BlockLimits()

# Block ids the adapter looks for when it edits a message it posted (alerts): the status line
# is replaced by the sink on updates, the ack/mute lines by the interactive handlers.
STATUS_BLOCK_ID = "sora_status"
ACK_BLOCK_ID = "sora_ack"
MUTE_BLOCK_ID = "sora_mute"
ACTIONS_BLOCK_ID = "sora_actions"
MENTION_BLOCK_ID = "sora_mention"  # who a critical notice pages (the operator file's [mentions])

# Interactive action ids are the core's (``bot.commands.reply.ActionKind``): posted messages
# carry them, so they never change.
ACTION_ACK = ActionKind.ACK.value
ACTION_MUTE_1H = ActionKind.MUTE.value
ACTION_SHARE = ActionKind.SHARE.value
MENU_SEPARATOR = "|"  # a menu option's value: "<choice>|<what the menu acts on>"

_BUTTON_STYLES = frozenset({"primary", "danger"})
_PARTIAL_ENTITY = re.compile(r"&[a-z#0-9]{0,5}$")
# An emphasis marker that could open formatting: at the start or after a space/bracket, and
# followed by a non-space. Inside words (invalid_request_error) Slack never formats.
_OPENER = re.compile(r"(?:^|(?<=[\s(\[{\"']))([*_~])(?=\S)", re.M)
_ZWSP = "\u200b"


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


def _literal(text: str) -> str:
    """Text shown as typed: control characters escaped, emphasis openers defused."""
    return _OPENER.sub(lambda m: _ZWSP + m.group(1), escape(text))


def mrkdwn(text: str) -> str:
    """Inert Reply text → Slack mrkdwn: code spans stay code, trusted URLs are links, any
    other URL becomes a code span (readable, never clickable), the rest is literal."""
    out: list[str] = []
    for seg in segments(redact(text)):
        if seg.kind is Kind.CODE:
            out.append(f"`{escape(seg.text)}`")
        elif seg.kind is Kind.LINK:
            out.append(f"<{escape(seg.text)}>")
        else:
            out.append(_literal(seg.text))
    return "".join(out)


def link(item: Link) -> str:
    """A link the core vouches for, with its (escaped) title."""
    title = escape(redact(item.title)).replace("|", "¦")
    return f"<{escape(item.url)}|{title}>"


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
    else:
        obj["verbatim"] = True  # no auto-linking, no @here/#channel parsing: text is inert
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


def _element(action: Action) -> dict[str, Any]:
    """One control: a button, or a menu (``static_select``) when the action has choices."""
    action_id = action.action_id[: LIMITS.action_id]
    if action.is_menu:
        options = [{"text": _text("plain_text", choice, LIMITS.option_text),
                    "value": f"{choice}{MENU_SEPARATOR}{action.value}"[: LIMITS.option_value]}
                   for choice in action.choices[: LIMITS.select_options]]
        return {"type": "static_select", "action_id": action_id,
                "placeholder": _text("plain_text", action.label, LIMITS.placeholder),
                "options": options}
    element: dict[str, Any] = {"type": "button", "action_id": action_id,
                               "text": _text("plain_text", action.label, LIMITS.button_text),
                               "value": (action.value or action.kind.name.lower())[: LIMITS.button_value]}
    if action.style in _BUTTON_STYLES:
        element["style"] = action.style
    return element


def actions_block(actions: Iterable[Action]) -> Block | None:
    elements = []
    seen: set[str] = set()
    for a in actions:
        if a.action_id in seen:  # Slack rejects duplicate action ids inside one block
            continue
        seen.add(a.action_id)
        elements.append(_element(a))
    if not elements:
        return None
    return {"type": "actions", "block_id": ACTIONS_BLOCK_ID,
            "elements": elements[: LIMITS.actions_elements]}


def action_value(payload: dict[str, Any]) -> tuple[str, str | None]:
    """A ``block_actions`` action → (what it acts on, the chosen option or None)."""
    selected = payload.get("selected_option")
    if isinstance(selected, dict):
        choice, _, value = str(selected.get("value") or "").partition(MENU_SEPARATOR)
        return value, choice or None
    return str(payload.get("value") or ""), None


def note_modal(callback_id: str, private_metadata: str, block_id: str, input_id: str) -> dict[str, Any]:
    """The "Add note" modal (``views.open``); its wording is the core's note action."""
    spec = note_action("")
    return {
        "type": "modal", "callback_id": callback_id,
        "title": _text("plain_text", "Add a team note", LIMITS.modal_title),
        "submit": _text("plain_text", "Save", LIMITS.modal_title),
        "close": _text("plain_text", "Cancel", LIMITS.modal_title),
        "private_metadata": private_metadata[: LIMITS.private_metadata],
        "blocks": [{
            "type": "input", "block_id": block_id,
            "label": _text("plain_text", spec.prompt or "Note", 2000),
            "element": {"type": "plain_text_input", "action_id": input_id, "multiline": True,
                        "max_length": 2000,
                        "placeholder": _text("plain_text", spec.placeholder or "", LIMITS.placeholder)},
        }],
    }


def _cap(head: list[Block], body: list[Block], tail: list[Block]) -> list[Block]:
    """At most 50 blocks: body (causes, lists) gives way first; header, context, buttons stay."""
    room = LIMITS.blocks - len(head) - len(tail)
    if len(body) > room:
        dropped = len(body) - (room - 1)
        body = body[: room - 1] + [context_block([f"… {dropped} more block(s) cut to fit Slack"])]
    return (head + body + tail)[: LIMITS.blocks]


def reply_blocks(reply: Reply, *, extra_context: Iterable[str] = (),
                 status_line: str | None = None, actions: bool = True) -> list[Block]:
    """The Block Kit body of a Reply: header, text, fields, sections, links, context, controls.

    ``status_line`` (alerts) becomes a context block with a known block id so it can be edited
    in place later; ``actions=False`` leaves the controls out (a resolved alert).
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
    if reply.links:
        body += [{"type": "section", "text": _text("mrkdwn", chunk, LIMITS.section_text)}
                 for chunk in _chunks([link(item) for item in reply.links], LIMITS.section_text)]
    tail: list[Block] = []
    context = [*reply.context]
    if context:
        tail.append(context_block(context))
    extra = list(extra_context)
    if extra:
        tail.append(context_block(extra, raw=True))
    controls = actions_block(reply.actions) if actions else None
    if controls:
        tail.append(controls)
    return _cap(head, body, tail)


def fallback_text(reply: Reply) -> str:
    """The ``text`` Slack shows in notifications and to screen readers: always set."""
    return truncate(mrkdwn(reply.plain_text()), LIMITS.fallback_text)


def message_payload(reply: Reply, **kwargs: Any) -> dict[str, Any]:
    """``chat.postMessage``/``respond`` keyword arguments: ``text`` and ``blocks``."""
    return {"text": fallback_text(reply), "blocks": reply_blocks(reply, **kwargs)}


def response_payload(reply: Reply, *, public: bool | None = None, **kwargs: Any) -> dict[str, Any]:
    """A slash-command ack/``respond`` body: ephemeral unless the Reply (or caller) says public."""
    in_channel = (not reply.ephemeral) if public is None else public
    payload = message_payload(reply, **kwargs)
    payload["response_type"] = "in_channel" if in_channel else "ephemeral"
    return payload


def group_mention(group_id: str) -> str:
    """A user group mention in mrkdwn (Slack notifies every member)."""
    return f"<!subteam^{group_id}>"


def with_mention(blocks: list[Block], group_id: str) -> list[Block]:
    """The blocks with a section paging ``group_id`` right under the header; at most 50 blocks
    (a body section gives way, never the header, the status line or the buttons)."""
    at = 1 if blocks and blocks[0].get("type") == "header" else 0
    section: Block = {"type": "section", "block_id": MENTION_BLOCK_ID,
                      "text": {"type": "mrkdwn", "text": group_mention(group_id)}}
    out = [*blocks[:at], section, *blocks[at:]]
    while len(out) > LIMITS.blocks:
        body = [i for i, b in enumerate(out) if b.get("type") == "section" and "block_id" not in b]
        del out[body[-1] if body else -2]
    return out


def alert_blocks(reply: Reply, status_line: str, *, buttons: bool = True) -> list[Block]:
    """An alert parent: the notice, an editable status line, its controls (Acknowledge,
    Mute 1 h, as the core declared them) unless ``buttons`` is off (resolved)."""
    return reply_blocks(reply, status_line=status_line, actions=buttons)


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
