"""One Reply model, rendered by three surfaces (shell text, Slack Block Kit, Discord embeds).

Handlers return a Reply that carries both presentation hints (title, severity, fields, sections)
and the typed result (``data``: a Diagnosis, a StatusReport...), so renderers stay dumb and tests
can assert on fields instead of markup.

Text in a Reply is *inert*: the only markup a renderer may honour is a backtick code span.
Everything else — and above all anything that came from a paste — is shown literally: no bold,
no masked links, no auto-linked URLs (``bot.commands.markup`` splits text for renderers). A
clickable link exists only where the core put one on purpose, as a ``Link``.

Interactive controls are declared once, as ``Action``s, and each platform renders them its own
way (Slack buttons, selects and modals; Discord components and modals; the terminal lists
their commands). A click comes back to ``Router.handle_action``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from bot.diagnosis.model import CATEGORIES


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


class ReplyKind(str, Enum):
    HELP = "help"
    HINT = "hint"
    DIAGNOSIS = "diagnosis"
    STATUS = "status"
    PROBE = "probe"
    SUBSCRIPTION = "subscription"
    HISTORY = "history"
    ALERT = "alert"
    ERROR = "error"
    INFO = "info"


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
class Link:
    """A link the core vouches for (a status page, an incident). Never built from a paste."""

    title: str
    url: str


class ActionKind(str, Enum):
    """What a control does. The values are the wire ids (Slack ``action_id``, Discord
    ``custom_id``): messages already posted carry them, so they never change."""

    ACK = "sora_alert_ack"         # acknowledge an incident (value: incident id)
    MUTE = "sora_alert_mute_1h"    # mute the channel (value: a duration)
    SHARE = "share_status"         # post the status in the channel (value: "status public")
    NOTE = "sora_note"             # add a team note to an error kind (value: fingerprint)
    CORRECT = "sora_correct"       # correct the category of an error kind (value: fingerprint)

    @classmethod
    def from_wire(cls, action_id: str) -> ActionKind | None:
        try:
            return cls(action_id)
        except ValueError:
            return None


@dataclass(frozen=True)
class Action:
    """An interactive control on a Reply.

    ``value`` says what it acts on; ``choices`` make it a menu (the chosen value comes back);
    ``prompt`` makes it ask for text first (a modal), with ``placeholder`` shown in the box.
    """

    kind: ActionKind
    label: str
    value: str = ""
    style: str | None = None  # "primary" | "danger"
    choices: tuple[str, ...] = ()
    prompt: str | None = None
    placeholder: str | None = None

    @property
    def action_id(self) -> str:
        return self.kind.value

    @property
    def is_menu(self) -> bool:
        return bool(self.choices)


def ack_action(incident_id: object) -> Action:
    return Action(ActionKind.ACK, "Acknowledge", str(incident_id), style="primary")


def mute_action(duration: str = "1h") -> Action:
    return Action(ActionKind.MUTE, "Mute 1 h" if duration == "1h" else f"Mute {duration}",
                  duration)


def share_action() -> Action:
    return Action(ActionKind.SHARE, "Share in channel", "status public")


def note_action(fingerprint: str) -> Action:
    return Action(ActionKind.NOTE, "Add note", fingerprint, prompt="Team note on this error",
                  placeholder="What fixed it, or what to check first")


def correct_action(fingerprint: str) -> Action:
    return Action(ActionKind.CORRECT, "Correct category", fingerprint,
                  choices=tuple(c for c in CATEGORIES if c != "unknown"))


@dataclass(frozen=True)
class Reply:
    title: str
    severity: Severity = Severity.INFO
    text: str = ""
    fields: tuple[ReplyField, ...] = ()
    sections: tuple[Section, ...] = ()
    context: tuple[str, ...] = ()
    actions: tuple[Action, ...] = ()
    links: tuple[Link, ...] = ()
    ephemeral: bool = True
    kind: ReplyKind = ReplyKind.INFO
    data: object = field(default=None, compare=False)

    def without(self, *kinds: ActionKind) -> Reply:
        """The same Reply minus some controls (no "Share" on a message already shared)."""
        from dataclasses import replace

        return replace(self, actions=tuple(a for a in self.actions if a.kind not in kinds))

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
        for link in self.links:
            lines.append(f"{link.title}: {link.url}")
        for c in self.context:
            lines.append(c)
        return "\n".join(lines)
