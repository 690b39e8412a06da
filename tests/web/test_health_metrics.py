"""GET /healthz and GET /metrics over real HTTP, against a real store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timezone
from typing import Any

import pytest
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from bot.clock import FakeClock
from bot.store import open_store
from bot.web import Metrics
from bot.web.app import job_health, overall_health
from tests.web.conftest import StubHealth


@dataclass(frozen=True)
class Probe:
    target: str
    kind: str
    ok: bool
    latency_ms: float | None


def unreachable_store() -> Any:
    # Nothing listens on port 1: a real "connection refused" from the driver.
    return open_store("postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=2",
                      connect=False)


# -- /healthz -------------------------------------------------------------------------------------

async def test_healthz_ok_with_job_ages(start_app: Any, store: Any) -> None:
    clock = FakeClock(datetime(2026, 1, 1, 12, 0, tzinfo=UTC))
    store.now = clock
    store.record_job_run("probes", ok=True)
    store.record_job_run("status", ok=True)
    clock.advance(42.5)
    live = await start_app(now=clock)
    r = await live.client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {
        "status": "ok", "db": True, "scheduler": {"alive": True, "leader": True},
        "connectivity": "ok",
        "jobs": {"probes": {"last_success_age_s": 42.5, "last_error": None},
                 "status": {"last_success_age_s": 42.5, "last_error": None}}}


async def test_healthz_fails_when_leader_scheduler_is_dead(start_app: Any) -> None:
    live = await start_app(health=StubHealth(alive=False, leader=True))
    r = await live.client.get("/healthz")
    assert r.status_code == 503
    assert r.json()["status"] == "fail"
    assert r.json()["scheduler"] == {"alive": False, "leader": True}


async def test_healthz_follower_without_scheduler_is_ok(start_app: Any) -> None:
    live = await start_app(health=StubHealth(alive=False, leader=False))
    r = await live.client.get("/healthz")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"
    assert r.json()["scheduler"] == {"alive": False, "leader": False}


async def test_healthz_fails_when_db_unreachable(start_app: Any) -> None:
    down = unreachable_store()
    try:
        live = await start_app(app_store=down)
        r = await live.client.get("/healthz")
        assert r.status_code == 503
        assert r.json() == {"status": "fail", "db": False, "db_error": "database unreachable",
                            "scheduler": {"alive": True, "leader": True}, "jobs": {}}
    finally:
        down.close()


async def test_healthz_degraded_on_failing_job(start_app: Any, store: Any) -> None:
    store.record_job_run("probes", ok=True)
    store.record_job_run("status", ok=False, error="status page: timed out\nsecond line")
    live = await start_app()
    r = await live.client.get("/healthz")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "degraded"
    assert body["jobs"]["status"] == {"last_success_age_s": None,
                                      "last_error": "status page: timed out"}


async def test_healthz_degraded_on_overdue_job(start_app: Any, store: Any) -> None:
    clock = FakeClock(datetime(2026, 1, 1, tzinfo=UTC))
    store.now = clock
    store.record_job_run("probes", ok=True)
    store.record_job_run("retention", ok=True)
    clock.advance(3 * 60 + 31)  # three probe intervals and the grace have passed
    live = await start_app(now=clock, health=StubHealth(intervals={"probes": 60,
                                                                    "retention": 86400}))
    body = (await live.client.get("/healthz")).json()
    assert body["status"] == "degraded"
    clock.advance(-2)
    body = (await live.client.get("/healthz")).json()
    assert body["status"] == "ok"


async def test_healthz_broken_health_source_counts_as_dead(start_app: Any) -> None:
    class Broken(StubHealth):
        def scheduler_alive(self) -> bool:
            raise RuntimeError("boom")

    live = await start_app(health=Broken(leader=True))
    r = await live.client.get("/healthz")
    assert r.status_code == 503 and r.json()["scheduler"]["alive"] is False


@pytest.mark.parametrize("db,alive,leader,bad,expected", [
    (True, True, True, [], "ok"),
    (True, False, False, [], "ok"),
    (True, True, True, ["probes"], "degraded"),
    (False, True, True, [], "fail"),
    (True, False, True, [], "fail"),
    (False, False, False, ["x"], "fail"),
])
def test_overall_health_table(db: bool, alive: bool, leader: bool, bad: list[str],
                              expected: str) -> None:
    assert overall_health(db, alive, leader, bad) == expected


def test_job_health_recovered_job_is_not_failing() -> None:
    @dataclass
    class Row:
        name: str
        last_started_at: datetime | None
        last_success_at: datetime | None
        last_error: str | None

    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    # An error recorded before the last success (a store that keeps it) is history, not a fault.
    jobs, bad = job_health([Row("a", t0, t0.replace(second=5), "old"),
                            Row("b", t0.replace(second=9), t0.replace(second=5), "new")],
                           t0.replace(second=10))
    assert bad == ["b"]
    assert jobs["a"] == {"last_success_age_s": 5.0, "last_error": "old"}


# -- /metrics ---------------------------------------------------------------------------------

async def test_metrics_names_and_values(start_app: Any, store: Any) -> None:
    metrics = Metrics()
    live = await start_app(metrics=metrics)
    metrics.observe_probe(Probe("openai", "auth", True, 120.0))
    metrics.observe_probe(Probe("openai", "auth", False, 2500.0))
    metrics.observe_probe(Probe("relay", "reachability", False, None))
    metrics.count_delivery("slack", "sent")
    metrics.count_delivery("slack", "retry")
    metrics.count_delivery("slack", "sent")
    metrics.count_errors("server", "probe", 3)
    metrics.count_incident("outage")
    store.subscribe("shell", "local", "terminal", "all")
    store.subscribe("slack", "T1", "C1", "all")
    store.open_incident("outage:openai", "outage", title="OpenAI API down", target="openai")

    r = await live.client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    text = r.text
    for line in [
        'sora_bot_probes_total{kind="auth",ok="true",target="openai"} 1.0',
        'sora_bot_probes_total{kind="auth",ok="false",target="openai"} 1.0',
        'sora_bot_probes_total{kind="reachability",ok="false",target="relay"} 1.0',
        'sora_bot_probe_latency_seconds_bucket{kind="auth",le="0.25",target="openai"} 1.0',
        'sora_bot_probe_latency_seconds_bucket{kind="auth",le="5.0",target="openai"} 2.0',
        'sora_bot_probe_latency_seconds_count{kind="auth",target="openai"} 2.0',
        'sora_bot_probe_latency_seconds_sum{kind="auth",target="openai"} 2.62',
        'sora_bot_deliveries_total{outcome="sent",platform="slack"} 2.0',
        'sora_bot_deliveries_total{outcome="retry",platform="slack"} 1.0',
        'sora_bot_errors_total{category="server",source="probe"} 3.0',
        'sora_bot_incidents_total{kind="outage"} 1.0',
        "sora_bot_incidents_open 1.0",
        'sora_bot_outbox_depth{status="pending"} 2.0',
        'sora_bot_outbox_depth{status="sent"} 0.0',
        "sora_bot_db_up 1.0",
    ]:
        assert line in text, line
    assert "# TYPE sora_bot_probe_latency_seconds histogram" in text


async def test_metrics_survive_a_dead_store(start_app: Any) -> None:
    down = unreachable_store()
    try:
        live = await start_app(app_store=down)
        live.metrics.count_delivery("discord", "dead")
        r = await live.client.get("/metrics")
        assert r.status_code == 200
        assert "sora_bot_db_up 0.0" in r.text
        assert 'sora_bot_deliveries_total{outcome="dead",platform="discord"} 1.0' in r.text
        assert "sora_bot_outbox_depth{" not in r.text
    finally:
        down.close()


def test_two_metrics_objects_do_not_clash(store: Any) -> None:
    a, b = Metrics(store), Metrics(store)
    a.count_errors("quota", "ingest", 2)
    assert b'sora_bot_errors_total{category="quota",source="ingest"} 2.0' in a.render()
    assert b'category="quota"' not in b.render()


# -- composition --------------------------------------------------------------------------------

async def test_extra_routes_are_mounted(start_app: Any) -> None:
    async def slack_events(request: Any) -> PlainTextResponse:
        return PlainTextResponse("bolt here")

    live = await start_app(extra_routes=[Route("/slack/events", slack_events,
                                               methods=["POST"])])
    r = await live.client.post("/slack/events", content=b"x")
    assert (r.status_code, r.text) == (200, "bolt here")
    r = await live.client.get("/nope")
    assert r.status_code == 404 and r.json() == {"error": "Not Found"}


async def test_unhandled_error_is_one_json_line(start_app: Any) -> None:
    async def broken(request: Any) -> PlainTextResponse:
        raise RuntimeError("secret internals sk-should-not-leak")

    live = await start_app(extra_routes=[Route("/broken", broken)])
    r = await live.client.get("/broken")
    assert r.status_code == 500
    assert r.json() == {"error": "internal error"}
