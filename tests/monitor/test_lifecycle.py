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
]


@pytest.mark.parametrize("row", ROWS, ids=[r.name for r in ROWS])
def test_decide(row: Row) -> None:
    step = decide(row.track, row.verdict, POLICY, NOW)
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
