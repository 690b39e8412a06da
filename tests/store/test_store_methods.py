"""Round trips of every Store method, each on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from bot.clock import FakeClock
from bot.errors import StoreError
from bot.store import (
    IncidentAlreadyOpen,
    IncidentNotOpen,
    NewErrorEvent,
    Store,
    dedupe_key,
)
from bot.store.models import DETAIL_MAX, REDACTED_MAX


def test_ping(store: Store) -> None:
    store.ping()


# -- probes ------------------------------------------------------------------------------

def test_probe_results_latest_per_target_kind(store: Store, clock: FakeClock) -> None:
    t0 = clock()
    store.add_probe_result(target="openai", kind="auth", ok=True, http_status=200,
                           latency_ms=120.5, at=t0)
    store.add_probe_result(target="openai", kind="auth", ok=False, http_status=503,
                           category="server", error_code="server_error", request_id="req_1",
                           detail="x" * 5000, at=t0 + timedelta(seconds=60))
    store.add_probe_result(target="openai", kind="reachability", ok=True, http_status=401,
                           at=t0 + timedelta(seconds=30))
    store.add_probe_result(target="gw", kind="auth", ok=True, http_status=200, at=t0)
    # An older result stored later does not win over a newer one.
    store.add_probe_result(target="gw", kind="auth", ok=False, http_status=500,
                           at=t0 - timedelta(seconds=60))

    latest = store.latest_probe_results()
    assert [(r.target, r.kind, r.ok, r.http_status) for r in latest] == [
        ("gw", "auth", True, 200), ("openai", "auth", False, 503),
        ("openai", "reachability", True, 401)]
    failed = latest[1]
    assert failed.category == "server" and failed.request_id == "req_1"
    assert len(failed.detail) == DETAIL_MAX
    assert failed.at == t0 + timedelta(seconds=60) and failed.at.tzinfo is not None

    recent = store.recent_probe_results("openai", since=t0 + timedelta(seconds=1))
    assert [(r.kind, r.http_status) for r in recent] == [("reachability", 401), ("auth", 503)]
    assert [r.kind for r in store.recent_probe_results("openai", t0, kind="auth")] == \
        ["auth", "auth"]


def test_timestamps_are_utc_even_when_given_in_another_zone(store: Store) -> None:
    plus2 = timezone(timedelta(hours=2))
    at = datetime(2026, 3, 1, 12, 0, tzinfo=plus2)
    store.add_probe_result(target="t", kind="auth", ok=True, at=at)
    got = store.recent_probe_results("t", since=datetime(2026, 3, 1, 9, 59, tzinfo=UTC))
    assert got[0].at == at and got[0].at.utcoffset() == timedelta(0)
    assert got[0].at.hour == 10


# -- status snapshots --------------------------------------------------------------------

def test_status_snapshots(store: Store, clock: FakeClock) -> None:
    assert store.latest_status_snapshot() is None
    comps = [{"name": "Sora", "status": "partial_outage"}]
    incs = [{"id": "01J", "name": "Elevated errors", "status": "investigating",
             "url": "https://status.openai.com/incidents/01J", "updated_at": "2026-01-01T00:00Z",
             "latest_update": "We are investigating"}]
    store.add_status_snapshot(url="https://status.openai.com", ok=True, format="incidentio",
                              indicator="partial_outage", components=comps, incidents=incs,
                              etag='W/"abc"', last_modified="Thu, 01 Jan 2026 00:00:00 GMT")
    clock.advance(60)
    store.add_status_snapshot(url="https://status.openai.com", ok=False, error="timed out")
    latest = store.latest_status_snapshot()
    assert latest is not None and latest.ok is False and latest.error == "timed out"
    good = store.latest_status_snapshot(ok_only=True)
    assert good is not None and good.components == comps and good.incidents == incs
    assert good.format == "incidentio" and good.etag == 'W/"abc"'
    assert store.latest_status_snapshot("https://other.example") is None
    with pytest.raises(ValueError, match="format must be one of"):
        store.add_status_snapshot(url="u", ok=True, format="rss")


# -- error events ------------------------------------------------------------------------

def test_error_events_counts_and_truncation(store: Store, clock: FakeClock) -> None:
    t0 = clock()
    n = store.add_error_events([
        NewErrorEvent(source="probe", category="server", target="openai", http_status=503,
                      fingerprint="fp1", redacted="boom", at=t0 - timedelta(minutes=30)),
        NewErrorEvent(source="chat", category="risk_control", channel_key="slack:T1:C1",
                      redacted="y" * 10_000),
        {"source": "ingest", "category": "server", "target": "openai", "error_code": "x"},
        {"source": "ingest", "category": "rate_limit", "target": "gw"},
    ])
    assert n == 4
    since = t0 - timedelta(minutes=15)
    assert store.error_counts(since) == {"risk_control": 1, "server": 1, "rate_limit": 1}
    assert store.error_total(since) == 3
    assert store.error_counts(since, target="openai") == {"server": 1}
    assert store.error_counts(since, source="chat") == {"risk_control": 1}
    events = store.error_events_since(since)
    assert [e.category for e in events] == ["risk_control", "server", "rate_limit"]
    assert len(events[0].redacted) == REDACTED_MAX and events[0].at == t0
    assert [e.http_status for e in store.error_events_since(t0 - timedelta(hours=1), "openai")] \
        == [503, None]
    assert store.add_error_events([]) == 0
    with pytest.raises(ValueError, match="source must be one of"):
        store.add_error_events([{"source": "email", "category": "server"}])


# -- incidents and the outbox ------------------------------------------------------------

def _subscribe_three(store: Store) -> None:
    store.subscribe("slack", "T1", "C-all", "all", by="U1")
    store.subscribe("discord", "G1", "C-inc", "incidents", by="U2")
    store.subscribe("shell", "local", "C-status", "status", by="me")


def test_incident_lifecycle_writes_timeline_and_outbox(store: Store, clock: FakeClock) -> None:
    _subscribe_three(store)
    inc = store.open_incident("outage:openai", "outage", target="openai", severity="error",
                              title="OpenAI API failing", summary="probes fail with 503",
                              fields=[{"name": "probes", "value": "3/3 failing"}],
                              links=[{"title": "status", "url": "https://status.openai.com"}])
    assert inc.state == "open" and inc.seq == 1 and inc.opened_at == clock()
    assert store.get_open_incident("outage:openai").id == inc.id
    with pytest.raises(IncidentAlreadyOpen, match="already open"):
        store.open_incident("outage:openai", "outage", title="again")

    clock.advance(120)
    store.update_incident(inc.id, reason="severity changed", severity="critical",
                          detail="all targets down")
    store.update_incident(inc.id, reason="new evidence", detail="quiet note", notify=False)
    clock.advance(300)
    done = store.resolve_incident(inc.id, detail="probes healthy for 3 evaluations")
    assert done.state == "resolved" and done.resolved_at == clock() and done.seq == 3
    assert store.get_open_incident("outage:openai") is None
    with pytest.raises(IncidentNotOpen):
        store.update_incident(inc.id, reason="new evidence")
    with pytest.raises(IncidentNotOpen):
        store.resolve_incident(9999)

    timeline = store.incident_timeline(inc.id)
    assert [(e.kind, e.seq, e.reason, e.severity) for e in timeline] == [
        ("opened", 1, "first notice", "error"),
        ("updated", 2, "severity changed", "critical"),
        ("updated", 2, "new evidence", "critical"),
        ("resolved", 3, "resolved", "critical")]

    rows = store.outbox_rows(incident_id=inc.id)
    # 'all' and 'incidents' get an outage; 'status' (official only) does not.
    assert sorted((r.channel, r.seq, r.notice_kind) for r in rows) == [
        ("C-all", 1, "opened"), ("C-all", 2, "updated"), ("C-all", 3, "resolved"),
        ("C-inc", 1, "opened"), ("C-inc", 2, "updated"), ("C-inc", 3, "resolved")]
    first = rows[0]
    assert first.dedupe_key == dedupe_key(inc.id, "slack", "T1", "C-all", 1)
    assert first.status == "pending" and first.attempts == 0
    assert first.payload["title"] == "OpenAI API failing"
    assert first.payload["fields"] == [{"name": "probes", "value": "3/3 failing"}]
    assert first.payload["links"][0]["url"] == "https://status.openai.com"
    assert first.payload["notice"] == "opened" and first.payload["reason"] == "first notice"
    resolved = [r for r in rows if r.notice_kind == "resolved"][0]
    assert resolved.payload["state"] == "resolved"
    assert resolved.payload["text"] == "probes healthy for 3 evaluations"

    # A key can be opened again once resolved; history is newest first.
    clock.advance(10)
    again = store.open_incident("outage:openai", "outage", title="again")
    assert [i.id for i in store.recent_incidents(5)] == [again.id, inc.id]
    assert [i.id for i in store.open_incidents()] == [again.id]


def test_official_incidents_go_to_status_and_all_subscribers(store: Store) -> None:
    _subscribe_three(store)
    inc = store.open_incident("official:01JABC", "official", title="Sora degraded",
                              severity="warning", official_update_at="2026-01-01T00:00:00Z")
    assert sorted(r.channel for r in store.outbox_rows(incident_id=inc.id)) == \
        ["C-all", "C-status"]
    updated = store.update_incident(inc.id, reason="official update",
                                    official_update_at="2026-01-01T00:10:00Z", kind="updated")
    assert updated.official_update_at == "2026-01-01T00:10:00Z"


def test_flapping_notice_and_linking(store: Store) -> None:
    store.subscribe("slack", "T1", "C1", "incidents")
    official = store.open_incident("official:1", "official", title="page incident")
    ours = store.open_incident("outage:openai", "outage", title="ours")
    store.update_incident(ours.id, reason="flapping", kind="flapping",
                          linked_incident_id=official.id)
    assert store.get_incident(ours.id).linked_incident_id == official.id
    kinds = [r.notice_kind for r in store.outbox_rows(incident_id=ours.id)]
    assert kinds == ["opened", "flapping"]
    with pytest.raises(ValueError, match="reason must be one of"):
        store.update_incident(ours.id, reason="because")
    with pytest.raises(ValueError, match="kind must be one of"):
        store.open_incident("x", "meteor", title="x")


def test_incident_change_and_outbox_are_one_transaction(store: Store) -> None:
    """If the outbox insert fails, the incident change is rolled back with it."""
    store.subscribe("slack", "T1", "C1", "all")
    inc = store.open_incident("outage:a", "outage", title="a")

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    store._enqueue = broken  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        store.update_incident(inc.id, reason="severity changed", severity="critical")
    del store._enqueue
    assert store.get_incident(inc.id).severity == "error"
    assert store.get_incident(inc.id).seq == 1
    assert len(store.incident_timeline(inc.id)) == 1
    with pytest.raises(RuntimeError):
        store._enqueue = broken  # type: ignore[method-assign]
        store.open_incident("outage:b", "outage", title="b")
    assert store.get_open_incident("outage:b") is None


def test_outbox_insert_ignores_duplicates(store: Store) -> None:
    """Re-enqueueing the same notice (same dedupe key) adds nothing."""
    store.subscribe("slack", "T1", "C1", "all")
    inc = store.open_incident("outage:a", "outage", title="a")
    timeline = store.incident_timeline(inc.id)
    with store._tx() as s:
        from bot.store.models import Incident
        store._enqueue(s, s.get(Incident, inc.id), timeline[0], (), ())
    assert len(store.outbox_rows(incident_id=inc.id)) == 1


# -- subscriptions, mutes, channel settings ----------------------------------------------

def test_subscriptions(store: Store) -> None:
    sub = store.subscribe("slack", "T1", "C1", "all", by="U1")
    assert (sub.kinds, sub.created_by) == ("all", "U1")
    again = store.subscribe("slack", "T1", "C1", "status", by="U2")
    assert again.id == sub.id and again.kinds == "status"
    store.subscribe("discord", "G1", "C9", "incidents")
    assert [(s.platform, s.kinds) for s in store.list_subscriptions()] == \
        [("slack", "status"), ("discord", "incidents")]
    assert [s.channel for s in store.list_subscriptions("discord")] == ["C9"]
    assert store.get_subscription("slack", "T1", "C1").kinds == "status"
    assert store.unsubscribe("slack", "T1", "C1") is True
    assert store.unsubscribe("slack", "T1", "C1") is False
    assert store.get_subscription("slack", "T1", "C1") is None
    with pytest.raises(ValueError, match="kinds must be one of"):
        store.subscribe("slack", "T1", "C1", "everything")
    with pytest.raises(ValueError, match="platform must be a lower-case name"):
        store.subscribe("IRC channel", "x", "y")
    # a platform is whatever adapter is registered: a new one needs no change here
    assert store.subscribe("mattermost", "team", "town-square").platform == "mattermost"


def test_mutes(store: Store, clock: FakeClock) -> None:
    until = clock() + timedelta(hours=1)
    store.mute("slack", "T1", "C1", until, by="U1")
    assert store.active_mute("slack", "T1", "C1").until == until
    assert store.active_mute("slack", "T1", "C2") is None
    assert store.active_mute("slack", "T1", "C1", now=until) is None  # ends at `until`
    assert list(store.active_mutes()) == [("slack", "T1", "C1")]
    assert store.active_mutes(until) == {}
    later = clock() + timedelta(hours=3)
    replaced = store.mute("slack", "T1", "C1", later, by="U2")
    assert replaced.until == later and replaced.created_by == "U2"
    clock.advance(2 * 3600)
    assert store.active_mute("slack", "T1", "C1") is not None
    assert store.unmute("slack", "T1", "C1") is True
    assert store.active_mute("slack", "T1", "C1") is None


def test_channel_settings(store: Store) -> None:
    default = store.channel_settings("slack", "T1", "C1")
    assert default.paste_detection is True and default.count_pastes is True
    store.set_channel_setting("slack", "T1", "C1", count_pastes=False)
    got = store.channel_settings("slack", "T1", "C1")
    assert (got.paste_detection, got.count_pastes) == (True, False)
    store.set_channel_setting("slack", "T1", "C1", paste_detection=False)
    got = store.channel_settings("slack", "T1", "C1")
    assert (got.paste_detection, got.count_pastes) == (False, False)


# -- jobs, budget, retention -------------------------------------------------------------

def test_job_runs(store: Store, clock: FakeClock) -> None:
    store.record_job_run("probes", ok=True)
    clock.advance(60)
    store.record_job_run("probes", ok=False, error="timeout")
    store.record_job_run("status_poll", ok=True, started_at=clock() - timedelta(seconds=2))
    runs = store.job_runs()
    assert set(runs) == {"probes", "status_poll"}
    assert runs["probes"].last_success_at == clock() - timedelta(seconds=60)
    assert runs["probes"].last_started_at == clock()
    assert runs["probes"].last_error == "timeout"
    assert runs["status_poll"].last_started_at == clock() - timedelta(seconds=2)


def test_take_budget_is_capped(store: Store) -> None:
    day = date(2026, 1, 1).isoformat()
    assert [store.take_budget("generate", day, 2) for _ in range(4)] == \
        [True, True, False, False]
    assert store.budget_used("generate", day) == 2
    assert store.take_budget("generate", "2026-01-02", 2) is True
    assert store.take_budget("other", day, 0) is False


def test_prune(store: Store, clock: FakeClock) -> None:
    old = clock() - timedelta(days=30)
    store.add_probe_result(target="t", kind="auth", ok=True, at=old)
    store.add_probe_result(target="t", kind="auth", ok=True)
    store.add_error_events([{"source": "probe", "category": "server", "at": old},
                            {"source": "probe", "category": "server"}])
    store.add_status_snapshot(url="u", ok=True, fetched_at=old - timedelta(days=1))
    store.add_status_snapshot(url="u", ok=True, fetched_at=old)
    counts = store.prune(clock() - timedelta(days=14))
    assert counts["probe_results"] == 1 and counts["error_events"] == 1
    assert counts["status_snapshots"] == 1  # the newest snapshot stays, however old
    assert store.latest_status_snapshot().fetched_at == old
    assert len(store.recent_probe_results("t", old - timedelta(days=1))) == 1


def test_prune_keeps_outbox_of_open_incidents(store: Store, clock: FakeClock) -> None:
    store.subscribe("slack", "T1", "C1", "all")
    open_one = store.open_incident("outage:a", "outage", title="a")
    done = store.open_incident("outage:b", "outage", title="b")
    store.resolve_incident(done.id)
    with store._tx() as s:
        from sqlalchemy import update

        from bot.store.models import Outbox
        s.execute(update(Outbox).values(status="sent"))
    clock.advance(30 * 86400)
    counts = store.prune(clock() - timedelta(days=14))
    assert counts["outbox"] == 2
    assert [r.incident_id for r in store.outbox_rows()] == [open_one.id]


def test_database_error_is_one_line_store_error(store: Store) -> None:
    store.engine.dispose()
    with store.engine.begin() as conn:
        from sqlalchemy import text
        conn.execute(text("DROP TABLE job_runs"))
    try:
        with pytest.raises(StoreError) as info:
            store.job_runs()
        assert str(info.value).startswith("database error:") and "\n" not in str(info.value)
    finally:  # the PostgreSQL database is shared by the session's tests
        from bot.store import Base
        Base.metadata.tables["job_runs"].create(store.engine)


# -- batch/object forms used by the services ---------------------------------------------

def test_add_probe_results_takes_objects_and_skips_skipped(store: Store, clock: FakeClock) -> None:
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class Result:  # the shape of bot.probes.ProbeResult
        target: str
        kind: str
        ok: bool
        skipped: bool = False

        def to_record(self) -> dict:
            return {"target": self.target, "kind": self.kind, "ok": self.ok,
                    "http_status": 200 if self.ok else 503, "latency_ms": 12.0,
                    "category": None if self.ok else "server", "error_code": None,
                    "request_id": None, "detail": "", "at": clock()}

    n = store.add_probe_results([Result("openai", "auth", True), Result("openai", "videos", False),
                                 Result("openai", "generate", False, skipped=True),
                                 {"target": "gw", "kind": "auth", "ok": True}])
    assert n == 3
    assert [(r.target, r.kind, r.http_status) for r in store.latest_probe_results()] == [
        ("gw", "auth", None), ("openai", "auth", 200), ("openai", "videos", 503)]


def test_add_status_snapshot_takes_an_object(store: Store, clock: FakeClock) -> None:
    class Snap:
        url, ok, format, indicator = "https://s", True, "statuspage", "major_outage"
        components = ({"name": "Sora", "status": "major_outage"},)
        incidents = ()
        etag, last_modified, error, fetched_at = None, None, None, clock()

    store.add_status_snapshot(Snap())
    got = store.latest_status_snapshot()
    assert got.indicator == "major_outage" and got.components == [dict(Snap.components[0])]


def test_indicator_since(store: Store, clock: FakeClock) -> None:
    def poll(indicator: str | None, ok: bool = True) -> None:
        store.add_status_snapshot(url="u", ok=ok, indicator=indicator)
        clock.advance(60)

    assert store.indicator_since("operational") is None
    poll("partial_outage")          # an earlier run, broken below
    poll("operational")
    start = clock()
    poll("partial_outage")
    poll(None, ok=False)            # a failed poll does not break the run
    poll("partial_outage")
    assert store.indicator_since("partial_outage") == start
    assert store.indicator_since("operational") is None   # not the current indicator
    poll("operational")
    assert store.indicator_since("operational") == start + timedelta(seconds=180)


def test_counts_for_health_and_demo(store: Store) -> None:
    assert store.open_incident_count() == 0 and store.outbox_pending_count() == 0
    store.subscribe("slack", "T1", "C1", "all")
    store.subscribe("slack", "T1", "C2", "all")
    store.open_incident("outage:a", "outage", title="a")
    assert store.open_incident_count() == 1
    assert store.outbox_pending_count() == 2
    assert store.outbox_counts() == {"pending": 2}
    assert store.describe_url().startswith(("sqlite:///", "postgresql+psycopg://"))
