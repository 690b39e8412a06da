"""The Monitor end to end on virtual time: thresholds, hysteresis, flapping, surges, restart."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.clock import FakeClock
from bot.monitor import DEFAULT_POLICIES, Monitor, Outcome

from .helpers import probe_round, row, run, summary, team_errors


def healthy_history(m: Monitor, clock: FakeClock, rounds: int = 3) -> None:
    for _ in range(rounds):
        probe_round(m, clock)
        assert m.evaluate() == []
        clock.advance(60)


@pytest.mark.parametrize("open_after", [1, 2, 3])
def test_opens_exactly_at_the_nth_bad_evaluation(clock: FakeClock, open_after: int) -> None:
    policies = dataclasses.replace(
        DEFAULT_POLICIES, outage=dataclasses.replace(DEFAULT_POLICIES.outage, open_after=open_after))
    m = Monitor(policies, now=clock)
    healthy_history(m, clock)
    probe_round(m, clock, failed=3)            # one failed round of three: 3/9, a blip
    assert run(m, clock, 55) == []
    clock.advance(5)
    probe_round(m, clock, failed=3)            # the second: 6/9 >= 0.5, bad
    for n in range(1, open_after):
        assert m.evaluate() == [], f"opened at evaluation {n} of {open_after}"
        assert m.explain("outage:openai")[-1].note == f"bad {n}/{open_after} before open"
    [d] = m.evaluate()
    assert (d.action, d.key, d.kind, d.target, d.reason) == (
        "open", "outage:openai", "outage", "openai", "first notice")
    assert d.severity == "critical" and "6 of 9 failed" in d.summary
    assert d.at == clock()


def test_resolves_only_after_m_healthy_evaluations_and_holds_in_the_band(clock: FakeClock) -> None:
    m = Monitor(now=clock)
    healthy_history(m, clock)
    for _ in range(2):
        probe_round(m, clock, failed=3)
        clock.advance(30)
    assert summary(run(m, clock, 30)) == [("open", "outage:openai", "first notice")]
    # Partial recovery: 2 of 5 probe kinds failing -> rate 0.4, between 0.34 and 0.5: hold.
    kinds = ("a", "b", "c", "d", "e")
    band = run_band(m, clock, kinds, minutes=10)
    assert band == [] and m.state()["outage:openai"] == "open"
    # Recovered: the window clears; the first healthy verdict is not enough, the third is.
    for _ in range(3):
        probe_round(m, clock, kinds=kinds)
        clock.advance(60)
    healthy_seen = 0
    decisions = []
    while not decisions:
        decisions = m.evaluate()
        if m.explain("outage:openai")[-1].status == "healthy":
            healthy_seen += 1
        clock.advance(5)
        assert healthy_seen <= 3
    assert healthy_seen == DEFAULT_POLICIES.outage.resolve_after
    assert summary(decisions) == [("resolve", "outage:openai", "resolved")]
    assert decisions[0].title == "openai API: recovered"


def run_band(m: Monitor, clock: FakeClock, kinds: tuple[str, ...], minutes: int) -> list:
    out = []
    for _ in range(minutes):
        probe_round(m, clock, failed=[True, True, False, False, False], kinds=kinds)
        out += run(m, clock, 60)
    return out


def test_flapping_hour_sends_one_flapping_notice_instead_of_a_stream(clock: FakeClock) -> None:
    m = Monitor(now=clock)
    healthy_history(m, clock)
    decisions = []
    for _cycle in range(6):                     # an hour: 5 min failing, 5 min healthy
        decisions += run(m, clock, 300, probe_every=60, failed=3)
        decisions += run(m, clock, 300, probe_every=60, failed=0)
    kinds = [(d.action, d.key) for d in decisions]
    assert kinds.count(("flapping", "flapping:openai")) == 1
    flap_at = kinds.index(("flapping", "flapping:openai"))
    assert all(k[1] != "outage:openai" for k in kinds[flap_at + 1:]), "stream not held"
    assert len(decisions) <= 7                 # vs 12 open/resolve notices without it
    changes = [e for e in m.explain("outage:openai") if "held while flapping" in e.note]
    assert len(changes) >= 6                   # the state kept changing; nothing was posted
    # Stable (healthy) for the flap window: one resolve of the flapping notice, then quiet.
    later = run(m, clock, 3600 + 300, probe_every=60, failed=0)
    assert summary(later) == [("resolve", "flapping:openai", "resolved")]
    assert later[0].kind == "flapping" and later[0].linked_key == "outage:openai"
    assert run(m, clock, 1800, probe_every=60, failed=0) == []


USER_CAUSED = ("bad_request", "content_policy", "auth", "quota", "not_found", "permission")


def test_user_caused_errors_never_open_an_outage(clock: FakeClock) -> None:
    m = Monitor(now=clock)
    healthy_history(m, clock)
    decisions = []
    for _minute in range(20):
        for i, category in enumerate(USER_CAUSED):
            team_errors(m, clock, 30, category, channels=(f"slack:T:C{i}", f"slack:T:D{i}"))
        probe_round(m, clock, failed=2, category="auth")   # a revoked key fails the probes too
        decisions += run(m, clock, 60)
    assert not [d for d in decisions if d.kind == "outage"]
    assert m.state().get("outage:openai", "watching") == "watching"


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(USER_CAUSED),
                          st.sampled_from(("probe", "chat", "ingest")),
                          st.integers(min_value=0, max_value=90)), max_size=200))
def test_property_no_mix_of_user_caused_errors_opens_an_outage(events) -> None:
    clock = FakeClock()
    m = Monitor(now=clock)
    for category, source, dt in events:
        clock.advance(dt)
        m.observe(Outcome("openai", clock(), False, category, source,
                          channel_key="slack:T:C" if source == "chat" else None, kind="auth"))
        assert all(d.kind != "outage" for d in m.evaluate())


def test_team_wide_risk_control_surge_opens_its_own_incident(clock: FakeClock) -> None:
    m = Monitor(now=clock)
    healthy_history(m, clock)
    channels = tuple(f"slack:T:C{i}" for i in range(5))
    decisions = []
    for _ in range(4):                                   # 2 min of everyone being rejected
        team_errors(m, clock, 4, "risk_control", source="chat", channels=channels)
        team_errors(m, clock, 4, "risk_control")         # and the team's app via ingest
        probe_round(m, clock)                            # the API itself answers fine
        decisions += run(m, clock, 30)
    opened = [d for d in decisions if d.action == "open"]
    assert [(d.key, d.kind, d.target) for d in opened] == [("surge:risk_control", "surge", None)]
    assert "risk_control" in opened[0].summary and opened[0].reason == "first notice"
    assert not [d for d in decisions if d.kind == "outage"]
    # It stops: resolved once the window has drained, after M healthy evaluations.
    later = run(m, clock, 600, probe_every=60)
    assert summary(later) == [("resolve", "surge:risk_control", "resolved")]


def test_one_users_risk_control_errors_are_not_a_surge(clock: FakeClock) -> None:
    m = Monitor(now=clock)
    healthy_history(m, clock)
    decisions = []
    for _ in range(10):
        team_errors(m, clock, 1, "risk_control", source="chat", channels=("slack:T:C1",))
        probe_round(m, clock)
        decisions += run(m, clock, 60)
    assert decisions == []
    assert m.explain("surge:risk_control")[-1].status == "healthy"


def test_auth_surge_needs_several_reporters(clock: FakeClock) -> None:
    m = Monitor(now=clock)
    team_errors(m, clock, 30, "auth")                    # one app with one bad key
    assert run(m, clock, 30) == []
    team_errors(m, clock, 30, "auth", source="chat", channels=("slack:T:A", "slack:T:B"))
    assert summary(run(m, clock, 15)) == [("open", "surge:auth", "first notice")]


def test_team_burst_opens_fast_and_probes_raise_the_severity(clock: FakeClock) -> None:
    m = Monitor(now=clock)
    healthy_history(m, clock, rounds=2)
    team_errors(m, clock, 6, "server")                   # six 5xx within seconds
    [opened] = run(m, clock, 10)
    assert (opened.action, opened.severity, opened.reason) == ("open", "warning", "first notice")
    assert "Team: 6 server/network errors" in opened.summary
    probe_round(m, clock, failed=3, category="network")  # every probe fails now
    [update] = m.evaluate()
    assert (update.action, update.reason, update.severity) == (
        "update", "severity changed", "critical")
    assert m.evaluate() == []                            # nothing new: no repeat


def test_probes_confirming_without_a_severity_change_post_new_evidence(clock: FakeClock) -> None:
    policies = dataclasses.replace(DEFAULT_POLICIES, outage=dataclasses.replace(
        DEFAULT_POLICIES.outage, burst_severity="critical"))
    m = Monitor(policies, now=clock)
    healthy_history(m, clock, rounds=2)
    team_errors(m, clock, 6, "network")
    assert [d.action for d in run(m, clock, 10)] == ["open"]
    probe_round(m, clock, failed=3)
    [d] = m.evaluate()
    assert (d.action, d.reason, d.severity) == ("update", "new evidence", "critical")


def test_a_noisy_teams_usual_errors_are_not_a_burst(clock: FakeClock) -> None:
    m = Monitor(now=clock)
    start = clock()
    history = [Outcome("openai", start - timedelta(seconds=s), False, "server", "ingest")
               for s in range(5, 1800, 8)]           # ~7.5 server errors a minute, for 30 min
    assert m.replay(sorted(history, key=lambda o: o.at)) == len(history)
    decisions = []
    for _ in range(10):                              # the same rate goes on
        for _ in range(7):
            team_errors(m, clock, 1)
            decisions += run(m, clock, 8.5, every=8.5)
        probe_round(m, clock)
    assert decisions == []
    team_errors(m, clock, 40)                        # five times the usual: a burst
    assert [d.action for d in run(m, clock, 10)] == ["open"]


def test_restore_after_restart_neither_reopens_nor_forgets(clock: FakeClock) -> None:
    first = Monitor(now=clock)
    healthy_history(first, clock)
    opened = run(first, clock, 180, probe_every=60, failed=3)
    assert summary(opened) == [("open", "outage:openai", "first notice")]
    rows = [row("outage:openai", severity=opened[0].severity, opened_at=clock() - timedelta(minutes=2),
                target="openai"),
            row("official:inc1", severity="error", official_update_at="2026-01-01T00:00:00Z#a")]

    restarted = Monitor(now=clock)
    assert restarted.restore(rows) == 2
    assert restarted.state() == {"official:inc1": "open", "outage:openai": "open"}
    still_bad = run(restarted, clock, 300, probe_every=60, failed=3)
    assert still_bad == []                           # no second 'opened', no 'new evidence'
    recovered = run(restarted, clock, 600, probe_every=60, failed=0)
    assert summary(recovered) == [("resolve", "outage:openai", "resolved")]


def test_restored_incident_without_any_evidence_stays_open_until_quiet(clock: FakeClock) -> None:
    m = Monitor(now=clock)
    m.restore([row("outage:openai", opened_at=clock())])
    assert run(m, clock, DEFAULT_POLICIES.outage.quiet_resolve_s - 30) == []
    assert summary(run(m, clock, 60)) == [("resolve", "outage:openai", "resolved")]


def test_observations_use_the_injected_clock_only(clock: FakeClock) -> None:
    m = Monitor(now=clock)
    future = clock() + timedelta(hours=1)
    m.observe(Outcome("openai", future, False, "server", "ingest"))  # a skewed client clock
    team_errors(m, clock, 5)
    [d] = run(m, clock, 10)
    assert d.at == clock() - timedelta(seconds=5) and d.at.year == 2026
    assert "Team: 6 server/network errors" in d.summary  # the skewed one counted as "now"


def test_observations_older_than_every_window_are_dropped(clock: FakeClock) -> None:
    m = Monitor(now=clock)
    ancient = clock() - timedelta(days=2)
    for _ in range(50):
        m.observe(Outcome("openai", ancient, False, "server", "ingest"))
    assert run(m, clock, 30) == []
    assert m.horizon_s < 2 * 86400


def test_explain_says_why_nothing_was_posted(clock: FakeClock) -> None:
    m = Monitor(now=clock)
    healthy_history(m, clock)
    team_errors(m, clock, 3)                         # below the burst minimum
    m.evaluate()
    last = m.explain("outage:openai")[-1]
    assert last.status == "hold" and "no clear signal" in last.note
    assert any(e.key == "outage:openai" for e in m.explain())
    assert str(last).startswith(f"{clock():%H:%M:%S} outage:openai [hold]")


def test_fast_confirmation_opens_after_a_failed_round_and_its_re_probes(clock: FakeClock) -> None:
    """Issue 14 item 7: the scheduler re-probes a failing target confirm_probes times,
    confirm_interval_s apart, evaluating after each; the round plus its re-probes open."""
    m = Monitor(now=clock)
    healthy_history(m, clock)
    probe_round(m, clock, failed=3)
    assert m.evaluate() == []                          # one failed round: 3 of 9
    decisions = []
    for _ in range(DEFAULT_POLICIES.confirm_probes):
        clock.advance(DEFAULT_POLICIES.confirm_interval_s)
        probe_round(m, clock, failed=3)
        decisions += m.evaluate()
    assert summary(decisions) == [("open", "outage:openai", "first notice")]
    assert decisions[0].severity == "critical"


def test_a_failed_round_whose_re_probes_succeed_is_a_blip(clock: FakeClock) -> None:
    m = Monitor(now=clock)
    healthy_history(m, clock)
    probe_round(m, clock, failed=3)
    decisions = m.evaluate()
    for _ in range(DEFAULT_POLICIES.confirm_probes):
        clock.advance(DEFAULT_POLICIES.confirm_interval_s)
        probe_round(m, clock)
        decisions += m.evaluate()
    decisions += run(m, clock, 600, probe_every=60)
    assert decisions == []
