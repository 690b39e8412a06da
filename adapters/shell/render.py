"""Reply → terminal text, coloured when writing to a terminal."""

from __future__ import annotations

from bot.commands.reply import Reply, Severity

_ANSI = {Severity.OK: "32", Severity.INFO: "36", Severity.WARNING: "33", Severity.ERROR: "31",
         Severity.CRITICAL: "1;31"}


def _c(text: str, code: str, color: bool) -> str:
    return f"\033[{code}m{text}\033[0m" if color else text


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
    for ctx in reply.context:
        lines.append(_c(ctx, "2", color))
    return "\n".join(lines)
