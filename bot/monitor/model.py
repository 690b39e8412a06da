"""The monitor's inputs and outputs: Outcome in, Decision out, each with its reason.

``Decision.reason`` is one of ``REASONS`` (the same words the store keeps in the incident
timeline), so "why did the bot post?" is answered by data, and ``Explanation`` answers "why did
it not?" (a streak not yet long enough, a flapping hold, an official update already seen).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.clock import as_utc
from bot.diagnosis.model import CATEGORIES

SOURCES: tuple[str, ...] = ("probe", "chat", "ingest")
ACTIONS: tuple[str, ...] = ("open", "update", "resolve", "flapping")
KINDS: tuple[str, ...] = ("outage", "surge", "official", "flapping")

FIRST_NOTICE = "first notice"
SEVERITY_CHANGED = "severity changed"
OFFICIAL_UPDATE = "official update"
NEW_EVIDENCE = "new evidence"
RESOLVED = "resolved"
FLAPPING = "flapping"
REASONS: tuple[str, ...] = (FIRST_NOTICE, SEVERITY_CHANGED, OFFICIAL_UPDATE, NEW_EVIDENCE,
                            RESOLVED, FLAPPING)

# Verdict statuses of one evaluation of one key.
BAD = "bad"
HEALTHY = "healthy"
HOLD = "hold"  # neither: between the open and resolve thresholds, or not enough data


@dataclass(frozen=True)
class Outcome:
    """One observation: a probe result (ok or not) or one error of the team's stream.

    Errors from chat pastes and the ingest API are failures only (``ok`` is False): the team's
    successes are never reported, which is why their evidence is counted as bursts, not rates.
    ``kind`` is the probe kind (reachability, auth, videos, generate) for probe results.
    """

    target: str
    at: datetime
    ok: bool
    category: str | None = None
    source: str = "probe"
    channel_key: str | None = None
    kind: str | None = None
    failure: str | None = None  # probes: bot.connectivity.FAILURES word of a failed result

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise ValueError(f"Outcome.source must be one of {', '.join(SOURCES)}; "
                             f"got {self.source!r}")
        if self.source != "probe" and self.ok:
            raise ValueError("Outcome: chat and ingest outcomes are errors (ok=False)")
        if not self.target:
            raise ValueError("Outcome.target must be a target name")
        object.__setattr__(self, "at", as_utc(self.at))
        if self.ok:
            object.__setattr__(self, "category", None)
        elif self.category not in CATEGORIES:
            object.__setattr__(self, "category", "unknown")

    @property
    def reporter(self) -> str:
        """Who saw it: a chat channel, the ingest API (the team's app), or the probes."""
        return self.channel_key or self.source


@dataclass(frozen=True)
class Decision:
    """One change to post: open, update, resolve an incident, or a single flapping notice."""

    action: str          # 'open' | 'update' | 'resolve' | 'flapping'
    key: str             # 'outage:<target>', 'surge:<category>', 'official:<id>', 'flapping:<subject>'
    kind: str            # 'outage' | 'surge' | 'official' | 'flapping'
    target: str | None
    severity: str
    reason: str          # one of REASONS: why the bot posts
    title: str
    summary: str
    linked_key: str | None = None
    at: datetime | None = None
    fields: tuple[tuple[str, str], ...] = ()
    url: str | None = None
    official_update_at: str | None = None

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"Decision.action must be one of {ACTIONS}; got {self.action!r}")
        if self.kind not in KINDS:
            raise ValueError(f"Decision.kind must be one of {KINDS}; got {self.kind!r}")
        if self.reason not in REASONS:
            raise ValueError(f"Decision.reason must be one of {REASONS}; got {self.reason!r}")


@dataclass(frozen=True)
class Verdict:
    """What one evaluation of one key found, before hysteresis decides what to do with it."""

    status: str                            # BAD | HEALTHY | HOLD
    severity: str                          # the severity it would carry now
    why: str                               # one line of evidence, for notes and summaries
    evidence: frozenset[str] = frozenset() # kinds of bad evidence present: 'probes', 'team'
    title: str = ""
    summary: str = ""
    fields: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class OfficialChange:
    """A status-page change. ``bot.status_page.model.StatusChange`` works as is (duck-typed:
    ``kind``, ``incident``, and the new indicator in ``indicator`` or, for
    'indicator_changed', in ``new``).

    ``kind``: 'indicator'/'indicator_changed' (the page's worst relevant status changed),
    'incident_opened', 'incident_updated' or 'incident_resolved'. ``incident`` is the stored
    shape ``{id, name, status, url, updated_at, latest_update}`` (plus ``impact`` when known).
    """

    kind: str
    incident: Mapping[str, Any] | None = None
    indicator: str | None = None


@dataclass(frozen=True)
class Explanation:
    """One line of the monitor's reasoning about a key (posted or not)."""

    at: datetime
    key: str
    status: str                  # the verdict status, or 'official'
    note: str                    # why it did, or did not, post
    decisions: tuple[str, ...] = field(default=())  # "open (first notice)", ...

    def __str__(self) -> str:
        done = f" -> {', '.join(self.decisions)}" if self.decisions else ""
        return f"{self.at:%H:%M:%S} {self.key} [{self.status}] {self.note}{done}"


__all__ = [
    "ACTIONS", "BAD", "Decision", "Explanation", "FIRST_NOTICE", "FLAPPING", "HEALTHY", "HOLD",
    "KINDS", "NEW_EVIDENCE", "OFFICIAL_UPDATE", "OfficialChange", "Outcome", "REASONS",
    "RESOLVED", "SEVERITY_CHANGED", "SOURCES", "Verdict",
]
