"""The fake status page renders one scripted state in both real formats, with 304s."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from bot.clock import FakeClock
from bot.fakes import FakeStatusPage, StatusStep, start_demo_fakes
from tests.fakes.fixtures import fake_clock, status_page  # noqa: F401 (fixtures)

FIXTURES = Path(__file__).resolve().parents[1] / "status_page" / "data"


def test_operational_widget_has_the_fixture_shape(status_page: FakeStatusPage) -> None:
    body = httpx.get(status_page.widget_url).json()
    fixture = json.loads((FIXTURES / "incidentio_proxy_operational.json").read_text())
    assert set(body["summary"]) == set(fixture["summary"])
    names = {c["name"] for c in body["summary"]["components"]}
    assert {"Sora", "Video generation", "Video viewing"} <= names
    assert body["summary"]["affected_components"] == []
    assert body["summary"]["ongoing_incidents"] == []


def test_partial_outage_with_incident_in_both_formats(status_page: FakeStatusPage) -> None:
    status_page.set_state("partial_outage", incident={
        "name": "Elevated errors", "status": "investigating", "message": "Looking into it."})
    widget = httpx.get(status_page.widget_url).json()["summary"]
    sora_id = next(c["id"] for c in widget["components"] if c["name"] == "Sora")
    assert widget["affected_components"] == [{"component_id": sora_id,
                                               "status": "partial_outage"}]
    (inc,) = widget["ongoing_incidents"]
    assert inc["name"] == "Elevated errors" and inc["status"] == "investigating"
    assert inc["updates"][-1]["message_string"] == "Looking into it."

    summary = httpx.get(status_page.summary_url).json()
    assert summary["status"]["indicator"] == "major"
    sora = next(c for c in summary["components"] if c["name"] == "Sora")
    assert sora["status"] == "partial_outage"
    assert summary["incidents"][0]["incident_updates"][0]["body"] == "Looking into it."


def test_major_outage_says_full_outage_on_incidentio(status_page: FakeStatusPage) -> None:
    status_page.set_state("major_outage")
    widget = httpx.get(status_page.widget_url).json()["summary"]
    assert widget["affected_components"][0]["status"] == "full_outage"
    assert httpx.get(status_page.summary_url).json()["status"]["indicator"] == "critical"


def test_incident_updates_accumulate_then_resolve(status_page: FakeStatusPage) -> None:
    status_page.set_state("partial_outage", incident={"name": "E", "message": "one"})
    status_page.set_state("partial_outage", incident={"status": "identified", "message": "two"})
    summary = httpx.get(status_page.summary_url).json()
    bodies = [u["body"] for u in summary["incidents"][0]["incident_updates"]]
    assert bodies == ["two", "one"]  # newest first, as Atlassian serves them
    status_page.set_state("operational", incident={"status": "resolved", "message": "fixed"})
    assert httpx.get(status_page.summary_url).json()["incidents"] == []
    assert status_page.resolved_incidents[-1].updates[-1].message == "fixed"


def test_etag_and_last_modified_give_304(status_page: FakeStatusPage,
                                         fake_clock: FakeClock) -> None:
    first = httpx.get(status_page.widget_url)
    etag, lm = first.headers["etag"], first.headers["last-modified"]
    assert httpx.get(status_page.widget_url, headers={"If-None-Match": etag}).status_code == 304
    assert httpx.get(status_page.widget_url,
                     headers={"If-Modified-Since": lm}).status_code == 304
    fake_clock.advance(5)
    status_page.set_state("degraded_performance")
    assert httpx.get(status_page.widget_url, headers={"If-None-Match": etag}).status_code == 200
    assert httpx.get(status_page.widget_url,
                     headers={"If-Modified-Since": lm}).status_code == 200


@pytest.mark.parametrize(("fmt", "widget", "summary"), [
    ("incidentio", 200, 404), ("statuspage", 404, 200), ("both", 200, 200)])
def test_formats(status_page: FakeStatusPage, fmt: str, widget: int, summary: int) -> None:
    status_page.set_format(fmt)
    assert httpx.get(status_page.widget_url).status_code == widget
    assert httpx.get(status_page.summary_url).status_code == summary


def test_failure_modes(status_page: FakeStatusPage) -> None:
    status_page.set_failure("html")
    assert httpx.get(status_page.widget_url).headers["content-type"].startswith("text/html")
    status_page.set_failure("garbage")
    with pytest.raises(json.JSONDecodeError):
        json.loads(httpx.get(status_page.widget_url).text)
    status_page.set_failure("500")
    assert httpx.get(status_page.summary_url).status_code == 500
    status_page.set_failure("hung")
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(status_page.widget_url, timeout=0.3)


def test_scenario_on_injected_clock(status_page: FakeStatusPage, fake_clock: FakeClock) -> None:
    status_page.set_scenario([
        (0, "operational"),
        (10, StatusStep("partial_outage", {"name": "E", "message": "investigating"})),
        (20, StatusStep("partial_outage", {"status": "identified", "message": "fixing"})),
        (30, StatusStep("operational", {"status": "resolved", "message": "resolved"})),
    ])
    assert status_page.incident is None
    fake_clock.advance(25)  # jumps over step 10: both updates must still be there
    inc = status_page.incident
    assert inc is not None and [u.message for u in inc.updates] == ["investigating", "fixing"]
    assert status_page.statuses()["Sora"] == "partial_outage"
    fake_clock.advance(10)
    assert status_page.incident is None and status_page.statuses()["Sora"] == "operational"


def test_gateway_page_with_own_components() -> None:
    with FakeStatusPage(components=["API", "Video generation (sora-2)"], format="statuspage",
                        page_name="Example Gateway") as page:
        page.set_state("major_outage", affected=["Video generation (sora-2)"])
        body = httpx.get(page.summary_url).json()
        assert body["status"]["indicator"] == "critical"
        assert [c["status"] for c in body["components"]] == ["operational", "major_outage"]
        with pytest.raises(ValueError, match="no component"):
            page.set_state("partial_outage", affected=["Sora"])


def test_demo_timeline_plays_outage_and_recovery(fake_clock: FakeClock) -> None:
    auth = {"Authorization": "Bearer sk-demo"}
    with start_demo_fakes(60, clock=fake_clock) as demo:
        assert set(demo.env()) == {"SORA_API_BASE_URL", "SORA_STATUS_URL", "OPENAI_API_KEY"}
        assert httpx.get(demo.sora_base_url + "/models", headers=auth).status_code == 200
        assert demo.status.incident is None
        fake_clock.advance(12)  # error spike, nothing official yet
        assert httpx.get(demo.sora_base_url + "/models", headers=auth).status_code >= 500
        assert demo.status.incident is None
        fake_clock.advance(8)  # 20 s: incident posted
        inc = demo.status.incident
        assert inc is not None and inc.status == "investigating"
        assert demo.status.statuses()["Sora"] == "partial_outage"
        fake_clock.advance(22)  # 42 s: API healthy again, page monitoring
        assert httpx.get(demo.sora_base_url + "/models", headers=auth).status_code == 200
        assert demo.status.incident is not None and demo.status.incident.status == "monitoring"
        fake_clock.advance(10)  # 52 s: resolved
        assert demo.status.incident is None
        assert demo.status.resolved_incidents[-1].updates[-1].message.endswith("resolved.")
