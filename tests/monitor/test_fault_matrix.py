"""The fault matrix (issue 14) at the engine level, on a virtual clock.

Each row drives MonitorService over the real Store (SQLite) with a simulated scheduler
(tests/monitor/sim.py: probe rounds, fast confirmation, page polls, evaluations) and asserts the
exact notices a channel subscribed to everything receives — (notice, key, reason, title) read
from the outbox — plus the bounds that matter (when, how loud). Times are seconds since the run
started; probes every 60 s unless the row says otherwise.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.clock import FakeClock
from bot.monitor import DEFAULT_POLICIES, Policies
from bot.monitor.policy import MaintenanceWindow
from bot.store import Store, open_store

from .sim import Notice, Sim, periodic, spans

OPENED, UPDATED, RESOLVED = "opened", "updated", "resolved"
OUTAGE = "outage:openai"
DOWN = "openai API: down"
UP = "openai API: recovered"


@pytest.fixture
def store(tmp_path: Path, clock: FakeClock) -> Iterator[Store]:
    st = open_store(f"sqlite:///{tmp_path / 'matrix.db'}", now=clock)
    st.upgrade()
    st.subscribe("slack", "T1", "C-all", "all")
    yield st
    st.close()


def sim(store: Store, clock: FakeClock, policies: Policies = DEFAULT_POLICIES, **kw) -> Sim:
    return Sim(store, clock, policies, **kw)


def ok(t: float, target: str) -> str:
    return "ok"


def assert_concise(notices: list[Notice]) -> None:
    """Item 4: no line repeated within a notice, none of a parent's lines in its updates, and
    each update of a thread says something the previous one did not."""
    threads: dict[str, list[Notice]] = {}
    for n in notices:
        threads.setdefault(n.key, []).append(n)
    for thread in threads.values():
        parent_lines = set(thread[0].text.split(". "))
        for prev, n in zip(thread, thread[1:], strict=False):
            assert n.text != prev.text, n
            if n.notice == UPDATED:
                assert not parent_lines & set(n.text.split(". ")) - {""}, n
        for n in thread:
            sentences = [s for s in n.text.split(". ") if s]
            assert len(sentences) == len(set(sentences)), n


def test_nothing_reachable_opens_nothing(store: Store, clock: FakeClock) -> None:
    s = sim(store, clock)
    s.run(1800, lambda t, x: "dns", lambda t: ("dns", []))
    assert s.rows() == []
    conn = s.svc.monitor.connectivity()
    assert conn.state == "lost" and "own connectivity" in conn.reason
    assert "Not acted on" in s.svc.explain(OUTAGE)[-1].note or any(
        "Not acted on" in e.note for e in s.svc.explain(OUTAGE))
    s.run(1800, ok)                                   # the network comes back: still nothing
    assert s.rows() == [] and s.svc.monitor.connectivity().state == "ok"


def test_page_reachable_and_api_refused_is_at_most_an_unreachable_warning(
        store: Store, clock: FakeClock) -> None:
    s = sim(store, clock)
    s.run(600, ok)
    s.run(900, lambda t, x: "refused")
    s.run(900, ok)
    notices = s.notices()
    assert [n.row() for n in notices] == [
        (OPENED, OUTAGE, "first notice", "openai API: unreachable from the bot"),
        (RESOLVED, OUTAGE, "resolved", UP)]
    assert {n.severity for n in notices} == {"warning"}
    assert all("down" not in n.title for n in notices)
    assert "path may be ours" in notices[0].text
    assert notices[0].at_s <= 600 + 10                # confirmed in seconds, not minutes


def test_gateway_up_and_official_down_is_one_incident_naming_the_fallback(
        store: Store, clock: FakeClock) -> None:
    s = sim(store, clock, targets=("openai", "relay"))
    s.run(600, ok)
    s.run(1800, spans((600, 1500), target="openai"))
    notices = s.notices()
    assert [n.row() for n in notices] == [
        (OPENED, OUTAGE, "first notice", DOWN), (RESOLVED, OUTAGE, "resolved", UP)]
    assert notices[0].severity == "critical"
    assert "Fallback: relay answers normally." in notices[0].text
    # fast confirmation: the failed round at 600 s and its two re-probes 3 s apart
    assert notices[0].at_s == pytest.approx(600 + 2 * DEFAULT_POLICIES.confirm_interval_s, abs=5)


def test_a_blip_whose_confirmations_succeed_opens_nothing(store: Store,
                                                          clock: FakeClock) -> None:
    s = sim(store, clock)
    s.run(600, ok)
    s.run(1800, spans((600, 602)))                    # one round fails, its re-probes pass
    assert s.rows() == []


def test_a_single_60s_blip_without_confirmations_opens_nothing(store: Store,
                                                               clock: FakeClock) -> None:
    """Today's scheduler (no re-probes): one failed round of three in the window is a blip.
    With fast confirmation a 60 s failure survives its re-probes and is an outage (the next
    test): that is what confirming in seconds means."""
    s = sim(store, clock, confirm=False)
    s.run(600, ok)
    s.run(1800, spans((600, 660)))
    assert s.rows() == []


def test_a_60s_failure_that_survives_its_confirmations_opens_and_resolves_once(
        store: Store, clock: FakeClock) -> None:
    s = sim(store, clock)
    s.run(600, ok)
    s.run(1800, spans((600, 660)))
    assert s.rows() == [(OPENED, OUTAGE, "first notice", DOWN),
                        (RESOLVED, OUTAGE, "resolved", UP)]


def test_status_page_garbage_opens_nothing(store: Store, clock: FakeClock) -> None:
    s = sim(store, clock)
    s.run(3600, ok, lambda t: ("garbage", []))
    assert s.rows() == []
    assert s.svc.monitor.connectivity().state == "ok"


FLAPPING_ROWS = {
    # period (min): exact notices of an hour of flapping (half failing, half healthy) + settle
    2: [(OPENED, OUTAGE, "first notice", DOWN), (RESOLVED, OUTAGE, "resolved", UP)],
    3: [(OPENED, OUTAGE, "first notice", DOWN), (RESOLVED, OUTAGE, "resolved", UP)],
    5: [(OPENED, OUTAGE, "first notice", DOWN), (RESOLVED, OUTAGE, "resolved", UP)],
    # open, resolve, and failing again within the hour: the third change is the flapping notice
    10: [(OPENED, OUTAGE, "first notice", DOWN), (RESOLVED, OUTAGE, "resolved", UP),
         (OPENED, "flapping:openai", "flapping", "openai API: flapping"),
         (RESOLVED, "flapping:openai", "resolved", "openai API: stable again, healthy")],
}


@pytest.mark.parametrize("minutes", sorted(FLAPPING_ROWS))
def test_flapping_every_n_minutes(store: Store, clock: FakeClock, minutes: int) -> None:
    s = sim(store, clock)
    s.run(600, ok)
    s.run(3 * 3600, periodic(minutes * 60, minutes * 30, offset_s=600, until_s=600 + 3600))
    notices = s.notices()
    assert [n.row() for n in notices] == FLAPPING_ROWS[minutes]
    assert len(notices) <= 6                          # vs 12 open/resolve pairs without it
    assert not [n for n in notices if n.reason == "sustained"]   # regular flapping: no alarm
    assert store.open_incidents() == []
    assert_concise(notices)


def test_flapping_then_a_sustained_outage_is_announced_in_seconds_issue_14_repro(
        store: Store, clock: FakeClock) -> None:
    """PROBE_INTERVAL=1: three 8-second outages, then a sustained one of 55 s."""
    s = sim(store, clock, DEFAULT_POLICIES.for_probe_interval(1), probe_every=1, poll_every=1,
            confirm=False)
    s.run(10, ok)
    s.run(400, spans((10, 18), (28, 36), (46, 54), (64, 119)))
    notices = s.notices()
    assert [n.row() for n in notices] == [
        (OPENED, OUTAGE, "first notice", DOWN), (RESOLVED, OUTAGE, "resolved", UP),
        (OPENED, "flapping:openai", "flapping", "openai API: flapping"),
        (UPDATED, "flapping:openai", "sustained", "openai API: down (sustained, after flapping)"),
        (UPDATED, "flapping:openai", "recovered", "openai API: flapping"),
        (RESOLVED, "flapping:openai", "resolved", "openai API: stable again, healthy")]
    sustained = next(n for n in notices if n.reason == "sustained")
    assert 64 + 5 <= sustained.at_s <= 64 + 15 and sustained.severity == "critical"
    recovered = next(n for n in notices if n.reason == "recovered")
    assert 119 <= recovered.at_s <= 119 + 10
    assert_concise(notices)


def test_flapping_then_a_64_minute_outage_at_60s_probes(store: Store, clock: FakeClock) -> None:
    """Issue 14's side-by-side run: four 3-minute outages, then a full one of 64 minutes."""
    s = sim(store, clock)
    s.run(600, ok)
    bad = [(600 + i * 360, 780 + i * 360) for i in range(4)]
    start, end = 600 + 4 * 360 + 840, 600 + 4 * 360 + 840 + 64 * 60
    s.run(3 * 3600, spans(*bad, (start, end)))
    notices = s.notices()
    reasons = [n.reason for n in notices]
    assert reasons.count("sustained") == 1 and reasons.count("recovered") == 1
    sustained = next(n for n in notices if n.reason == "sustained")
    assert sustained.key == "flapping:openai" and sustained.severity == "critical"
    assert sustained.at_s - start <= 8 * 60           # was 61 min; Alertmanager 2 min
    recovered = next(n for n in notices if n.reason == "recovered")
    assert end <= recovered.at_s <= end + 5 * 60
    assert notices[-1].row() == (RESOLVED, "flapping:openai", "resolved",
                                 "openai API: stable again, healthy")
    assert len(notices) <= 8 and store.open_incidents() == []


def test_a_maintenance_window_silences_and_ends_on_time(store: Store, clock: FakeClock) -> None:
    window = MaintenanceWindow("deploy", "00:10", 1800, targets=("openai",))  # 600 s .. 2400 s
    s = sim(store, clock, dataclasses.replace(DEFAULT_POLICIES, maintenance=(window,)))
    s.run(7200, spans((900, 1500), (2100, 3300)))    # one outage inside, one across the end
    notices = s.notices()
    assert [n.row() for n in notices] == [(OPENED, OUTAGE, "first notice", DOWN),
                                          (RESOLVED, OUTAGE, "resolved", UP)]
    assert notices[0].at_s == pytest.approx(2400, abs=5)  # when the window ends, not before
    assert notices[1].at_s > 3300


def test_a_reminder_once_per_interval_while_still_failing(store: Store,
                                                          clock: FakeClock) -> None:
    s = sim(store, clock)
    s.run(600, ok)
    s.run(5 * 3600 + 1800, spans((600, 600 + 5 * 3600)))
    notices = s.notices()
    assert [n.row() for n in notices] == [
        (OPENED, OUTAGE, "first notice", DOWN), (UPDATED, OUTAGE, "reminder", DOWN),
        (UPDATED, OUTAGE, "reminder", DOWN), (RESOLVED, OUTAGE, "resolved", UP)]
    opened, first, second, _ = notices
    assert first.at_s - opened.at_s == pytest.approx(7200, abs=10)
    assert second.at_s - first.at_s == pytest.approx(7200, abs=10)
    assert first.text.startswith("Still failing after 2 h; latest:")
    assert_concise(notices)


def test_reminders_off_with_zero(store: Store, clock: FakeClock) -> None:
    s = sim(store, clock, dataclasses.replace(DEFAULT_POLICIES, reminder_interval_s=0))
    s.run(600, ok)
    s.run(3 * 3600, spans((600, 600 + 3 * 3600)))
    assert [n.reason for n in s.notices()] == ["first notice"]


INC = {"id": "01K", "name": "Elevated errors for Sora", "status": "investigating",
       "url": "https://status.example/01K", "updated_at": "2026-01-01T00:10:00Z",
       "latest_update": "Investigating."}


def _page(t: float) -> tuple[str, list[dict]]:
    if t < 700:
        return ("ok", [])
    if t < 1200:
        return ("ok", [INC])
    if t < 1800:
        return ("ok", [{**INC, "status": "identified", "updated_at": "2026-01-01T00:20:00Z",
                        "latest_update": "Fix rolling out."}])
    if t < 1900:
        return ("ok", [{**INC, "status": "resolved", "updated_at": "2026-01-01T00:30:00Z",
                        "latest_update": "All good now."}])
    return ("ok", [])


def test_one_outage_is_one_incident_with_the_pages_updates_in_its_thread(
        store: Store, clock: FakeClock) -> None:
    s = sim(store, clock)
    s.run(3600, spans((600, 1500)), _page)
    notices = s.notices()
    assert [n.row() for n in notices] == [
        (OPENED, OUTAGE, "first notice", DOWN),
        (UPDATED, OUTAGE, "official update", DOWN),
        (UPDATED, OUTAGE, "official update", DOWN),
        (UPDATED, OUTAGE, "new evidence", DOWN),       # probes healthy, page still lists it
        (RESOLVED, OUTAGE, "resolved", UP)]
    assert "Investigating." in notices[1].text and "Fix rolling out." in notices[2].text
    assert "still reports" in notices[3].text
    assert "All good now." in notices[4].text          # the page's FINAL update
    assert "Fix rolling out." not in notices[4].text   # never a stale one
    assert len(store.recent_incidents(10)) == 1
    assert_concise(notices)


def test_a_flickering_official_incident_is_one_incident(store: Store, clock: FakeClock) -> None:
    """Issue 12 item 7: the same id appearing and disappearing on every poll for 30 s."""
    s = sim(store, clock, poll_every=1)
    s.run(30, ok, lambda t: ("ok", [INC] if int(t) % 2 == 0 else []))
    s.run(60, ok)
    assert s.rows() == [
        (OPENED, OUTAGE, "first notice", "openai API: Elevated errors for Sora (status page)"),
        (RESOLVED, OUTAGE, "resolved", UP)]


def test_connectivity_lost_during_an_open_outage_neither_resolves_nor_updates_it(
        store: Store, clock: FakeClock) -> None:
    s = sim(store, clock, dataclasses.replace(DEFAULT_POLICIES, reminder_interval_s=600))
    s.run(600, ok)
    s.run(600, lambda t, x: "503")                     # a real outage opens
    s.run(3600, lambda t, x: "dns", lambda t: ("dns", []))   # then our network goes
    assert s.rows() == [(OPENED, OUTAGE, "first notice", DOWN)]   # no reminder, no resolve
    assert any("own connectivity" in e.note for e in s.svc.explain(OUTAGE))
    s.run(1200, ok)                                    # back, and the API is healthy
    assert s.rows() == [(OPENED, OUTAGE, "first notice", DOWN),
                        (RESOLVED, OUTAGE, "resolved", UP)]


def test_gateway_reachable_and_official_refused_is_unreachable_not_down(
        store: Store, clock: FakeClock) -> None:
    s = sim(store, clock, targets=("openai", "relay"))
    s.run(600, ok, lambda t: ("dns", []))             # the page is not reachable either
    s.run(1200, lambda t, x: "refused" if x == "openai" else "ok", lambda t: ("dns", []))
    notices = s.notices()
    assert [n.row() for n in notices] == [
        (OPENED, OUTAGE, "first notice", "openai API: unreachable from the bot")]
    assert notices[0].severity == "warning"
    assert s.svc.monitor.connectivity().state == "partial"


def test_a_storm_surge_on_a_target_whose_outage_is_open_is_an_update(
        store: Store, clock: FakeClock) -> None:
    s = sim(store, clock)
    s.run(600, ok)
    s.run(60, lambda t, x: "503")
    events = [{"at": clock(), "source": "chat", "target": "openai", "category": "risk_control",
               "channel_key": f"slack:T1:C{i % 3}", "redacted": ""} for i in range(30)]
    s.svc.feed_error_events(events)
    s.run(120, lambda t, x: "503")
    rows = s.rows()
    assert rows[0] == (OPENED, OUTAGE, "first notice", DOWN)
    assert (UPDATED, OUTAGE, "new evidence", DOWN) in rows
    assert not [r for r in rows if r[1].startswith("surge:")]
    joined = next(n for n in s.notices() if n.reason == "new evidence")
    assert joined.text.startswith("Team: 30 risk_control errors")


def test_the_pages_incident_during_a_window_opens_when_it_ends_with_the_pages_words(
        store: Store, clock: FakeClock) -> None:
    window = MaintenanceWindow("deploy", "00:10", 1800, targets=("openai",))  # 600 s .. 2400 s
    s = sim(store, clock, dataclasses.replace(DEFAULT_POLICIES, maintenance=(window,)))
    s.run(3600, ok, lambda t: ("ok", [INC] if 900 <= t < 3000 else []))
    notices = s.notices()
    assert [n.row() for n in notices] == [
        (OPENED, OUTAGE, "first notice", "openai API: Elevated errors for Sora (status page)"),
        (RESOLVED, OUTAGE, "resolved", UP)]
    assert notices[0].at_s == pytest.approx(2400, abs=5)
    assert "Investigating." in notices[0].text
