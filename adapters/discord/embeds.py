"""Reply → ``discord.Embed``. Pure functions, no I/O: the rendering is tested on fields.

Why a renderer of its own: Discord rejects a whole message (HTTP 400, ``50035 Invalid Form
Body``) when one embed part breaks a limit, so every text is cut to the limits below *before*
sending, and the embed as a whole is kept under 6000 characters by giving way in a fixed order:
the short facts (fields) and the footer stay, the description is cut, then the long lists
(causes, actions, probes) lose their tail with a note saying so.

Every text passes the core's redactor on its way out (defence in depth: Replies are built from
already-redacted data, but a secret must never reach Discord even if a handler forgets), and is
made inert (``bot.commands.markup``): code spans stay code, a URL is a link only on a host the
bot itself points to (any other becomes a code span), the rest has its markdown escaped, so a
pasted ``[Rotate your key](https://evil.example)`` is never a masked link. Links the core means
are ``Reply.links``. Mentions in embeds never ping, and ``content`` is sent with mentions off.

Controls (``Reply.actions``) become message components: a button per action, a select menu for
an action with choices. The component's ``custom_id`` is the action's wire id, followed by
``:<value>`` when the action acts on something (an incident, an error kind).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import discord

from bot.commands.markup import Kind, segments
from bot.commands.reply import Action, ActionKind, Reply, ReplyField, Section, Severity
from bot.diagnosis.redact import redact as _redact


@dataclass(frozen=True)
class EmbedLimits:
    """Discord's embed and message limits (discord.com/developers/docs/resources/message)."""

    title: int = 256
    description: int = 4096
    fields: int = 25
    field_name: int = 256
    field_value: int = 1024
    footer: int = 2048
    author: int = 256
    total: int = 6000
    content: int = 2000
    inline_value: int = 60  # a field this short sits next to others (our choice, not Discord's)
    custom_id: int = 100
    button_label: int = 80
    select_options: int = 25
    option_label: int = 100
    option_value: int = 100
    placeholder: int = 150
    modal_title: int = 45
    text_input_label: int = 45


LIMITS = EmbedLimits()
STATUS_FIELD = "Status"  # alert parents: the line the sink edits as the incident moves on
ACK_FIELD = "Acknowledged"
MUTE_FIELD = "Muted"
BLANK = "\u200b"  # Discord rejects empty field names/values; a zero-width space is "nothing"
_FENCE = "```"
_ELLIPSIS = "…"


def redact(text: str) -> str:
    """Mask secrets in text that is about to leave the process."""
    return _redact(text) if text else text


def truncate(text: str, limit: int) -> str:
    """Cut to ``limit`` characters with an ellipsis; an open code fence is closed again."""
    if len(text) <= limit:
        return text
    cut = text[: max(0, limit - 1)]
    if cut.count(_FENCE) % 2:
        cut = text[: max(0, limit - 1 - len(_FENCE))] + _FENCE
    return (cut + _ELLIPSIS)[:limit]


# What can format in Discord markdown: emphasis/strike/spoiler/code markers anywhere; an
# underscore only at a word's edge (snake_case never formats); headings, quotes and subtext at a
# line's start. Brackets need nothing: a masked link needs a URL right after them, and every URL
# that is not the bot's own is already a code span (``bot.commands.markup``).
_SPECIAL = re.compile(r"[\\*~|`]|(?<!\w)_|_(?!\w)|^(?=#{1,3} |>|-# )", re.M)


def escape(text: str) -> str:
    """Literal text for Discord markdown: every formatting character backslash-escaped."""
    return _SPECIAL.sub(lambda m: "\\" + m.group(0), text)


def markdown(text: str) -> str:
    """Inert Reply text → Discord markdown (code spans kept, trusted URLs left to link)."""
    out: list[str] = []
    for seg in segments(text):
        if seg.kind is Kind.CODE:
            out.append(f"`{seg.text}`")
        elif seg.kind is Kind.LINK:
            out.append(seg.text)
        else:
            out.append(escape(seg.text))
    return "".join(out)


def _clean(text: str, limit: int) -> str:
    """Text for a part Discord renders as markdown (description, field names and values)."""
    return truncate(markdown(redact(text or "")), limit)


def _plain(text: str, limit: int) -> str:
    """Text for a part Discord shows as typed (title, footer, component labels)."""
    return truncate(redact(text or ""), limit)


def title_of(reply: Reply) -> str:
    return _plain(f"{reply.severity.emoji} {reply.title}", LIMITS.title)


def _section_lines(section: Section) -> list[str]:
    return [f"{i}. {item}" if section.numbered else f"• {item}"
            for i, item in enumerate(section.items, 1)]


def _pack(lines: Iterable[str], limit: int) -> list[str]:
    """Lines → values of at most ``limit`` characters (a longer line is cut on its own)."""
    out: list[str] = []
    current = ""
    for line in lines:
        line = truncate(line, limit)
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit and current:
            out.append(current)
            current = line
        else:
            current = candidate
    if current:
        out.append(current)
    return out


FOOTER_CAP = 1024  # our choice: context lines are short; the rest of the 6000 is worth more
NOTE_RESERVE = 64  # room kept for the "… cut to fit" note
SECTION_RESERVE = 2000  # the lists (causes, actions) are the point of most replies


@dataclass
class _Budget:
    """What is left of the 6000-character total and the 25 fields (one kept for the note)."""

    chars: int
    fields: int = LIMITS.fields - 1
    cut: int = 0  # fields or list items that did not fit

    def fits(self, n: int) -> bool:
        return self.fields > 0 and n <= self.chars

    def take(self, n: int) -> None:
        self.chars -= n
        self.fields -= 1


def _field_len(name: str, value: str) -> int:
    return len(name) + len(value)


def _section_fields(section: Section) -> list[tuple[str, str]]:
    name = _clean(section.title, LIMITS.field_name) or BLANK
    values = _pack([markdown(redact(line)) for line in _section_lines(section)], LIMITS.field_value)
    return [(name if i == 0 else truncate(f"{name} (cont.)", LIMITS.field_name), value)
            for i, value in enumerate(values)]


def reply_embed(reply: Reply, *, status_line: str | None = None,
                footer_extra: Iterable[str] = (),
                extra_fields: Iterable[tuple[str, str]] = ()) -> discord.Embed:
    """The embed of a Reply: severity emoji in the title, colour from the severity, the text
    as description, fields (inline when short), sections as fields (numbered for actions), and
    the context lines as footer.

    ``status_line`` (alerts) becomes a first field named ``Status`` that the sink edits in place
    later; ``extra_fields`` (e.g. who acknowledged) follow it; ``footer_extra`` adds footer
    parts (the sink's delivery reference, kept whole: it is put first when cutting).

    Within 6000 characters the order of giving way is: the description is cut first (down to
    what leaves the lists up to ``SECTION_RESERVE``), then list items and fields at the end, and
    a last field says how many were cut.
    """
    title = title_of(reply)
    extra = [redact(x) for x in footer_extra]
    context = _plain(" · ".join(reply.context), max(0, FOOTER_CAP - sum(len(x) + 3 for x in extra)))
    footer = truncate(" · ".join(p for p in (context, *extra) if p), LIMITS.footer)
    budget = _Budget(chars=LIMITS.total - len(title) - len(footer) - NOTE_RESERVE)

    head: list[tuple[str, str, bool]] = []
    if status_line:
        head.append((STATUS_FIELD, _clean(status_line, LIMITS.field_value), False))
    for name, value in extra_fields:
        head.append((_clean(name, LIMITS.field_name) or BLANK,
                     _clean(value, LIMITS.field_value) or BLANK, False))
    head += [_reply_field(f) for f in reply.fields]
    sections = [_section_fields(s) for s in reply.sections]
    if reply.links:
        sections.append(_links_fields(reply))
    head_need = sum(_field_len(n, v) for n, v, _ in head)
    list_need = min(SECTION_RESERVE, sum(_field_len(n, v) for fs in sections for n, v in fs))

    room = max(0, min(LIMITS.description, budget.chars - head_need - list_need))
    description = _clean(reply.text, room)
    budget.chars -= len(description)

    embed = discord.Embed(title=title, description=description or None,
                          colour=discord.Colour(reply.severity.color))
    for name, value, inline in head:
        if budget.fits(_field_len(name, value)):
            embed.add_field(name=name, value=value, inline=inline)
            budget.take(_field_len(name, value))
        else:
            budget.cut += 1
    for fields in sections:
        for name, value in fields:
            room = budget.chars - len(name)
            if budget.fields > 0 and room >= 40 and len(value) > room:
                kept = _pack(value.split("\n"), room)[0] if "\n" in value else truncate(value, room)
                budget.cut += value.count("\n") - kept.count("\n")
                value = kept
            if budget.fits(_field_len(name, value)):
                embed.add_field(name=name, value=value, inline=False)
                budget.take(_field_len(name, value))
            else:
                budget.cut += value.count("\n") + 1
    if budget.cut:
        embed.add_field(name=BLANK, value=f"… {budget.cut} more item(s) cut to fit Discord", inline=False)
    if footer:
        embed.set_footer(text=footer)
    return embed


def _links_fields(reply: Reply) -> list[tuple[str, str]]:
    """The core's links as masked links (titles escaped; URLs are the core's, not a paste's)."""
    lines = [f"[{escape(redact(link.title))}]({link.url})" for link in reply.links]
    return [("Links" if i == 0 else "Links (cont.)", value)
            for i, value in enumerate(_pack(lines, LIMITS.field_value))]


def _reply_field(f: ReplyField) -> tuple[str, str, bool]:
    name = _clean(f.label, LIMITS.field_name) or BLANK
    value = _clean(f.value, LIMITS.field_value) or BLANK
    return name, value, f.short and len(value) <= LIMITS.inline_value


def fallback_text(reply: Reply) -> str:
    """The whole Reply as message content, for a channel where the bot may not embed links:
    content is markdown too, so it is made inert like the embed."""
    return truncate(markdown(redact(reply.plain_text())), LIMITS.content)


# Controls --------------------------------------------------------------------------------------

_BUTTON_STYLE = {"primary": 1, "danger": 4}  # anything else: secondary (2)
DEFAULT_VALUES: dict[ActionKind, str] = {ActionKind.MUTE: "1h", ActionKind.SHARE: "status public"}
MENU_SEPARATOR = "|"


def custom_id(action: Action) -> str:
    """``sora_alert_ack:42``; the value is left out when it is the action's default, so ids
    of messages posted before values existed (``sora_alert_mute_1h``) still mean the same."""
    if not action.value or DEFAULT_VALUES.get(action.kind) == action.value:
        return action.action_id
    return f"{action.action_id}:{action.value}"[: LIMITS.custom_id]


def parse_custom_id(raw: str) -> tuple[ActionKind, str] | None:
    wire, _, value = raw.partition(":")
    kind = ActionKind.from_wire(wire)
    if kind is None:
        return None
    return kind, value or DEFAULT_VALUES.get(kind, "")


def components(actions: Iterable[Action]) -> list[dict[str, Any]]:
    """Message components (raw API JSON): one action row of buttons, one row per menu."""
    buttons: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    for action in actions:
        if action.is_menu:
            options = [{"label": truncate(choice, LIMITS.option_label),
                        "value": f"{choice}{MENU_SEPARATOR}{action.value}"[: LIMITS.option_value]}
                       for choice in action.choices[: LIMITS.select_options]]
            rows.append({"type": 1, "components": [{
                "type": 3, "custom_id": custom_id(action), "options": options,
                "placeholder": truncate(action.label, LIMITS.placeholder)}]})
        else:
            buttons.append({"type": 2, "style": _BUTTON_STYLE.get(action.style or "", 2),
                            "label": truncate(action.label, LIMITS.button_label),
                            "custom_id": custom_id(action)})
    if buttons:
        rows.insert(0, {"type": 1, "components": buttons[:5]})
    return rows[:5]


def chosen(values: Iterable[str]) -> str | None:
    """A select menu's submitted value → the choice (the part before the separator)."""
    for value in values:
        return value.partition(MENU_SEPARATOR)[0] or None
    return None


def headline(reply: Reply, status: str | None = None) -> str:
    """One line for ``content`` of alerts: what push notifications and screen readers show."""
    text = f"{reply.severity.emoji} {reply.title}"
    if status:
        text += f" — {status}"
    return truncate(redact(text), LIMITS.content)


# Editing embeds that are already posted (dicts as Discord returns them) --------------------------

def embed_length(embed: Mapping[str, Any]) -> int:
    """Characters that count toward the 6000 total, for an embed dict."""
    total = len(embed.get("title") or "") + len(embed.get("description") or "")
    total += len((embed.get("footer") or {}).get("text") or "")
    total += len((embed.get("author") or {}).get("name") or "")
    for f in embed.get("fields") or ():
        total += len(f.get("name") or "") + len(f.get("value") or "")
    return total


def set_field(embed: Mapping[str, Any], name: str, value: str, *, after: str | None = None
              ) -> dict[str, Any]:
    """A copy of ``embed`` with field ``name`` set to ``value`` (replaced in place, or inserted
    after field ``after`` / first when missing). Works on the embed Discord hands back, so an edit
    needs no stored copy; the last fields give way if the total would pass 6000."""
    out = dict(embed)
    fields = [dict(f) for f in embed.get("fields") or ()]
    new = {"name": _clean(name, LIMITS.field_name) or BLANK,
           "value": _clean(value, LIMITS.field_value) or BLANK, "inline": False}
    for i, f in enumerate(fields):
        if f.get("name") == new["name"]:
            fields[i] = new
            break
    else:
        at = 0
        if after is not None:
            at = next((i + 1 for i, f in enumerate(fields) if f.get("name") == after), 0)
        fields.insert(at, new)
    out["fields"] = fields[: LIMITS.fields]
    while embed_length(out) > LIMITS.total and len(out["fields"]) > 1:
        out["fields"] = out["fields"][:-1]
    return out


def field_value(embed: Mapping[str, Any], name: str) -> str | None:
    for f in embed.get("fields") or ():
        if f.get("name") == name:
            return str(f.get("value"))
    return None


def retitle(embed: Mapping[str, Any], reply: Reply) -> dict[str, Any]:
    """A copy of ``embed`` with the title and colour of ``reply`` (e.g. resolved: green)."""
    return {**embed, "title": title_of(reply), "color": reply.severity.color}


def severity_for(name: str | None, default: Severity = Severity.ERROR) -> Severity:
    return {s.value: s for s in Severity}.get(str(name), default)
