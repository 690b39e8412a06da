"""diff_snapshots: a table of (previous, current) → the changes the monitor hears about."""

from __future__ import annotations

from datetime import UTC, datetime, timezone
from typing import Any

import pytest

from bot.status_page import StatusSnapshot, diff_snapshots

T = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def inc(status: str = "investigating", update: str = "Investigating.", id: str = "i1",
        name: str = "Sora errors") -> dict[str, Any]:
    return {"id": id, "name": name, "status": status, "url": f"https://s/incidents/{id}",
            "updated_at": "2026-11-30T09:00:00Z", "latest_update": update}


def snap(indicator: str = "operational", *incidents: dict[str, Any]) -> StatusSnapshot:
    ok = indicator != "unknown"
    return StatusSnapshot(indicator=indicator, components=[], incidents=list(incidents),
                          fetched_at=T, format="incidentio" if ok else None, ok=ok,
                          error=None if ok else "timed out")


CASES = [
    ("steady", snap(), snap(), []),
    ("steady incident", snap("partial_outage", inc()), snap("partial_outage", inc()), []),
    ("indicator worse", snap(), snap("degraded_performance"),
     [("indicator_changed", "operational", "degraded_performance")]),
    ("opened", snap(), snap("partial_outage", inc()),
     [("indicator_changed", "operational", "partial_outage"),
      ("incident_opened", None, "investigating")]),
    ("opened without indicator move", snap(), snap("operational", inc()),
     [("incident_opened", None, "investigating")]),
    ("new update text", snap("partial_outage", inc()),
     snap("partial_outage", inc(update="Still looking.")),
     [("incident_updated", "investigating", "investigating")]),
    ("new status", snap("partial_outage", inc()),
     snap("partial_outage", inc("identified", "Found it.")),
     [("incident_updated", "investigating", "identified")]),
    ("resolved by leaving", snap("partial_outage", inc()), snap(),
     [("indicator_changed", "partial_outage", "operational"),
      ("incident_resolved", "investigating", "resolved")]),
    ("resolved by status", snap("partial_outage", inc()),
     snap("operational", inc("resolved", "Fixed.")),
     [("indicator_changed", "partial_outage", "operational"),
      ("incident_resolved", "investigating", "resolved")]),
    ("postmortem counts as resolved", snap("operational", inc("monitoring")),
     snap("operational", inc("postmortem")), [("incident_resolved", "monitoring", "postmortem")]),
    ("born resolved: nothing to say", snap(), snap("operational", inc("resolved")), []),
    ("two incidents, one ends", snap("major_outage", inc(id="a"), inc(id="b")),
     snap("major_outage", inc(id="b")), [("incident_resolved", "investigating", "resolved")]),
    ("to unknown", snap("partial_outage", inc()), snap("unknown"), []),
    ("from unknown", snap("unknown"), snap("partial_outage", inc()), []),
    ("unknown to unknown", snap("unknown"), snap("unknown"), []),
    ("first poll, healthy", None, snap(), []),
    ("first poll, mid-incident", None, snap("partial_outage", inc()),
     [("indicator_changed", None, "partial_outage"), ("incident_opened", None, "investigating")]),
    ("first poll, unknown", None, snap("unknown"), []),
]


@pytest.mark.parametrize(("prev", "cur", "expected"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_diff_table(prev: StatusSnapshot | None, cur: StatusSnapshot,
                    expected: list[tuple[str, str | None, str | None]]) -> None:
    assert [(c.kind, c.old, c.new) for c in diff_snapshots(prev, cur)] == expected


def test_changes_carry_the_incident_and_a_reason() -> None:
    (opened,) = diff_snapshots(snap("partial_outage"), snap("partial_outage", inc()))
    assert opened.incident_id == "i1" and opened.incident is not None
    assert opened.incident["latest_update"] == "Investigating."
    assert opened.reason == "incident opened: Sora errors" and opened.at == T
    changes = diff_snapshots(snap("partial_outage", inc()), snap())
    assert changes[0].reason == "official status partial outage → operational"
    resolved = changes[1]
    assert resolved.incident is not None and resolved.incident["status"] == "resolved"
    assert resolved.incident["name"] == "Sora errors"
