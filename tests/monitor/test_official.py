"""Official status-page incidents: open/update/resolve their own incidents, linked to ours."""

from __future__ import annotations

from types import SimpleNamespace

from bot.clock import FakeClock
from bot.monitor import Monitor, OfficialChange

from .helpers import probe_round, run, summary, team_errors


def incident(status: str = "investigating", updated_at: str = "2026-01-01T00:10:00Z",
             latest: str = "We are investigating elevated errors for Sora.", **extra) -> dict:
    return {"id": "01KSORA", "name": "Elevated errors for Sora API", "status": status,
            "url": "https://status.openai.com/incidents/01KSORA", "updated_at": updated_at,
            "latest_update": latest, **extra}


def test_official_incident_opens_updates_and_resolves(clock: FakeClock) -> None:
    m = Monitor(now=clock)
    [opened] = m.official(OfficialChange("incident_opened", incident(), "partial_outage"))
    assert (opened.action, opened.key, opened.kind, opened.reason, opened.severity) == (
        "open", "official:01KSORA", "official", "first notice", "error")
    assert opened.url.endswith("/incidents/01KSORA") and opened.linked_key is None
    assert "investigating" in opened.summary.lower()
    assert opened.official_update_at and len(opened.official_update_at) <= 64

    # The same state polled again: nothing to post, and explain says why.
    assert m.official(OfficialChange("incident_updated", incident(), "partial_outage")) == []
    assert "already posted" in m.explain("official:01KSORA")[-1].note

    [update] = m.official(OfficialChange(
        "incident_updated", incident("identified", "2026-01-01T00:20:00Z", "Fix rolling out."),
        "partial_outage"))
    assert (update.action, update.reason) == ("update", "official update")
    assert "Fix rolling out." in update.summary

    [worse] = m.official(OfficialChange("indicator", None, "major_outage"))
    assert worse.title == opened.title
    assert (worse.action, worse.key, worse.reason, worse.severity) == (
        "update", "official:01KSORA", "severity changed", "critical")

    [resolved] = m.official(OfficialChange(
        "incident_resolved", incident("resolved", "2026-01-01T00:40:00Z", "Resolved."),
        "operational"))
    assert (resolved.action, resolved.reason) == ("resolve", "resolved")
    assert m.state() == {}


def test_one_poll_with_an_update_and_a_new_indicator_posts_once(clock: FakeClock) -> None:
    m = Monitor(now=clock)
    m.official(OfficialChange("incident_opened", incident(), "degraded_performance"))
    decisions = m.official_batch([
        OfficialChange("indicator", None, "major_outage"),
        OfficialChange("incident_updated", incident("identified", "2026-01-01T00:20:00Z")),
    ])
    assert summary(decisions) == [("update", "official:01KSORA", "official update")]
    assert decisions[0].severity == "critical"


def test_indicator_alone_or_an_unreadable_page_opens_nothing(clock: FakeClock) -> None:
    m = Monitor(now=clock)
    assert m.official(OfficialChange("indicator", None, "major_outage")) == []
    assert m.official(OfficialChange("indicator", None, "unknown")) == []
    assert m.official(OfficialChange("incident_resolved", incident("resolved"))) == []
    assert "never posted" in m.explain("official:01KSORA")[-1].note
    assert m.official(SimpleNamespace(kind="weird", incident=None, indicator=None)) == []
    assert "unknown kind" in m.explain("official")[-1].note


def test_official_incident_links_to_our_overlapping_outage_both_ways(clock: FakeClock) -> None:
    m = Monitor(now=clock)
    team_errors(m, clock, 8)
    assert summary(run(m, clock, 10)) == [("open", "outage:openai", "first notice")]
    [official] = m.official(SimpleNamespace(kind="incident_opened", incident=incident(),
                                            indicator="partial_outage"))  # duck-typed change
    assert official.linked_key == "outage:openai"

    # The other way round: the page first, then our detection links to it.
    m2 = Monitor(now=clock)
    m2.official(OfficialChange("incident_opened", incident(), "partial_outage"))
    probe_round(m2, clock, failed=3)
    team_errors(m2, clock, 8)
    [ours] = [d for d in run(m2, clock, 10) if d.action == "open"]
    assert (ours.key, ours.linked_key) == ("outage:openai", "official:01KSORA")


def test_a_gateway_outage_is_not_linked_to_the_official_page(clock: FakeClock) -> None:
    m = Monitor(now=clock)
    m.official(OfficialChange("incident_opened", incident(), "partial_outage"))
    team_errors(m, clock, 8, target="relay")
    [ours] = run(m, clock, 10)
    assert (ours.key, ours.linked_key) == ("outage:relay", None)


def test_restored_official_incident_does_not_repost_the_same_update(clock: FakeClock) -> None:
    first = Monitor(now=clock)
    [opened] = first.official(OfficialChange("incident_opened", incident(), "partial_outage"))
    restarted = Monitor(now=clock)
    restarted.restore([SimpleNamespace(key=opened.key, severity=opened.severity,
                                       opened_at=clock(), updated_at=clock(),
                                       official_update_at=opened.official_update_at)])
    assert restarted.official(OfficialChange("incident_updated", incident(),
                                             "partial_outage")) == []
    [new] = restarted.official(OfficialChange(
        "incident_updated", incident("monitoring", "2026-01-01T00:30:00Z"), "partial_outage"))
    assert (new.action, new.reason) == ("update", "official update")


def test_status_page_changes_from_the_real_watcher_diff(clock: FakeClock) -> None:
    """bot.status_page's own StatusChange objects, from its diff of two snapshots."""
    from bot.status_page.model import StatusSnapshot, diff_snapshots

    def snap(indicator: str, incidents: list[dict]) -> StatusSnapshot:
        return StatusSnapshot(indicator=indicator, components=[], incidents=incidents,
                              fetched_at=clock(), format="incidentio", ok=True)

    m = Monitor(now=clock)
    calm = snap("operational", [])
    down = snap("partial_outage", [incident()])
    [opened] = m.official_batch(diff_snapshots(calm, down))
    assert (opened.action, opened.severity) == ("open", "error")
    worse = snap("major_outage", [incident()])
    [severity] = m.official_batch(diff_snapshots(down, worse))
    assert (severity.reason, severity.severity) == ("severity changed", "critical")
    unreadable = StatusSnapshot(indicator="unknown", components=[], incidents=[],
                                fetched_at=clock(), format=None, ok=False, error="timeout")
    assert m.official_batch(diff_snapshots(worse, unreadable)) == []
    gone = snap("operational", [])                     # the incident left the page: resolved
    assert [d.action for d in m.official_batch(diff_snapshots(worse, gone))] == ["resolve"]


def test_an_incident_that_ended_while_the_bot_was_down_is_resolved_on_the_next_poll(
        clock: FakeClock) -> None:
    m = Monitor(now=clock)
    m.restore([SimpleNamespace(key="official:01KSORA", severity="error", opened_at=clock(),
                               updated_at=clock(), official_update_at="x")])
    assert m.official_sync([incident()]) == []           # still listed: nothing
    [d] = m.official_sync([])                            # gone from the page
    assert (d.action, d.key, d.reason) == ("resolve", "official:01KSORA", "resolved")
    assert m.official_sync([]) == []


def test_the_reasoning_log_stays_bounded(clock: FakeClock) -> None:
    from bot.monitor.monitor import MAX_EXPLAINED_KEYS

    m = Monitor(now=clock)
    for n in range(MAX_EXPLAINED_KEYS + 50):
        m.official(OfficialChange("incident_opened", {**incident(), "id": f"inc{n}"}))
        m.official(OfficialChange("incident_resolved", {**incident("resolved"), "id": f"inc{n}"}))
        clock.advance(1)
    keys = {e.key for e in m.explain()}
    assert len(keys) <= MAX_EXPLAINED_KEYS and "official:inc549" in keys
    assert "official:inc0" not in keys
