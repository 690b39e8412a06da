"""The pure decision function, row by row: (last record, verdict, now) -> (record, notices).

Each row answers "why did (or didn't) the bot post?" for one situation.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from bot.monitor.lifecycle import FLAP, MAIN, Track, decide
from bot.monitor.model import BAD, HEALTHY, HOLD, Verdict
from bot.monitor.policy import OutagePolicy

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
POLICY = OutagePolicy(open_after=2, resolve_after=3, flap_window_s=3600, flap_max_changes=4)


def ago(minutes: float) -> datetime:
    return NOW - timedelta(minutes=minutes)


def v(status: str, severity: str = "error", evidence: tuple[str, ...] = ("probes",)) -> Verdict:
    return Verdict(status=status, severity=severity, why="test", evidence=frozenset(evidence))


OPEN = Track(active=True, posted=True, severity="error", evidence=frozenset({"probes"}),
             changes=(ago(30),), last_change_at=ago(30))


@dataclass(frozen=True)
class Row:
    name: str
    track: Track
    verdict: Verdict
    intents: tuple[tuple[str, str, str], ...]   # (action, reason, subject)
    expect: dict
    note: str = ""
    quiet: bool = False      # a maintenance window is active
    external: bool = False   # the status page still lists an incident about the key


ROWS = [
    Row("first bad evaluation: not yet", Track(), v(BAD), (),
        {"active": False, "bad_streak": 1}, "bad 1/2 before open"),
    Row("Nth bad evaluation opens", Track(bad_streak=1), v(BAD),
        (("open", "first notice", MAIN),), {"active": True, "posted": True, "severity": "error"}),
    Row("a hold breaks the bad streak", Track(bad_streak=1), v(HOLD), (),
        {"bad_streak": 0, "active": False}, "no clear signal"),
    Row("healthy while closed: nothing", Track(), v(HEALTHY), (), {"good_streak": 1}, "healthy"),
    Row("open, healthy 2 of 3: not yet", replace(OPEN, good_streak=1), v(HEALTHY), (),
        {"posted": True, "good_streak": 2}, "healthy 2/3"),
    Row("open, Mth healthy evaluation resolves", replace(OPEN, good_streak=2), v(HEALTHY),
        (("resolve", "resolved", MAIN),), {"active": False, "posted": False, "severity": None}),
    Row("open, between thresholds: stays open", replace(OPEN, good_streak=2), v(HOLD), (),
        {"posted": True, "good_streak": 0}),
    Row("severity up: update", OPEN, v(BAD, "critical"),
        (("update", "severity changed", MAIN),), {"severity": "critical"}),
    Row("severity down: noted, not posted", replace(OPEN, severity="critical"), v(BAD, "error"),
        (), {"severity": "critical"}, "lower severity is not posted"),
    Row("probes confirm what the team said: new evidence",
        replace(OPEN, evidence=frozenset({"team"})), v(BAD, "error", ("probes", "team")),
        (("update", "new evidence", MAIN),), {"evidence": frozenset({"probes", "team"})}),
    Row("same evidence again: nothing new", OPEN, v(BAD), (), {}, "nothing new"),
    Row("4th change in the window (an open): one flapping notice, open held",
        Track(bad_streak=1, changes=(ago(50), ago(40), ago(30)), last_change_at=ago(30)),
        v(BAD), (("flapping", "flapping", FLAP),),
        {"flapping": True, "active": True, "posted": False}, "flapping; open held"),
    Row("4th change (a resolve): the resolve and one flapping notice",
        replace(OPEN, good_streak=2, changes=(ago(50), ago(40), ago(30))), v(HEALTHY),
        (("resolve", "resolved", MAIN), ("flapping", "flapping", FLAP)),
        {"flapping": True, "posted": False}),
    Row("changes older than the window do not count",
        Track(bad_streak=1, changes=(ago(90), ago(80), ago(70)), last_change_at=ago(70)),
        v(BAD), (("open", "first notice", MAIN),), {"changes": (NOW,)}),
    Row("flapping: failing again is held",
        Track(bad_streak=1, flapping=True, changes=(ago(9), ago(5)), last_change_at=ago(5)),
        v(BAD), (), {"active": True, "posted": False}, "held while flapping"),
    Row("flapping: healthy again is held",
        Track(active=True, good_streak=2, flapping=True, last_change_at=ago(5),
              changes=(ago(5),)), v(HEALTHY), (), {"active": False}, "held while flapping"),
    Row("flapping, no severity updates while held",
        replace(OPEN, flapping=True, last_change_at=ago(5)), v(BAD, "critical"), (),
        {"severity": "error"}, "held while flapping"),
    Row("stable for the window while healthy: one resolve of the flapping notice",
        Track(flapping=True, last_change_at=ago(61), changes=(ago(61),)), v(HEALTHY),
        (("resolve", "resolved", FLAP),), {"flapping": False, "changes": ()}),
    Row("stable while failing and never posted: resolve flapping, open the incident",
        Track(active=True, flapping=True, last_change_at=ago(61)), v(BAD, "critical"),
        (("resolve", "resolved", FLAP), ("open", "first notice", MAIN)),
        {"posted": True, "severity": "critical"}),
    Row("stable while healthy but the incident was left open: resolve both",
        replace(OPEN, active=False, flapping=True, last_change_at=ago(61)), v(HEALTHY),
        (("resolve", "resolved", FLAP), ("resolve", "resolved", MAIN)), {"posted": False}),
    # Flapping never hides an outage (issue 14 item 3).
    Row("flapping: failing 1.25x longer than its longest bad spell is sustained",
        Track(active=True, flapping=True, bad_streak=10, bad_since=ago(7), spells=(300.0,),
              changes=(ago(7),), last_change_at=ago(7)), v(BAD, "critical"),
        (("update", "sustained", FLAP),), {"escalated": True, "posted": False},
        "longer than the flapping's bad spells"),
    Row("flapping: a failure as long as its spells is still the pattern",
        Track(active=True, flapping=True, bad_streak=10, bad_since=ago(5), spells=(300.0,),
              changes=(ago(5),), last_change_at=ago(5)), v(BAD, "critical"), (),
        {"escalated": False}, "held while flapping"),
    Row("flapping: sustain_after bad evaluations in a row escalate even after long spells",
        Track(active=True, flapping=True, bad_streak=119, bad_since=ago(10),
              spells=(3600.0,), changes=(ago(10),), last_change_at=ago(10)), v(BAD),
        (("update", "sustained", FLAP),), {"escalated": True}),
    Row("flapping: the sustained failure's end is announced, flapping goes on",
        Track(active=True, flapping=True, escalated=True, good_streak=2, bad_since=ago(20),
              spells=(300.0,), changes=(ago(20),), last_change_at=ago(20)), v(HEALTHY),
        (("update", "recovered", FLAP),),
        {"escalated": False, "active": False, "flapping": True, "spells": (300.0, 1200.0)}),
    Row("flapping: a sustained failure is not 'settled' while it goes on",
        Track(active=True, flapping=True, escalated=True, last_change_at=ago(61),
              bad_since=ago(61)), v(BAD), (), {"flapping": True}),
    Row("flapping with short cycles ends after flap_stable_s, not the whole hour",
        Track(flapping=True, changes=(ago(20), ago(19), ago(18), ago(16)),
              last_change_at=ago(16)), v(HEALTHY), (("resolve", "resolved", FLAP),),
        {"flapping": False}, "settled healthy"),
    Row("flapping with 20-minute cycles needs three cycles of stability",
        Track(flapping=True, changes=(ago(50), ago(40), ago(30), ago(20)),
              last_change_at=ago(20)), v(HEALTHY), (), {"flapping": True}),
    # Maintenance windows (quiet) and the status page keeping it open (external).
    Row("maintenance: an open is held, and remembered", Track(bad_streak=1), v(BAD), (),
        {"active": True, "posted": False, "held": True}, "maintenance", quiet=True),
    Row("after the window: still failing opens once",
        Track(active=True, held=True, bad_streak=5), v(BAD),
        (("open", "first notice", MAIN),), {"posted": True, "held": False}),
    Row("after the window: recovered during it resolves",
        Track(posted=True, held=True, severity="error"), v(HEALTHY),
        (("resolve", "resolved", MAIN),), {"posted": False, "held": False}),
    Row("healthy again but the page still lists it: stays open",
        replace(OPEN, good_streak=2), v(HEALTHY), (), {"posted": True, "active": False},
        "the status page still lists it", external=True),
    Row("the page no longer lists it and probes are healthy: resolve",
        Track(posted=True, severity="error", evidence=frozenset({"official"})), v(HOLD),
        (("resolve", "resolved", MAIN),), {"posted": False}),
    Row("opened by the page, then probes bad: new evidence, not a second open",
        Track(posted=True, severity="error", evidence=frozenset({"official"}), bad_streak=1),
        v(BAD, "error"), (("update", "new evidence", MAIN),),
        {"active": True, "evidence": frozenset({"official", "probes"})}, external=True),
    Row("opened by the page, then probes say worse: severity changed",
        Track(posted=True, severity="warning", evidence=frozenset({"official"}), bad_streak=1),
        v(BAD, "critical"), (("update", "severity changed", MAIN),), {"severity": "critical"},
        external=True),
]


@pytest.mark.parametrize("row", ROWS, ids=[r.name for r in ROWS])
def test_decide(row: Row) -> None:
    step = decide(row.track, row.verdict, POLICY, NOW, quiet=row.quiet, external=row.external)
    assert tuple((i.action, i.reason, i.subject) for i in step.intents) == row.intents
    for name, value in row.expect.items():
        assert getattr(step.track, name) == value, name
    if row.note:
        assert row.note in step.note
    assert step.note  # every evaluation says why


def test_decide_is_pure() -> None:
    track = Track(bad_streak=1)
    first = decide(track, v(BAD), POLICY, NOW)
    again = decide(track, v(BAD), POLICY, NOW)
    assert first == again and track == Track(bad_streak=1)
