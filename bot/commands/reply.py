"""One Reply model, rendered by three surfaces (shell text, Slack Block Kit, Discord embeds).

Handlers return a Reply that carries both presentation hints (title, severity, fields, sections)
and the typed result (``data``: a Diagnosis, a StatusReport...), so renderers stay dumb and tests
can assert on fields instead of markup.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class Severity(str, Enum):
    OK = "ok"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"
    CRITICAL = "critical"

    @property
    def emoji(self) -> str:
        return {"ok": "✅", "info": "ℹ️", "warning": "⚠️", "error": "❌", "critical": "🚨"}[self.value]

    @property
    def color(self) -> int:
        """RGB colour for Discord embeds / Slack attachments."""
        return {"ok": 0x2EB67D, "info": 0x1D9BD1, "warning": 0xECB22E, "error": 0xE01E5A,
                "critical": 0x8B0000}[self.value]


@dataclass(frozen=True)
class ReplyField:
    label: str
    value: str
    short: bool = True


@dataclass(frozen=True)
class Section:
    """A titled list: ranked causes, numbered actions, components, probes."""

    title: str
    items: tuple[str, ...]
    numbered: bool = False


@dataclass(frozen=True)
class Button:
    action_id: str
    label: str
    value: str
    style: str | None = None  # "primary" | "danger"


@dataclass(frozen=True)
class Reply:
    title: str
    severity: Severity = Severity.INFO
    text: str = ""
    fields: tuple[ReplyField, ...] = ()
    sections: tuple[Section, ...] = ()
    context: tuple[str, ...] = ()
    buttons: tuple[Button, ...] = ()
    ephemeral: bool = True
    kind: str = "info"  # help | diagnosis | status | probe | subscription | history | alert | error
    data: Any = field(default=None, compare=False)

    def plain_text(self) -> str:
        """A complete plain-text rendering; also the fallback ``text`` of rich messages."""
        lines = [f"{self.severity.emoji} {self.title}"]
        if self.text:
            lines.append(self.text)
        for f in self.fields:
            lines.append(f"{f.label}: {f.value}")
        for s in self.sections:
            lines.append(f"{s.title}:")
            for i, item in enumerate(s.items, 1):
                lines.append(f"  {i}. {item}" if s.numbered else f"  - {item}")
        for c in self.context:
            lines.append(c)
        return "\n".join(lines)
