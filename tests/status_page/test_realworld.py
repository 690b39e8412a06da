"""Real captured status pages (data/realworld/, sources in its README) read as a person would.

Each test states what someone looking at that page would say — the indicator for the components
that matter, the open incidents with their latest words, maintenance as maintenance — and checks
the parser says the same, directly and through the watcher over loopback.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.fakes import FakeStatusPage
from bot.status_page import DEFAULT_COMPONENTS, INDICATORS, StatusWatcher
from bot.status_page.parse import Page, ShapeError, parse_page, select

REAL = Path(__file__).parent / "data" / "realworld"
OPENAI_WIDGET = "https://status.openai.com/proxy/status.openai.com"


def real(name: str) -> Any:
    return json.loads((REAL / name).read_text())


def read(name: str, wanted: tuple[str, ...] = DEFAULT_COMPONENTS,
         url: str = OPENAI_WIDGET) -> tuple[str, list[dict[str, str]], list[dict[str, Any]]]:
    return select(parse_page(real(name), url), wanted)


def said(incidents: list[dict[str, Any]]) -> list[tuple[str, str, str | None]]:
    return [(i["name"], i["status"], i["latest_update"]) for i in incidents]


# -- what each page says, with the default components (Sora, Video generation, Video viewing) ---

EXPECTED = {
    # status.openai.com 2025-04-08: "Sora" was a group; Video generation degraded by an incident
    "openai_proxy_2025-04-08_video_generation_degraded.json": (
        "incidentio", "degraded_performance",
        [("Sora", "degraded_performance"), ("Video generation", "degraded_performance"),
         ("Video viewing", "operational")],
        [("New users may experience temporary delays in video generation capabilities",
          "monitoring", "New users may experience temporary delays in video generation "
          "capabilities. We are applying the mitigation and are monitoring the recovery.")]),
    # history feed, everything resolved: nothing going on now
    "openai_proxy_incidents_2026-08-21.json": ("incidentio", "operational", [], []),
    # incident.io's v2 shim, components.json only: Sora is an operational component
    "openai_v2_components_2026-07-09.json": (
        "statuspage", "operational", [("Sora", "operational")], []),
    # widget API: none of our components exist, so the page's own state stands
    "incidentio_widget_api_v1_summary_example.json": (
        "incidentio", "partial_outage", [("Login", "partial_outage")],
        [("Login failing for some users", "identified", "..."),
         ("Database upgrade", "maintenance_in_progress", "...")]),
    # a gateway-like page (status.claude.com) without our components and without `status`
    "claude_summary_2026-08-05_two_incidents.json": (
        "statuspage", "degraded_performance",
        [("claude.ai", "degraded_performance"),
         ("Claude API (api.anthropic.com)", "degraded_performance"),
         ("Claude Code", "degraded_performance")],
        [("Degraded performance for Claude Opus 5", "identified",
          "We have identified the cause of elevated errors on requests to Claude Opus 5."),
         ("Degraded performance of multiple models", "monitoring", "A fix has been deployed.")]),
    # components.json with groups: the worst leaf (this copy's degraded ones) stands; no groups
    "hashicorp_components_2021-08-06_maintenance.json": (
        "statuspage", "degraded_performance",
        [("Terraform Cloud UI and API", "degraded_performance"),
         ("HCP Portal", "degraded_performance"), ("Terraform Runs", "degraded_performance"),
         ("Vagrant Cloud", "degraded_performance"),
         ("Atlassian Bitbucket API", "under_maintenance"),
         ("Atlassian Bitbucket Webhooks", "degraded_performance"),
         ("Atlassian Bitbucket Git via HTTPS", "under_maintenance"),
         ("Atlassian Bitbucket SSH", "under_maintenance")], []),
    # status.json during a maintenance window
    "cloudsmith_status_2022-01-08_maintenance.json": (
        "statuspage", "under_maintenance", [], []),
}


def test_every_real_fixture_has_an_expectation() -> None:
    assert sorted(p.name for p in REAL.glob("*.json")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_real_page_reads_as_a_person_would(name: str) -> None:
    fmt, indicator, components, incidents = EXPECTED[name]
    page = parse_page(real(name), OPENAI_WIDGET)
    got_indicator, got_components, got_incidents = select(page, DEFAULT_COMPONENTS)
    assert page.format == fmt
    assert got_indicator == indicator
    assert [(c["name"], c["status"]) for c in got_components] == components
    assert said(got_incidents) == incidents


@pytest.mark.parametrize("name", sorted(EXPECTED))
async def test_real_page_through_the_watcher(status_page: FakeStatusPage, name: str) -> None:
    """The same bodies served over loopback: real httpx, real JSON, the snapshot says the same."""
    status_page.set_payload("incidentio", real(name))
    snap = await StatusWatcher(status_page.widget_url, timeout=2).poll()
    _, indicator, components, incidents = EXPECTED[name]
    assert (snap.ok, snap.error, snap.indicator) == (True, None, indicator)
    official = snap.to_official_dict()
    assert [(c["name"], c["status"]) for c in official["components"]] == components
    assert said(official["incidents"]) == incidents


# -- status.openai.com ------------------------------------------------------------------------

def test_openai_2025_incident_link_and_rich_text() -> None:
    name = "openai_proxy_2025-04-08_video_generation_degraded.json"
    (inc,) = read(name)[2]
    assert inc["url"] == "https://status.openai.com/incidents/01JRB888M6TJVDDKGCA1YZ3ZHT"
    assert inc["updated_at"] == "2025-04-08T17:48:00.517Z"
    assert inc["impact"] == "degraded_performance"
    # without message_string the rich-text doc gives the same words
    payload = real(name)
    update = payload["summary"]["ongoing_incidents"][0]["updates"][0]
    expected = update.pop("message_string")
    (inc,) = select(parse_page(payload, OPENAI_WIDGET), DEFAULT_COMPONENTS)[2]
    assert inc["latest_update"] == expected


def test_openai_2025_incident_of_other_components_is_left_out() -> None:
    name = "openai_proxy_2025-04-08_video_generation_degraded.json"
    assert read(name, ("chat",)) == ("operational", [{"name": "Chat", "status": "operational"}],
                                     [])
    # both "Login"s (ChatGPT's and Sora's) are components of that name; neither is affected
    indicator, components, incidents = read(name, ("LOGIN",))
    assert (indicator, incidents) == ("operational", [])
    assert components == [{"name": "Login", "status": "operational"}] * 2
    # a component of the Sora group: the incident on its sibling is not its incident
    assert read(name, ("video viewing",))[2] == []
    assert len(read(name, ("Video Generation",))[2]) == 1


def test_openai_sora_group_counts_only_when_no_component_has_the_name() -> None:
    """The 2025 page had a "Sora" group; the 2026 page has a "Sora" API component."""
    page = parse_page(real("openai_proxy_2025-04-08_video_generation_degraded.json"),
                      OPENAI_WIDGET)
    (group,) = [c for c in page.components if c.group and c.name == "Sora"]
    assert "01JMXCAX0QN2ZHVMS54EEN1HXB" in group.members
    assert read("openai_proxy_2025-04-08_video_generation_degraded.json", ("sora",))[:2] == (
        "degraded_performance", [{"name": "Sora", "status": "degraded_performance"}])
    assert read("openai_v2_components_2026-07-09.json", ("sora",))[:2] == (
        "operational", [{"name": "Sora", "status": "operational"}])


def test_history_feed_uses_current_status_and_full_outage_is_major() -> None:
    name = "openai_proxy_incidents_2026-08-21.json"
    page = parse_page(real(name), OPENAI_WIDGET + "/incidents")
    sora = next(i for i in page.incidents if i.name == "Elevated Errors for Sora API")
    # it *was* a full outage (incident.io's word for major_outage); it is resolved now
    assert (sora.status, sora.impact) == ("resolved", "major_outage")
    assert page.indicator == "operational"
    assert read(name) == ("operational", [], [])


def test_history_feed_open_full_outage_is_a_major_outage() -> None:
    payload = real("openai_proxy_incidents_2026-08-21.json")
    sora = next(i for i in payload["incidents"] if i["name"] == "Elevated Errors for Sora API")
    sora["status"] = "investigating"
    sora["affected_components"][0]["current_status"] = "full_outage"
    indicator, _, incidents = select(parse_page(payload, OPENAI_WIDGET), DEFAULT_COMPONENTS)
    assert indicator == "major_outage"
    assert said(incidents) == [("Elevated Errors for Sora API", "investigating",
                                "We are investigating the issue for the listed services.")]
    assert incidents[0]["url"] == ("https://status.openai.com/incidents/"
                                   "01KX7Y6ETMKP3ATQ85Z33J0EHN")


def test_v2_shim_duplicate_login_names_both_listed() -> None:
    indicator, components, _ = read("openai_v2_components_2026-07-09.json", ("login", "SORA"))
    assert indicator == "operational"
    assert components == [{"name": "Login", "status": "operational"}] * 2 + [
        {"name": "Sora", "status": "operational"}]


# -- incident.io widget API (/api/v1/summary) -----------------------------------------------------

def test_widget_api_names_components_inside_incidents() -> None:
    name = "incidentio_widget_api_v1_summary_example.json"
    indicator, components, incidents = read(name, ("login",))
    assert (indicator, components) == ("partial_outage",
                                       [{"name": "Login", "status": "partial_outage"}])
    assert [(i["name"], i["impact"], i["url"]) for i in incidents] == [
        ("Login failing for some users", "partial_outage",
         "https://status.fitnudge.app/incidents/01H0QJ89CRW5BKTY9N89MSDT5S"),
        ("Database upgrade", "maintenance",
         "https://status.fitnudge.app/incidents/01FDAG4SAP5TYPT98WGR2N7W91")]


def test_widget_api_maintenance_alone_is_maintenance_not_an_outage() -> None:
    payload = real("incidentio_widget_api_v1_summary_example.json")
    payload["ongoing_incidents"] = []
    indicator, components, incidents = select(parse_page(payload, "https://x.test/api/v1/summary"),
                                              DEFAULT_COMPONENTS)
    assert (indicator, components) == ("under_maintenance", [])
    assert said(incidents) == [("Database upgrade", "maintenance_in_progress", "...")]
    # the maintenance scheduled for later is not on the page's present
    payload["in_progress_maintenances"] = []
    assert select(parse_page(payload, "https://x.test/"), DEFAULT_COMPONENTS) == (
        "operational", [], [])


def test_widget_api_maintenance_on_our_component() -> None:
    payload = real("incidentio_widget_api_v1_summary_example.json")
    payload["ongoing_incidents"] = []
    payload["in_progress_maintenances"][0]["affected_components"] = [
        {"id": "01K9G527YRPY1EFRMHTKB5BKT5", "name": "Sora", "group_name": "APIs"}]
    indicator, components, incidents = select(parse_page(payload, "https://x.test/"),
                                              DEFAULT_COMPONENTS)
    assert (indicator, components) == ("under_maintenance",
                                       [{"name": "Sora", "status": "under_maintenance"}])
    assert [i["name"] for i in incidents] == ["Database upgrade"]


# -- Atlassian Statuspage -------------------------------------------------------------------------

def test_claude_incidents_naming_other_components_left_out_none_kept() -> None:
    name = "claude_summary_2026-08-05_two_incidents.json"
    indicator, components, incidents = read(name, ("claude api (api.anthropic.com)",))
    assert (indicator, components) == ("degraded_performance", [
        {"name": "Claude API (api.anthropic.com)", "status": "degraded_performance"}])
    # the Opus incident names Claude Code only; the multi-model one names none: it may be ours
    assert [i["name"] for i in incidents] == ["Degraded performance of multiple models"]
    assert [i["url"] for i in read(name, ("Claude Code",))[2]] == [
        "https://stspg.io/m7w8kkf4tlqg", "https://stspg.io/s2ysk4zxbyy3"]


def test_claude_latest_update_is_the_newest_whatever_the_order() -> None:
    (multi,) = [i for i in read("claude_summary_2026-08-05_two_incidents.json")[2]
                if i["name"] == "Degraded performance of multiple models"]
    assert (multi["latest_update"], multi["updated_at"]) == ("A fix has been deployed.",
                                                             "2026-08-05T13:08:34.000Z")


def test_hashicorp_groups_under_maintenance_are_maintenance() -> None:
    name = "hashicorp_components_2021-08-06_maintenance.json"
    assert read(name, ("terraform cloud",))[:2] == (
        "under_maintenance", [{"name": "Terraform Cloud", "status": "under_maintenance"}])
    assert read(name, ("Atlassian Bitbucket SSH", "atlassian bitbucket git via https"))[:2] == (
        "under_maintenance", [{"name": "Atlassian Bitbucket SSH", "status": "under_maintenance"},
                              {"name": "Atlassian Bitbucket Git via HTTPS",
                               "status": "under_maintenance"}])
    page = parse_page(real(name), "https://status.hashicorp.com/api/v2/components.json")
    (tfc,) = [c for c in page.components if c.name == "Terraform Cloud"]
    assert tfc.group and {"96dyvdwnj91k", "gq1111m9fzlb"} <= tfc.members


def test_statuspage_in_progress_maintenance_listed_scheduled_not() -> None:
    """The Cloudsmith window as a summary would carry it: maintenance, not an outage."""
    payload = real("cloudsmith_status_2022-01-08_maintenance.json")
    payload["components"] = [{"id": "c1", "name": "Sora", "status": "under_maintenance"}]
    payload["incidents"] = []
    payload["scheduled_maintenances"] = [
        {"id": "m1", "name": "Database upgrade", "status": "in_progress", "impact": "maintenance",
         "shortlink": "https://stspg.io/m1", "components": [{"id": "c1", "name": "Sora"}],
         "incident_updates": [{"status": "in_progress", "body": "Maintenance is underway.",
                               "created_at": "2022-01-08T15:49:00.000Z"}]},
        {"id": "m2", "name": "Later", "status": "scheduled", "impact": "maintenance"}]
    indicator, components, incidents = select(parse_page(payload, "https://x.test/"),
                                              DEFAULT_COMPONENTS)
    assert (indicator, components) == ("under_maintenance",
                                       [{"name": "Sora", "status": "under_maintenance"}])
    assert [(i["name"], i["status"], i["latest_update"], i["impact"]) for i in incidents] == [
        ("Database upgrade", "in_progress", "Maintenance is underway.", "maintenance")]


# -- odd shapes: never raise, never "down" out of garbage --------------------------------------

ODD = (None, "x", 7, True, [], {}, [None], {"type": "doc"})


def _paths(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, path + (i,))


def _replaced(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    out = copy.deepcopy(doc)
    node = out
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return out


def _check(page: Page) -> None:
    assert page.indicator in INDICATORS
    indicator, components, incidents = select(page, DEFAULT_COMPONENTS)
    assert indicator in INDICATORS
    assert all(isinstance(c["name"], str) and c["status"] in INDICATORS for c in components)
    assert all(isinstance(i["name"], str) and isinstance(i["status"], str) for i in incidents)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_odd_value_anywhere_is_survived(name: str) -> None:
    """Replace every node of every real page with odd values: a ShapeError at most, and an
    outage only where the page said one (garbage reads as unknown, never as down)."""
    doc = real(name)
    outage_words = ("major_outage", "full_outage", '"critical"')
    could_be_down = any(w in json.dumps(doc) for w in outage_words)
    for path in _paths(doc):
        for value in ODD:
            try:
                page = parse_page(_replaced(doc, path, value), OPENAI_WIDGET)
            except ShapeError:
                continue
            _check(page)
            if not could_be_down:
                assert page.indicator != "major_outage", (path, value)


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=12),
                    lambda kids: st.lists(kids, max_size=4)
                    | st.dictionaries(st.sampled_from(
                        ["summary", "components", "status", "indicator", "incidents", "name",
                         "id", "ongoing_incidents", "affected_components", "component_id",
                         "current_status", "updates", "message", "content", "type", "text",
                         "structure", "items", "group", "page", "incident_updates", "body",
                         "scheduled_maintenances", "in_progress_maintenances"]), kids,
                        max_size=5), max_leaves=30)


@settings(max_examples=300, deadline=None)
@given(JSON)
def test_arbitrary_json_never_raises_anything_but_shape_error(doc: Any) -> None:
    try:
        page = parse_page(doc, OPENAI_WIDGET)
    except ShapeError:
        return
    _check(page)
