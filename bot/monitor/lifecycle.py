"""The incident lifecycle as one pure function: ``decide(track, verdict, policy, now)``.

``Track`` is everything remembered about one key (an outage of a target, a surge of a category)
between evaluations; ``decide`` returns the next Track, the notices to post (``Intent``) each
with its reason, and a note saying why nothing else was posted. No clock, no I/O: the table
test in tests/monitor drives it row by row.

Rules, in order:
1. Flapping ends when the key has not changed state for ``stable_s(track, policy)`` (the
   longer of ``flap_stable_s`` and three of the pattern's longest cycles): one notice in the
   flapping thread saying which state it settled in, then the incident is brought in line with
   the real state (opened if it is failing, resolved if it is not). A sustained failure
   announced in the flapping thread (rule 3) keeps it open until its end is announced.
2. Open after ``open_after`` consecutive bad verdicts; resolve after ``resolve_after`` healthy
   ones. Every such change is remembered; the ``flap_max_changes``-th change within
   ``flap_window_s`` sends ONE flapping notice, and from then on opens and resolves are held
   (a resolve that makes the flapping notice also goes out, so no incident is left open that
   the bot knows is over).
3. Flapping never hides an outage: while flapping, a failure that holds longer than the
   pattern's longest bad spell (by a quarter, so a spell one evaluation longer than the last
   is still the pattern) or ``sustain_after`` bad evaluations in a row escalates in the
   flapping thread ('sustained'), and its end is announced there too ('recovered').
4. While open and posted: a higher severity posts an update ('severity changed'); a lower one is
   noted but not posted (recoveries are announced once, by the resolve); a new kind of evidence
   ('probes' confirming what the team's errors said) posts 'new evidence'. An open of a key
   whose incident is already posted (opened by the status page) is 'new evidence' too.

Two flags come from outside: ``quiet`` (a maintenance window: the state moves on, nothing is
posted, and the first evaluation after the window posts the state then: opened once if still
failing, resolved if it recovered) and ``external`` (the status page still lists an incident
about this key: a posted incident stays open after the probes recover, and one held by a
window opens when it ends).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from bot.monitor.model import (
    BAD,
    FIRST_NOTICE,
    FLAPPING,
    HEALTHY,
    NEW_EVIDENCE,
    RECOVERED,
    RESOLVED,
    SEVERITY_CHANGED,
    SUSTAINED,
    Verdict,
)
from bot.monitor.policy import SEVERITY_RANK

MAIN = "main"          # the key's own incident (outage:<target>, surge:<category>)
FLAP = "flapping"      # its flapping notice (flapping:<subject>, or MAIN's thread: flap_main)
SPELL_MARGIN = 1.25    # a failure this much longer than the longest bad spell is sustained
SPELLS_KEPT = 8


class Lifecycle(Protocol):
    open_after: int
    resolve_after: int
    flap_window_s: float
    flap_max_changes: int
    flap_stable_s: float
    sustain_after: int


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
    bad_since: datetime | None = None        # when `active` last became True
    last_bad_at: datetime | None = None      # the latest bad verdict (a spell ends there,
                                             # not when the resolve streak completes)
    spells: tuple[float, ...] = ()           # lengths (s) of the latest bad spells
    escalated: bool = False                  # a sustained failure was announced while flapping
    flap_main: bool = False                  # the flapping notices go in MAIN's thread
    held: bool = False                       # a maintenance window held notices back


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
    return f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"


def longest_cycle_s(changes: tuple[datetime, ...]) -> float:
    """The longest time between a change and the next-but-one (one bad + one good spell)."""
    return max(((changes[i + 2] - changes[i]).total_seconds() for i in range(len(changes) - 2)),
               default=0.0)


def stable_s(track: Track, policy: Lifecycle) -> float:
    """How long a flapping key must keep one state before flapping is over."""
    return max(policy.flap_stable_s, 3 * longest_cycle_s(track.changes))


def decide(track: Track, verdict: Verdict, policy: Lifecycle, now: datetime, *,
           quiet: bool = False, external: bool = False) -> Step:
    """Next state of one key from its last state and this evaluation's verdict."""
    intents: list[Intent] = []
    notes: list[str] = []
    window = policy.flap_window_s
    changes = tuple(t for t in track.changes if (now - t).total_seconds() < window)
    bad = track.bad_streak + 1 if verdict.status == BAD else 0
    good = track.good_streak + 1 if verdict.status == HEALTHY else 0
    active, posted, severity, evidence = track.active, track.posted, track.severity, track.evidence
    flapping, last_change = track.flapping, track.last_change_at
    bad_since, spells, escalated, flap_main = (track.bad_since, track.spells, track.escalated,
                                               track.flap_main)
    last_bad = now if verdict.status == BAD else track.last_bad_at

    def post_open() -> None:
        nonlocal posted, severity, evidence
        if posted:  # already open (the status page opened it): the probes are news in it
            if SEVERITY_RANK[verdict.severity] > SEVERITY_RANK.get(severity or "warning", 0):
                intents.append(Intent("update", SEVERITY_CHANGED, verdict.severity))
                severity = verdict.severity
            else:
                intents.append(Intent("update", NEW_EVIDENCE, severity or verdict.severity))
            evidence = evidence | verdict.evidence
            return
        intents.append(Intent("open", FIRST_NOTICE, verdict.severity))
        posted, severity, evidence = True, verdict.severity, verdict.evidence

    def post_resolve() -> None:
        nonlocal posted, severity, evidence
        intents.append(Intent("resolve", RESOLVED, severity or verdict.severity))
        posted, severity, evidence = False, None, frozenset()

    def start_flapping() -> None:
        nonlocal flapping, flap_main
        flap_main = posted
        intents.append(Intent("flapping", FLAPPING, "warning", FLAP))
        flapping = True

    # 1. A flapping episode ends once the key has been stable long enough (a sustained failure
    #    announced in its thread is not "settled": its end is announced there first).
    if flapping and not (escalated and active) and last_change is not None and (
            now - last_change).total_seconds() >= stable_s(track, policy):
        settled = "failing" if active else "healthy"
        intents.append(Intent("resolve", RESOLVED, "warning", FLAP))
        notes.append(f"stable for {_minutes(stable_s(track, policy))}: flapping over, "
                     f"settled {settled}")
        flapping, changes, spells, escalated = False, (), (), False
        if active and not posted:
            post_open()
        elif not active and posted and not external:
            post_resolve()
        flap_main = False

    # 2. Hysteresis: open after N bad, resolve after M healthy, count the changes.
    if not active and bad >= policy.open_after:
        active, changes, last_change, bad_since = True, changes + (now,), now, now
        if flapping:
            notes.append("failing again; open held while flapping")
        elif len(changes) >= policy.flap_max_changes:
            start_flapping()
            notes.append(f"{len(changes)} changes in {_minutes(window)}: flapping; open held")
        else:
            post_open()
            notes.append(f"bad for {bad} consecutive evaluations: open")
    elif active and good >= policy.resolve_after:
        # The spell is what failed (first to last bad verdict), not the resolve streak after it.
        end = last_bad if last_bad is not None and bad_since and last_bad >= bad_since else now
        spell = (end - bad_since).total_seconds() if bad_since else 0.0
        spells = (spells + (spell,))[-SPELLS_KEPT:]
        active, changes, last_change, bad_since = False, changes + (now,), now, None
        if flapping:
            if escalated:
                intents.append(Intent("update", RECOVERED, "warning", FLAP))
                escalated = False
                notes.append(f"the sustained failure is over after {_minutes(round(spell))}; "
                             "still flapping")
            else:
                notes.append("healthy again; resolve held while flapping")
        else:
            if posted and not external:
                post_resolve()
                notes.append(f"healthy for {good} consecutive evaluations: resolve")
            elif posted:
                notes.append("healthy; held open: the status page still lists it")
            else:
                notes.append(f"healthy for {good} consecutive evaluations")
            if len(changes) >= policy.flap_max_changes:
                start_flapping()
                notes.append(f"{len(changes)} changes in {_minutes(window)}: flapping")
    elif active and flapping:
        # 3. Flapping never hides an outage.
        held_s = (now - bad_since).total_seconds() if bad_since else 0.0
        longest = max(spells, default=0.0)
        if not escalated and ((longest and held_s > longest * SPELL_MARGIN)
                              or bad >= policy.sustain_after):
            intents.append(Intent("update", SUSTAINED, verdict.severity, FLAP))
            escalated = True
            notes.append(f"failing for {_minutes(round(held_s))}, longer than the flapping's "
                         f"bad spells ({_minutes(round(longest))}): sustained")
        else:
            notes.append("failing; held while flapping" + (" (sustained, announced)"
                                                             if escalated else ""))
    elif active and posted:
        # 4. Updates of an open incident.
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
        notes.append(f"failing; healthy {good}/{policy.resolve_after}")
    elif flapping:
        notes.append("healthy; held while flapping")
    elif posted and not external and verdict.status != BAD:
        post_resolve()  # the status page no longer keeps it open, the probes are healthy
        notes.append("healthy, and the status page no longer lists it: resolve")
    elif posted:
        notes.append("open; the status page still lists it")
    elif verdict.status == BAD:
        notes.append(f"bad {bad}/{policy.open_after} before open")
    elif verdict.status == HEALTHY:
        notes.append("healthy")
    else:
        notes.append("no clear signal; streaks reset")

    # A maintenance window just ended: post the state things are in now, once.
    if track.held and not quiet and not flapping and not posted and (active or external):
        post_open()
        notes.append("maintenance over: still failing, open")

    new_track = Track(active=active, posted=posted, severity=severity, evidence=evidence,
                      bad_streak=bad, good_streak=good, changes=changes, flapping=flapping,
                      last_change_at=last_change, bad_since=bad_since, spells=spells,
                      escalated=escalated, flap_main=flap_main,
                      last_bad_at=last_bad if active else None)
    if quiet:
        if intents:
            notes.append("held: maintenance window (" + ", ".join(
                f"{i.action} {i.reason}" for i in intents) + ")")
        held = track.held or bool(intents)
        new_track = replace(new_track, posted=track.posted, severity=track.severity,
                            evidence=track.evidence, flapping=track.flapping,
                            escalated=track.escalated, flap_main=track.flap_main,
                            changes=track.changes, held=held)
        return Step(track=new_track, intents=(), note="; ".join(notes))
    return Step(track=new_track, intents=tuple(intents), note="; ".join(notes))


__all__ = ["FLAP", "Intent", "Lifecycle", "MAIN", "Step", "Track", "decide", "longest_cycle_s",
           "stable_s"]
