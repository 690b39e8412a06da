"""MonitorService on a real (temporary SQLite) Store: incident rows, timeline, outbox rows."""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.clock import FakeClock
from bot.monitor import DEFAULT_POLICIES, Monitor, OfficialChange
from bot.monitor.service import MonitorService
from bot.probes.result import ProbeResult
from bot.store import Store, open_store

KINDS = ("reachability", "auth", "videos")


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "monitor.db"


@pytest.fixture
def store(db_path: Path, clock: FakeClock) -> Iterator[Store]:
    st = open_store(f"sqlite:///{db_path}", now=clock)
    st.upgrade()
    st.subscribe("slack", "T1", "C-all", "all")
    st.subscribe("slack", "T1", "C-incidents", "incidents")
    st.subscribe("discord", "G1", "C-status", "status")
    yield st
    st.close()


def service(store: Store, clock: FakeClock) -> MonitorService:
    return MonitorService(store, Monitor(now=clock), now=clock)


def probes(svc: MonitorService, clock: FakeClock, *, failed: bool,
           category: str = "server") -> None:
    svc.feed_probe_results([
        ProbeResult(target="openai", kind=kind, ok=not failed,
                    http_status=503 if failed else 200, latency_ms=120.0,
                    category=category if failed else None, error_code=None, request_id=None,
                    detail="", at=clock())
        for kind in KINDS])


def errors(svc: MonitorService, clock: FakeClock, n: int, category: str = "server") -> None:
    svc.feed_error_events([{"at": clock(), "source": "ingest", "target": None,
                            "category": category, "fingerprint": "f", "channel_key": None,
                            "redacted": "503"} for _ in range(n)])


def tick(svc: MonitorService, clock: FakeClock, seconds: float, *, probe: bool | None = None,
         every: float = 5.0) -> list:
    """``seconds`` of scheduler time: evaluate every 5 s, a probe round every 60 s if asked."""
    applied = []
    for i in range(int(seconds / every)):
        if probe is not None and (i * every) % 60 == 0:
            probes(svc, clock, failed=probe)
        applied += svc.evaluate_and_apply()
        clock.advance(every)
    return applied


def notices(store: Store, key: str, channel: str) -> list[tuple[str, int]]:
    incident = next(i for i in store.recent_incidents(50) if i.key == key)
    return [(r.notice_kind, r.seq) for r in store.outbox_rows(incident_id=incident.id)
            if r.channel == channel]


INCIDENT = {"id": "01KSORA", "name": "Elevated errors for Sora API", "status": "investigating",
            "url": "https://status.openai.com/incidents/01KSORA",
            "updated_at": "2026-01-01T00:05:00Z", "latest_update": "Investigating."}


def test_incident_lifecycle_reaches_subscribed_channels_once_each(store: Store,
                                                                  clock: FakeClock) -> None:
    svc = service(store, clock)
    assert svc.restore() == 0
    assert tick(svc, clock, 180, probe=False) == []            # healthy: nothing

    errors(svc, clock, 8)                                      # the team's requests fail
    [opened] = tick(svc, clock, 10)
    assert (opened.action, opened.key, opened.severity) == ("open", "outage:openai", "warning")
    probes(svc, clock, failed=True)                            # probes confirm
    [update] = svc.evaluate_and_apply()
    assert (update.reason, update.severity) == ("severity changed", "critical")

    svc.feed_status_changes([OfficialChange("incident_opened", INCIDENT, "partial_outage")])
    [official] = svc.evaluate_and_apply()                      # the page joins the outage
    assert (official.action, official.key, official.reason) == (
        "update", "outage:openai", "official update")

    assert tick(svc, clock, 300, probe=True) == []             # still down: nothing new
    recovered = tick(svc, clock, 300, probe=False)             # probes recover, page lists it
    assert [(d.action, d.key, d.reason) for d in recovered] == [
        ("update", "outage:openai", "new evidence")]
    svc.feed_status_changes([OfficialChange(
        "incident_resolved", {**INCIDENT, "status": "resolved", "latest_update": "Resolved.",
                              "updated_at": "2026-01-01T00:30:00Z"}, "operational")])
    [resolved] = svc.evaluate_and_apply()
    assert (resolved.action, resolved.key) == ("resolve", "outage:openai")
    assert "Resolved." in resolved.summary

    [outage] = [i for i in store.recent_incidents(10)]         # one outage, one incident
    assert (outage.key, outage.state, outage.severity, outage.kind, outage.target) == (
        "outage:openai", "resolved", "critical", "outage", "openai")
    assert outage.official_update_at

    timeline = [(e.kind, e.reason) for e in store.incident_timeline(outage.id)]
    assert timeline == [("opened", "first notice"), ("updated", "severity changed"),
                        ("updated", "official update"), ("updated", "new evidence"),
                        ("resolved", "resolved")]

    # One 'opened', the updates, one 'resolved' per subscribed channel that wants the kind.
    for channel in ("C-all", "C-incidents"):
        assert notices(store, "outage:openai", channel) == [
            ("opened", 1), ("updated", 2), ("updated", 3), ("updated", 4), ("resolved", 5)]
    # A status channel follows the page: from the page's first word about this outage on.
    assert notices(store, "outage:openai", "C-status") == [
        ("updated", 3), ("updated", 4), ("resolved", 5)]
    rows = store.outbox_rows()
    assert len({r.dedupe_key for r in rows}) == len(rows)
    first = next(r for r in rows if r.channel == "C-all")
    assert first.payload["reason"] == "first notice" and first.payload["kind"] == "outage"
    assert first.payload["fields"] and first.status == "pending"


def test_restart_mid_incident_does_not_reopen_and_still_resolves(store: Store,
                                                                 clock: FakeClock) -> None:
    svc = service(store, clock)
    tick(svc, clock, 180, probe=False)
    assert [d.action for d in tick(svc, clock, 180, probe=True)] == ["open"]
    rows_before = len(store.outbox_rows())

    restarted = service(store, clock)                          # a new process, same database
    assert restarted.restore() == 1
    assert tick(restarted, clock, 300, probe=True) == []
    assert len(store.outbox_rows()) == rows_before
    assert [d.action for d in tick(restarted, clock, 300, probe=False)] == ["resolve"]
    assert notices(store, "outage:openai", "C-all") == [("opened", 1), ("resolved", 2)]


def test_restore_replays_recent_history_so_a_noisy_normal_is_not_a_burst(
        store: Store, clock: FakeClock) -> None:
    start = clock()
    store.add_error_events([{"at": start - timedelta(seconds=s), "source": "ingest",
                             "target": "openai", "category": "server", "redacted": ""}
                            for s in range(8, 1800, 8)])       # ~7.5 a minute for 30 min
    svc = service(store, clock)
    svc.restore()
    applied = []
    for _ in range(5):
        for _ in range(7):
            errors(svc, clock, 1)
            applied += tick(svc, clock, 8.5, every=8.5)
    assert applied == []
    cold = service(store, clock)                               # the same stream, no history
    cold.restore(history=False)
    for _ in range(7):
        errors(cold, clock, 1)
        applied += tick(cold, clock, 8.5, every=8.5)
    assert [d.action for d in applied] == ["open"]             # what the history prevented


def test_store_unavailable_keeps_decisions_in_order_until_it_is_back(
        db_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    import bot.store.db

    monkeypatch.setattr(bot.store.db, "SQLITE_BUSY_TIMEOUT_MS", 50)
    st = open_store(f"sqlite:///{db_path}", now=clock)
    st.upgrade()
    st.subscribe("slack", "T1", "C-all", "all")
    svc = service(st, clock)
    errors(svc, clock, 8)
    svc.evaluate_and_apply()

    lock = sqlite3.connect(db_path, isolation_level=None)
    lock.execute("BEGIN EXCLUSIVE")                            # another writer holds the db
    try:
        clock.advance(5)
        assert svc.evaluate_and_apply() == []
        assert [d.action for d in svc.pending] == ["open"]
        probes(svc, clock, failed=True)
        assert svc.evaluate_and_apply() == []
        assert [d.action for d in svc.pending] == ["open", "update"]
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    assert [d.action for d in svc.evaluate_and_apply()] == ["open", "update"]
    assert svc.pending == ()
    assert [r.notice_kind for r in st.outbox_rows()] == ["opened", "updated"]
    st.close()


def test_an_incident_already_open_in_the_store_is_not_announced_twice(store: Store,
                                                                      clock: FakeClock) -> None:
    store.open_incident("outage:openai", "outage", title="openai API: down", severity="error",
                        target="openai")                       # from a process that crashed
    svc = service(store, clock)                                # ... and no restore() here
    errors(svc, clock, 8)
    assert [d.action for d in tick(svc, clock, 10)] == ["open"]
    assert notices(store, "outage:openai", "C-all") == [("opened", 1)]
    incident = store.get_open_incident("outage:openai")
    assert [e.reason for e in store.incident_timeline(incident.id)] == [
        "first notice", "first notice"]


def test_error_events_from_probes_are_not_counted_twice_and_targetless_go_to_default(
        store: Store, clock: FakeClock) -> None:
    svc = service(store, clock)
    assert svc.feed_error_events([{"source": "probe", "category": "server"}] * 20) == 0
    assert tick(svc, clock, 10) == []
    assert svc.feed_error_events([{"source": "chat", "category": "server",
                                   "channel_key": f"slack:T1:C{i}"} for i in range(6)]) == 6
    [d] = tick(svc, clock, 10)
    assert (d.key, d.target) == ("outage:openai", "openai")


OWN_KEY = dataclasses.replace(DEFAULT_POLICIES, official=dataclasses.replace(
    DEFAULT_POLICIES.official, link_targets=frozenset()))


def test_sync_status_resolves_what_ended_during_downtime_and_ignores_unreadable_pages(
        store: Store, clock: FakeClock) -> None:
    svc = MonitorService(store, Monitor(OWN_KEY, now=clock), now=clock)
    svc.feed_status_changes([OfficialChange("incident_opened", INCIDENT, "partial_outage")])
    assert [d.action for d in svc.evaluate_and_apply()] == ["open"]
    restarted = MonitorService(store, Monitor(OWN_KEY, now=clock), now=clock)
    restarted.restore()
    assert restarted.sync_status({"ok": False, "incidents": []}) == []   # page unreadable
    assert restarted.evaluate_and_apply() == []
    for _ in range(DEFAULT_POLICIES.official.resolve_after_polls - 1):  # damping
        restarted.sync_status({"ok": True, "incidents": []})
        assert restarted.evaluate_and_apply() == []
    restarted.sync_status({"ok": True, "incidents": []})
    assert [d.action for d in restarted.evaluate_and_apply()] == ["resolve"]
    assert notices(store, "official:01KSORA", "C-status") == [("opened", 1), ("resolved", 2)]


def test_a_page_opened_outage_restored_after_a_restart_resolves_on_healthy_probes(
        store: Store, clock: FakeClock) -> None:
    svc = service(store, clock)
    svc.feed_status_changes([OfficialChange("incident_opened", INCIDENT, "partial_outage")])
    assert [(d.action, d.key) for d in svc.evaluate_and_apply()] == [("open", "outage:openai")]
    restarted = service(store, clock)
    restarted.restore()
    restarted.sync_status({"ok": True, "incidents": []})
    assert [d.action for d in tick(restarted, clock, 60, probe=False)] == ["resolve"]
    assert notices(store, "outage:openai", "C-all") == [("opened", 1), ("resolved", 2)]


def test_flapping_reaches_channels_as_one_notice_then_one_resolve(store: Store,
                                                                  clock: FakeClock) -> None:
    svc = service(store, clock)
    tick(svc, clock, 180, probe=False)
    for _ in range(6):                                   # an hour of 5-min alternation
        tick(svc, clock, 300, probe=True)
        tick(svc, clock, 300, probe=False)
    tick(svc, clock, 3600 + 300, probe=False)            # then stable
    flap = next(i for i in store.recent_incidents(20) if i.key == "flapping:openai")
    assert (flap.kind, flap.target, flap.state) == ("flapping", "openai", "resolved")
    assert [(e.kind, e.reason) for e in store.incident_timeline(flap.id)] == [
        ("opened", "flapping"), ("resolved", "resolved")]
    assert notices(store, "flapping:openai", "C-incidents") == [("opened", 1), ("resolved", 2)]
    assert notices(store, "flapping:openai", "C-status") == []
    outages = [i for i in store.recent_incidents(20) if i.key == "outage:openai"]
    # open, resolve, then the third change (failing again) is the flapping notice itself
    assert len(outages) == 1 and all(i.state == "resolved" for i in outages)
    assert store.open_incidents() == []
    assert len([r for r in store.outbox_rows() if r.channel == "C-all"]) <= 6
