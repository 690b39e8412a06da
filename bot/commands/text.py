"""Reply → plain terminal text, coloured when writing to a terminal.

In the core because two surfaces print Replies as text — the shell adapter and the one-shot
CLI (``sora-bot status``, ``sora-bot diagnose``) — and the CLI must not import an adapter.
"""

from __future__ import annotations

from bot.commands.reply import Action, ActionKind, Reply, Severity

_ANSI = {Severity.OK: "32", Severity.INFO: "36", Severity.WARNING: "33", Severity.ERROR: "31",
         Severity.CRITICAL: "1;31"}

# What a control does, typed as a command (the terminal has no buttons).
_TYPED: dict[ActionKind, str] = {
    ActionKind.ACK: "",  # nothing to type: the terminal is its own audience
    ActionKind.MUTE: "/sora mute {value}",
    ActionKind.SHARE: "",
    ActionKind.NOTE: "/sora note {value} <text>",
    ActionKind.CORRECT: "/sora correct {value} <category>",
}


def _c(text: str, code: str, color: bool) -> str:
    return f"\033[{code}m{text}\033[0m" if color else text


def typed_command(action: Action) -> str:
    return _TYPED.get(action.kind, "").replace("{value}", action.value)


def render_text(reply: Reply, *, color: bool = False) -> str:
    lines = [_c(f"{reply.severity.emoji} {reply.title}", _ANSI[reply.severity], color)]
    if reply.text:
        lines.append(reply.text)
    if reply.fields:
        width = max(len(f.label) for f in reply.fields)
        for f in reply.fields:
            lines.append(f"  {_c(f.label.ljust(width), '1', color)}  {f.value}")
    for section in reply.sections:
        lines.append(_c(section.title + ":", "1", color))
        for i, item in enumerate(section.items, 1):
            lines.append(f"  {i}. {item}" if section.numbered else f"  - {item}")
    for link in reply.links:
        lines.append(f"  {link.title}: {link.url}")
    typed = [t for t in (typed_command(a) for a in reply.actions) if t]
    if typed:
        lines.append(_c("Also: " + " · ".join(typed), "2", color))
    for ctx in reply.context:
        lines.append(_c(ctx, "2", color))
    return "\n".join(lines)
