"""What team memory hands the command layer: plain frozen values, no database rows.

A *team* is who owns the memory: a Slack workspace, a Discord guild, the terminal. Its key is
``<platform>:<workspace>`` (``slack:T0123``, ``discord:81234…``, ``shell:local``; see
``bot.memory.teams``). Every read and write names the team, so one never sees another's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

TEAM_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}:[A-Za-z0-9._:@-]{1,100}$")
FINGERPRINT_RE = re.compile(r"^fp_[0-9a-f]{4,64}$")
NOTE_MAX = 2000  # characters a note keeps (Slack's and Discord's text boxes allow as much)


def check_team(value: str) -> str:
    """A team key as written in settings or the ingest API; ValueError (one line) if not."""
    if not TEAM_RE.match(value):
        raise ValueError("must look like <platform>:<workspace>, e.g. slack:T0123ABCD, "
                         "discord:<guild id> or shell:local")
    return value


def clean_fingerprint(text: str) -> str:
    """A fingerprint as people paste it back (in backticks, with a trailing comma…)."""
    return text.strip().strip("`'\".,;:()[]").lower()


@dataclass(frozen=True)
class Note:
    author: str
    at: datetime
    text: str  # redacted when it was stored


@dataclass(frozen=True)
class Correction:
    category: str
    was: str  # what the engine said when the team corrected it
    by: str
    at: datetime


@dataclass(frozen=True)
class Recall:
    """What the team knows about one kind, as of the event being answered.

    ``count`` includes this event when it was ``counted`` (counting is on where it was
    pasted); ``last_seen`` is the sighting before this one."""

    fingerprint: str
    count: int = 0
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    counted: bool = True
    notes: tuple[Note, ...] = ()
    notes_total: int = 0
    correction: Correction | None = None


@dataclass(frozen=True)
class TopEntry:
    fingerprint: str
    category: str        # the team's: its correction when there is one
    corrected: bool
    count: int           # in the window
    first_seen: datetime
    last_seen: datetime
    bins: tuple[int, ...]
    notes: int


@dataclass(frozen=True)
class TopReport:
    window: str
    entries: tuple[TopEntry, ...]
    total: int   # the team's events in the window


@dataclass(frozen=True)
class Trend:
    """The team's error counts per bin over a short window (the status sparkline)."""

    window: str
    bins: tuple[int, ...]

    @property
    def total(self) -> int:
        return sum(self.bins)


__all__ = ["Correction", "FINGERPRINT_RE", "NOTE_MAX", "Note", "Recall", "TEAM_RE", "TopEntry",
           "TopReport", "Trend", "check_team", "clean_fingerprint"]
