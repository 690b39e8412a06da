"""StatusWatcher against the loopback fake page: both formats, 304s, broken pages → unknown."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest

from bot.clock import FakeClock
from bot.fakes import FakeStatusPage, StatusStep
from bot.status_page import StatusSnapshot, StatusWatcher, candidate_urls

DATA = Path(__file__).parent / "data"


def fixture(name: str) -> Any:
    return json.loads((DATA / name).read_text())


def sora(snap: StatusSnapshot) -> str:
    return next(c["status"] for c in snap.components if c["name"] == "Sora")


# -- recorded payloads, served over loopback ---------------------------------------------------

async def test_incidentio_operational_fixture(status_page: FakeStatusPage) -> None:
    status_page.set_payload("incidentio", fixture("incidentio_proxy_operational.json"))
    snap = await StatusWatcher(status_page.base_url, timeout=2).poll()
    assert (snap.ok, snap.format, snap.indicator, snap.error) == (True, "incidentio",
                                                                  "operational", None)
    assert snap.components == [{"name": "Sora", "status": "operational"},
                               {"name": "Video generation", "status": "operational"},
                               {"name": "Video viewing", "status": "operational"}]
    assert snap.incidents == []


async def test_incidentio_partial_outage_fixture(status_page: FakeStatusPage,
                                                 fake_clock: FakeClock) -> None:
    status_page.set_payload("incidentio", fixture("incidentio_proxy_sora_partial_outage.json"))
    snap = await StatusWatcher(status_page.base_url, timeout=2, now=fake_clock).poll()
    assert snap.indicator == "partial_outage"
    statuses = {c["name"]: c["status"] for c in snap.components}
    assert statuses == {"Sora": "partial_outage", "Video generation": "degraded_performance",
                        "Video viewing": "operational"}
    (inc,) = snap.incidents
    assert inc == {
        "id": "01KB0Z3Q8V5N7M2R4T6Y8W1A3C",
        "name": "Elevated error rates for Sora video generation", "status": "identified",
        "url": f"{status_page.base_url}/incidents/01KB0Z3Q8V5N7M2R4T6Y8W1A3C",
        "updated_at": "2026-11-30T08:58:00.000Z",
        "latest_update": "We have identified the cause and are working on a fix.",
        "impact": "partial_outage"}  # the monitor's severity for an official incident
    official = snap.to_official_dict()
    assert list(official) == ["indicator", "components", "incidents"]
    assert list(official["incidents"][0]) == ["name", "status", "url", "updated_at",
                                              "latest_update"]
    assert snap.fetched_at == fake_clock()


async def test_statuspage_gateway_page_without_our_components(
        status_page: FakeStatusPage) -> None:
    status_page.set_format("statuspage")
    status_page.set_payload("statuspage", fixture("statuspage_summary_major_outage.json"))
    snap = await StatusWatcher(status_page.base_url, timeout=2).poll()
    assert (snap.ok, snap.format) == (True, "statuspage")
    assert snap.indicator == "partial_outage"  # the page's own "major" indicator stands
    assert snap.components == [{"name": "Video generation (sora-2)", "status": "major_outage"}]
    (inc,) = snap.incidents
    assert inc["url"] == "https://stspg.io/x1" and inc["status"] == "investigating"
    assert inc["latest_update"] == ("Requests to sora-2 return 502 from the upstream. "
                                    "We are investigating.")


async def test_statuspage_configured_component_decides(status_page: FakeStatusPage) -> None:
    status_page.set_payload("statuspage", fixture("statuspage_summary_major_outage.json"))
    watcher = StatusWatcher(status_page.summary_url, ["video GENERATION (sora-2)"], timeout=2)
    snap = await watcher.poll()
    assert snap.indicator == "major_outage"
    status_page.set_payload("statuspage", fixture("statuspage_summary_operational.json"))
    assert (await watcher.poll()).indicator == "operational"


# -- the scripted fake, both formats --------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["incidentio", "statuspage"])
@pytest.mark.parametrize(("state", "indicator"), [
    ("operational", "operational"), ("degraded_performance", "degraded_performance"),
    ("partial_outage", "partial_outage"), ("major_outage", "major_outage")])
async def test_states_read_the_same_in_both_formats(status_page: FakeStatusPage, fmt: str,
                                                    state: str, indicator: str) -> None:
    status_page.set_format(fmt)
    status_page.set_state(state)
    snap = await StatusWatcher(status_page.base_url, timeout=2).poll()
    assert (snap.ok, snap.format, snap.indicator, sora(snap)) == (True, fmt, indicator,
                                                                  indicator)


async def test_incident_lifecycle_from_the_fake(status_page: FakeStatusPage) -> None:
    watcher = StatusWatcher(status_page.base_url, timeout=2)
    status_page.set_state("partial_outage", incident={
        "name": "Sora errors", "status": "investigating", "message": "Investigating."})
    snap = await watcher.poll()
    assert [(i["name"], i["status"], i["latest_update"]) for i in snap.incidents] == [
        ("Sora errors", "investigating", "Investigating.")]
    status_page.set_state("partial_outage", incident={"status": "identified",
                                                      "message": "Fix on the way."})
    snap = await watcher.poll()
    assert snap.incidents[0]["status"] == "identified"
    assert snap.incidents[0]["latest_update"] == "Fix on the way."
    status_page.set_state("operational", incident={"status": "resolved", "message": "Done."})
    snap = await watcher.poll()
    assert (snap.indicator, snap.incidents) == ("operational", [])


async def test_falls_back_to_summary_json_and_remembers(status_page: FakeStatusPage) -> None:
    status_page.set_format("statuspage")
    watcher = StatusWatcher(status_page.base_url, timeout=2)
    assert (await watcher.poll()).format == "statuspage"
    assert [r.path for r in status_page.requests] == ["/proxy/127.0.0.1", "/api/v2/summary.json"]
    status_page.clear_requests()
    await watcher.poll()
    assert [r.path for r in status_page.requests] == ["/api/v2/summary.json"]


@pytest.mark.parametrize("which", ["widget_url", "summary_url"])
async def test_status_url_may_name_the_json_directly(status_page: FakeStatusPage,
                                                     which: str) -> None:
    url = getattr(status_page, which)
    assert candidate_urls(url) == [url]
    snap = await StatusWatcher(url, timeout=2).poll()
    assert snap.ok and snap.url == url
    assert len(status_page.requests) == 1


def test_candidate_urls_for_the_official_page() -> None:
    assert candidate_urls("https://status.openai.com/") == [
        "https://status.openai.com/proxy/status.openai.com",
        "https://status.openai.com/api/v2/summary.json"]


async def test_conditional_requests_get_304_and_keep_the_snapshot(
        status_page: FakeStatusPage, fake_clock: FakeClock) -> None:
    watcher = StatusWatcher(status_page.base_url, timeout=2, now=fake_clock)
    status_page.set_state("partial_outage", incident={"name": "E", "message": "one"})
    first = await watcher.poll()
    fake_clock.advance(60)
    second = await watcher.poll()
    last = status_page.requests[-1]
    assert last.header("if-none-match") == first.etag
    assert last.header("if-modified-since") == first.last_modified
    assert second.not_modified and second.fetched_at == fake_clock()
    assert (second.indicator, second.incidents, second.components) == (
        first.indicator, first.incidents, first.components)
    fake_clock.advance(60)
    status_page.set_state("operational")
    third = await watcher.poll()
    assert not third.not_modified and third.indicator == "operational"


@pytest.mark.parametrize(("failure", "expect"), [
    ("html", "HTML"), ("garbage", "not valid JSON"), ("500", "HTTP 500")])
async def test_broken_page_is_unknown_never_down(status_page: FakeStatusPage, failure: str,
                                                 expect: str) -> None:
    status_page.set_failure(failure)
    snap = await StatusWatcher(status_page.base_url, timeout=2).poll()
    assert (snap.ok, snap.indicator, snap.format) == (False, "unknown", None)
    assert snap.error and expect in snap.error
    assert snap.to_official_dict() == {"indicator": "unknown", "components": [],
                                       "incidents": []}


async def test_hung_page_is_unknown_within_the_timeout(status_page: FakeStatusPage) -> None:
    status_page.set_failure("hung")
    snap = await StatusWatcher(status_page.base_url, timeout=0.3).poll()
    assert (snap.ok, snap.indicator) == (False, "unknown")
    assert "timed out" in (snap.error or "")
    assert len(status_page.requests) == 1  # a timeout is final: the fallback URL is not tried


async def test_unknown_json_shape_and_refused_port(status_page: FakeStatusPage) -> None:
    status_page.set_payload("incidentio", {"hello": "world"})
    status_page.set_payload("statuspage", {"status": "fine"})
    snap = await StatusWatcher(status_page.base_url, timeout=2).poll()
    assert (snap.ok, snap.indicator) == (False, "unknown") and "shape" in (snap.error or "")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    snap = await StatusWatcher(f"http://127.0.0.1:{port}", timeout=2).poll()
    assert (snap.ok, snap.indicator) == (False, "unknown")


async def test_malformed_structure_is_unknown(status_page: FakeStatusPage) -> None:
    status_page.set_payload("incidentio", {"summary": {"components": "nope",
                                                       "structure": ["x"]}})
    status_page.set_format("incidentio")
    snap = await StatusWatcher(status_page.base_url, timeout=2).poll()
    assert (snap.ok, snap.indicator) == (False, "unknown")


async def test_rich_text_updates_are_flattened(status_page: FakeStatusPage) -> None:
    payload = fixture("incidentio_proxy_sora_partial_outage.json")
    payload["summary"]["ongoing_incidents"][0]["updates"].append({
        "published_at": "2026-11-30T09:10:00.000Z",
        "message": {"type": "doc", "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": "A fix is"},
                                              {"type": "text", "text": " rolling out."}]},
            {"type": "paragraph", "content": [{"type": "text", "text": "Next update soon."}]}]}})
    status_page.set_payload("incidentio", payload)
    (inc,) = (await StatusWatcher(status_page.base_url, timeout=2).poll()).incidents
    assert inc["latest_update"] == "A fix is rolling out.\nNext update soon."
    assert inc["updated_at"] == "2026-11-30T09:10:00.000Z"


async def test_incidents_of_other_components_are_left_out(status_page: FakeStatusPage) -> None:
    status_page.set_state("partial_outage", affected=["Login"],
                          incident={"name": "Login issues", "message": "Investigating."})
    snap = await StatusWatcher(status_page.base_url, timeout=2).poll()
    assert (snap.indicator, snap.incidents) == ("operational", [])
    snap = await StatusWatcher(status_page.base_url, ["login"], timeout=2).poll()
    assert snap.indicator == "partial_outage"
    assert [i["name"] for i in snap.incidents] == ["Login issues"]


async def test_poll_changes_follows_a_scripted_outage(status_page: FakeStatusPage,
                                                      fake_clock: FakeClock) -> None:
    status_page.set_scenario([
        (0, "operational"),
        (10, StatusStep("partial_outage", {"name": "Sora errors", "message": "Investigating."})),
        (20, StatusStep("partial_outage", {"status": "identified", "message": "Fixing."})),
        (40, StatusStep("operational", {"status": "resolved", "message": "Resolved."})),
    ])
    watcher = StatusWatcher(status_page.base_url, timeout=0.3, now=fake_clock)

    async def kinds() -> list[str]:
        return [c.kind for c in (await watcher.poll_changes())[1]]

    assert await kinds() == []                      # first poll, all operational
    fake_clock.advance(10)
    assert await kinds() == ["indicator_changed", "incident_opened"]
    assert await kinds() == []                      # 304, nothing new
    fake_clock.advance(10)
    assert await kinds() == ["incident_updated"]
    fake_clock.advance(10)
    status_page.set_failure("hung")                 # page unreadable: no alert on unknown
    snap, changes = await watcher.poll_changes()
    assert (snap.indicator, changes) == ("unknown", [])
    fake_clock.advance(10)
    status_page.set_failure("ok")
    assert await kinds() == ["indicator_changed", "incident_resolved"]


async def test_prime_from_a_stored_snapshot(status_page: FakeStatusPage) -> None:
    first = await StatusWatcher(status_page.base_url, timeout=2).poll()
    stored = StatusSnapshot.from_record(first.to_record())
    watcher = StatusWatcher(status_page.base_url, timeout=2)
    watcher.prime(stored)
    status_page.clear_requests()
    snap, changes = await watcher.poll_changes()
    assert snap.not_modified and changes == []
    assert status_page.requests[0].header("if-none-match") == first.etag
