"""The incident lifecycle as one pure function: ``decide(track, verdict, policy, now)``.

``Track`` is everything remembered about one key (an outage of a target, a surge of a category)
between evaluations; ``decide`` returns the next Track, the notices to post (``Intent``) each
with its reason, and a note saying why nothing else was posted. No clock, no I/O: the table
test in tests/monitor drives it row by row.

Rules, in order:
1. Flapping ends when the key has not changed state for ``flap_window_s``: one resolve of the
   flapping notice, then the posted incident is brought in line with the real state (opened if
   it is failing, resolved if it is not): at most two notices for the whole flapping episode.
2. Open after ``open_after`` consecutive bad verdicts; resolve after ``resolve_after`` healthy
   ones. Every such change is remembered; the ``flap_max_changes``-th change within
   ``flap_window_s`` sends ONE flapping notice, and from then on opens and resolves are held
   (a resolve that makes the flapping notice also goes out, so no incident is left open that
   the bot knows is over).
3. While open and posted: a higher severity posts an update ('severity changed'); a lower one is
   noted but not posted (recoveries are announced once, by the resolve); a new kind of evidence
   ('probes' confirming what the team's errors said) posts 'new evidence'.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.monitor.model import (
    BAD,
    FIRST_NOTICE,
    FLAPPING,
    HEALTHY,
    NEW_EVIDENCE,
    RESOLVED,
    SEVERITY_CHANGED,
    Verdict,
)
from bot.monitor.policy import SEVERITY_RANK

MAIN = "main"          # the key's own incident (outage:<target>, surge:<category>)
FLAP = "flapping"      # its flapping notice (flapping:<subject>)


class Lifecycle(Protocol):
    open_after: int
    resolve_after: int
    flap_window_s: float
    flap_max_changes: int


@dataclass(frozen=True)
class Track:
    """What the monitor remembers about one key."""

    active: bool = False                     # hysteresis state: the condition holds
    posted: bool = False                     # an incident for the key is open in the store
    severity: str | None = None              # severity last posted
    evidence: frozenset[str] = frozenset()   # evidence kinds already told
    bad_streak: int = 0
    good_streak: int = 0
    changes: tuple[datetime, ...] = ()       # when `active` flipped, within the flap window
    flapping: bool = False                   # a flapping notice is out; opens/resolves held
    last_change_at: datetime | None = None


@dataclass(frozen=True)
class Intent:
    """One notice to post: ``action`` on the key's own incident (MAIN) or its flapping one."""

    action: str        # 'open' | 'update' | 'resolve' | 'flapping'
    reason: str
    severity: str
    subject: str = MAIN


@dataclass(frozen=True)
class Step:
    track: Track
    intents: tuple[Intent, ...]
    note: str


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:g} min"


def decide(track: Track, verdict: Verdict, policy: Lifecycle, now: datetime) -> Step:
    """Next state of one key from its last state and this evaluation's verdict."""
    intents: list[Intent] = []
    notes: list[str] = []
    window = policy.flap_window_s
    changes = tuple(t for t in track.changes if (now - t).total_seconds() < window)
    bad = track.bad_streak + 1 if verdict.status == BAD else 0
    good = track.good_streak + 1 if verdict.status == HEALTHY else 0
    active, posted, severity, evidence = track.active, track.posted, track.severity, track.evidence
    flapping, last_change = track.flapping, track.last_change_at

    def post_open() -> None:
        nonlocal posted, severity, evidence
        intents.append(Intent("open", FIRST_NOTICE, verdict.severity))
        posted, severity, evidence = True, verdict.severity, verdict.evidence

    def post_resolve() -> None:
        nonlocal posted, severity, evidence
        intents.append(Intent("resolve", RESOLVED, severity or verdict.severity))
        posted, severity, evidence = False, None, frozenset()

    # 1. A flapping episode ends once the key has been stable for the whole window.
    if flapping and last_change is not None and (now - last_change).total_seconds() >= window:
        intents.append(Intent("resolve", RESOLVED, "warning", FLAP))
        notes.append(f"stable for {_minutes(window)}: flapping over")
        flapping, changes = False, ()
        if active and not posted:
            post_open()
        elif not active and posted:
            post_resolve()

    # 2. Hysteresis: open after N bad, resolve after M healthy, count the changes.
    if not active and bad >= policy.open_after:
        active, changes, last_change = True, changes + (now,), now
        if flapping:
            notes.append("failing again; open held while flapping")
        elif len(changes) >= policy.flap_max_changes:
            intents.append(Intent("flapping", FLAPPING, "warning", FLAP))
            flapping = True
            notes.append(f"{len(changes)} changes in {_minutes(window)}: flapping; open held")
        else:
            post_open()
            notes.append(f"bad for {bad} consecutive evaluations: open")
    elif active and good >= policy.resolve_after:
        active, changes, last_change = False, changes + (now,), now
        if flapping:
            notes.append("healthy again; resolve held while flapping")
        else:
            if posted:
                post_resolve()
            notes.append(f"healthy for {good} consecutive evaluations: resolve")
            if len(changes) >= policy.flap_max_changes:
                intents.append(Intent("flapping", FLAPPING, "warning", FLAP))
                flapping = True
                notes.append(f"{len(changes)} changes in {_minutes(window)}: flapping")
    elif active and posted and not flapping:
        # 3. Updates of an open incident.
        posted_rank = SEVERITY_RANK.get(severity or "warning", 0)
        rank = SEVERITY_RANK[verdict.severity]
        if rank > posted_rank:
            intents.append(Intent("update", SEVERITY_CHANGED, verdict.severity))
            notes.append(f"severity {severity} -> {verdict.severity}")
            severity, evidence = verdict.severity, evidence | verdict.evidence
        elif verdict.status == BAD and not verdict.evidence <= evidence:
            new = ", ".join(sorted(verdict.evidence - evidence))
            intents.append(Intent("update", NEW_EVIDENCE, severity or verdict.severity))
            notes.append(f"new evidence: {new}")
            evidence = evidence | verdict.evidence
        elif verdict.status == HEALTHY:
            notes.append(f"open; healthy {good}/{policy.resolve_after} before resolve")
        elif rank < posted_rank:
            notes.append(f"open; now {verdict.severity}, posted {severity} "
                         "(lower severity is not posted; the resolve will say it is over)")
        else:
            notes.append("open; nothing new to post")
    elif active:
        notes.append("failing; held while flapping" if flapping
                     else f"failing; healthy {good}/{policy.resolve_after}")
    elif flapping:
        notes.append("healthy; held while flapping")
    elif verdict.status == BAD:
        notes.append(f"bad {bad}/{policy.open_after} before open")
    elif verdict.status == HEALTHY:
        notes.append("healthy")
    else:
        notes.append("no clear signal; streaks reset")
    new_track = Track(active=active, posted=posted, severity=severity, evidence=evidence,
                      bad_streak=bad, good_streak=good, changes=changes, flapping=flapping,
                      last_change_at=last_change)
    return Step(track=new_track, intents=tuple(intents), note="; ".join(notes))


__all__ = ["FLAP", "Intent", "Lifecycle", "MAIN", "Step", "Track", "decide"]
