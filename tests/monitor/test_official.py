"""Official status-page incidents: about a target the page speaks for they join
``outage:<target>`` (one outage, one incident); about nothing we probe they keep their own
``official:<id>`` key. Damping keeps a flickering page from flooding channels."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

from bot.clock import FakeClock
from bot.monitor import DEFAULT_POLICIES, Monitor, OfficialChange

from .helpers import probe_round, run, summary, team_errors


def incident(status: str = "investigating", updated_at: str = "2026-01-01T00:10:00Z",
             latest: str = "We are investigating elevated errors for Sora.", **extra) -> dict:
    return {"id": "01KSORA", "name": "Elevated errors for Sora API", "status": status,
            "url": "https://status.openai.com/incidents/01KSORA", "updated_at": updated_at,
            "latest_update": latest, **extra}


OWN_KEY = dataclasses.replace(DEFAULT_POLICIES, official=dataclasses.replace(
    DEFAULT_POLICIES.official, link_targets=frozenset()))  # the page speaks for nothing we probe


def test_official_incident_opens_updates_and_resolves(clock: FakeClock) -> None:
    m = Monitor(OWN_KEY, now=clock)
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
    assert "Resolved." in resolved.summary                # the page's final word, quoted
    assert m.state() == {}


def test_one_poll_with_an_update_and_a_new_indicator_posts_once(clock: FakeClock) -> None:
    m = Monitor(OWN_KEY, now=clock)
    m.official(OfficialChange("incident_opened", incident(), "degraded_performance"))
    decisions = m.official_batch([
        OfficialChange("indicator", None, "major_outage"),
        OfficialChange("incident_updated", incident("identified", "2026-01-01T00:20:00Z")),
    ])
    assert summary(decisions) == [("update", "official:01KSORA", "official update")]
    assert decisions[0].severity == "critical"


def test_indicator_alone_or_an_unreadable_page_opens_nothing(clock: FakeClock) -> None:
    m = Monitor(OWN_KEY, now=clock)
    assert m.official(OfficialChange("indicator", None, "major_outage")) == []
    assert m.official(OfficialChange("indicator", None, "unknown")) == []
    assert m.official(OfficialChange("incident_resolved", incident("resolved"))) == []
    assert "never posted" in m.explain("official:01KSORA")[-1].note
    assert m.official(SimpleNamespace(kind="weird", incident=None, indicator=None)) == []
    assert "unknown kind" in m.explain("official")[-1].note


def test_official_incident_joins_our_open_outage_as_updates_in_its_thread(
        clock: FakeClock) -> None:
    m = Monitor(now=clock)
    team_errors(m, clock, 8)
    assert summary(run(m, clock, 10)) == [("open", "outage:openai", "first notice")]
    [joined] = m.official(SimpleNamespace(kind="incident_opened", incident=incident(),
                                          indicator="partial_outage"))  # duck-typed change
    assert (joined.action, joined.key, joined.reason) == (
        "update", "outage:openai", "official update")
    assert "We are investigating elevated errors for Sora." in joined.summary
    assert joined.severity == "error"                      # the page's word raised it
    [again] = m.official(OfficialChange(
        "incident_updated", incident("identified", "2026-01-01T00:20:00Z", "Fix rolling out."),
        "partial_outage"))
    assert (again.key, again.reason) == ("outage:openai", "official update")
    assert "Fix rolling out." in again.summary and "investigating" not in again.summary


def test_the_page_first_opens_the_outage_and_probes_are_then_new_evidence(
        clock: FakeClock) -> None:
    m = Monitor(now=clock)
    [opened] = m.official(OfficialChange("incident_opened", incident(), "partial_outage"))
    assert (opened.action, opened.key, opened.kind, opened.target, opened.reason) == (
        "open", "outage:openai", "outage", "openai", "first notice")
    assert "Elevated errors for Sora API" in opened.title
    probe_round(m, clock, failed=3)
    team_errors(m, clock, 8)
    later = run(m, clock, 10)
    assert [(d.action, d.key) for d in later] == [("update", "outage:openai")]
    assert later[0].reason in ("new evidence", "severity changed")
    assert m.state() == {"outage:openai": "open"}         # one incident, not two


def test_resolves_when_probes_are_healthy_and_the_page_resolved_quoting_its_final_word(
        clock: FakeClock) -> None:
    m = Monitor(now=clock)
    for _ in range(3):
        probe_round(m, clock)
        clock.advance(60)
    for _ in range(2):
        probe_round(m, clock, failed=3)
        run(m, clock, 30)
    m.official(OfficialChange("incident_opened", incident(), "partial_outage"))
    # Probes recover first while the page still lists it: one update, no resolve.
    healthy = []
    for _ in range(5):
        probe_round(m, clock)
        healthy += run(m, clock, 60)
    assert [(d.action, d.reason) for d in healthy] == [("update", "new evidence")]
    assert "still reports" in healthy[0].summary
    assert m.official(OfficialChange(
        "incident_resolved", incident("resolved", "2026-01-01T00:40:00Z", "All clear now."),
        "operational")) == []
    [final] = m.evaluate()                                 # the scheduler's next evaluation
    assert (final.action, final.key) == ("resolve", "outage:openai")
    assert "All clear now." in final.summary and "recovered" in final.title


def test_page_resolving_first_while_probes_fail_says_so_once(clock: FakeClock) -> None:
    m = Monitor(now=clock)
    m.official(OfficialChange("incident_opened", incident(), "partial_outage"))
    probe_round(m, clock, failed=3)
    run(m, clock, 15)
    [said] = m.official(OfficialChange(
        "incident_resolved", incident("resolved", "2026-01-01T00:40:00Z", "Fixed."),
        "operational"))
    assert (said.action, said.reason) == ("update", "official update")
    assert "Fixed." in said.summary and "still fail" in said.summary
    probe_round(m, clock, failed=3)
    assert [d for d in run(m, clock, 30) if d.action != "update"] == []
    for _ in range(5):
        probe_round(m, clock)
        out = run(m, clock, 60)
        if out:
            break
    assert summary(out) == [("resolve", "outage:openai", "resolved")]
    assert "Fixed." not in out[0].summary                 # told already: not repeated


def test_a_stale_update_is_never_quoted_as_the_final_one(clock: FakeClock) -> None:
    """The page dropping an incident (a diff's 'resolved' with the old text) is damped, and
    its resolve says the page no longer lists it instead of quoting the old text."""
    m = Monitor(now=clock)
    m.official(OfficialChange("incident_opened", incident(), "partial_outage"))
    assert m.official(OfficialChange("incident_resolved", {**incident(), "status": "resolved"},
                                     "operational")) == []
    assert m.official_sync([]) == [] and m.official_sync([]) == []
    assert m.official_sync([]) == []                       # the 3rd poll ends it ...
    [d] = m.evaluate()                                     # ... and the evaluation resolves
    assert d.action == "resolve" and "no longer lists" in d.summary
    assert "investigating" not in d.summary


def test_a_flickering_official_incident_posts_one_open(clock: FakeClock) -> None:
    """Issue 12 item 7: the same id appearing and disappearing on each poll."""
    from bot.status_page.model import StatusSnapshot, diff_snapshots

    def snap(incidents: list[dict]) -> StatusSnapshot:
        return StatusSnapshot(indicator="partial_outage" if incidents else "operational",
                              components=[], incidents=incidents, fetched_at=clock(),
                              format="incidentio", ok=True)

    for policies in (DEFAULT_POLICIES, OWN_KEY):
        m = Monitor(policies, now=clock)
        prev = snap([])
        out = []
        for n in range(30):                                # 30 polls, 1 s apart
            cur = snap([incident()] if n % 2 == 0 else [])
            out += m.official_batch(diff_snapshots(prev, cur))
            out += m.official_sync(cur.incidents)
            out += m.evaluate()
            prev = cur
            clock.advance(1)
        assert [d.action for d in out] == ["open"], out
        for _ in range(3):                                 # then it is really gone
            out += m.official_batch(diff_snapshots(prev, snap([])))
            out += m.official_sync([])
            out += m.evaluate()
            prev = snap([])
        assert [d.action for d in out] == ["open", "resolve"]
        again = m.official_batch(diff_snapshots(prev, snap([incident()])))
        assert again == []                                  # same text it ended with


def test_a_gateway_outage_does_not_join_the_official_page(clock: FakeClock) -> None:
    m = Monitor(now=clock)
    m.official(OfficialChange("incident_opened", incident(), "partial_outage"))
    team_errors(m, clock, 8, target="relay")
    [ours] = run(m, clock, 10)
    assert (ours.action, ours.key, ours.linked_key) == ("open", "outage:relay", None)


def test_restored_official_incident_does_not_repost_the_same_update(clock: FakeClock) -> None:
    first = Monitor(OWN_KEY, now=clock)
    [opened] = first.official(OfficialChange("incident_opened", incident(), "partial_outage"))
    restarted = Monitor(OWN_KEY, now=clock)
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

    m = Monitor(OWN_KEY, now=clock)
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
    gone = snap("operational", [])                     # the incident left the page ...
    assert m.official_batch(diff_snapshots(worse, gone)) == []
    assert m.official_sync(gone.incidents) == [] and m.official_sync(gone.incidents) == []
    [resolved] = m.official_sync(gone.incidents)       # ... for 3 readable polls: resolved
    assert resolved.action == "resolve" and "no longer lists" in resolved.summary


def test_an_incident_that_ended_while_the_bot_was_down_is_resolved_after_the_damping_polls(
        clock: FakeClock) -> None:
    m = Monitor(OWN_KEY, now=clock)
    m.restore([SimpleNamespace(key="official:01KSORA", severity="error", opened_at=clock(),
                               updated_at=clock(), official_update_at="x")])
    assert m.official_sync([incident()]) == []           # still listed: nothing
    assert m.official_sync([]) == [] and m.official_sync([]) == []
    [d] = m.official_sync([])                            # gone from the page 3 polls running
    assert (d.action, d.key, d.reason) == ("resolve", "official:01KSORA", "resolved")
    assert m.official_sync([]) == []


def test_the_reasoning_log_stays_bounded(clock: FakeClock) -> None:
    from bot.monitor.monitor import MAX_EXPLAINED_KEYS

    m = Monitor(OWN_KEY, now=clock)
    for n in range(MAX_EXPLAINED_KEYS + 50):
        m.official(OfficialChange("incident_opened", {**incident(), "id": f"inc{n}"}))
        m.official(OfficialChange("incident_resolved", {**incident("resolved"), "id": f"inc{n}"}))
        clock.advance(1)
    keys = {e.key for e in m.explain()}
    assert len(keys) <= MAX_EXPLAINED_KEYS and "official:inc549" in keys
    assert "official:inc0" not in keys
