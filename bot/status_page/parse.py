"""Read both status-page formats into one shape. Pure functions, no I/O.

* incident.io widget JSON (status.openai.com ``/proxy/<host>``): ``{"summary": {components,
  affected_components, structure, ongoing_incidents[{…, updates[{published_at,
  message_string}]}]}}``; the native ``/api/v1/summary`` (top-level ``ongoing_incidents``) too.
* Atlassian Statuspage ``/api/v2/summary.json``: ``status.indicator``, ``components[].status``,
  ``incidents[].incident_updates`` (newest first).

The shape is detected from the body, not the URL, so ``SORA_STATUS_URL`` may point at either.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence
from urllib.parse import urlsplit

from bot.status_page.model import CLOSED_INCIDENT_STATUSES, SEVERITY

# Both vocabularies → Contract 3's. incident.io says full_outage where Atlassian says major.
STATUS_ALIASES: Mapping[str, str] = {
    "operational": "operational",
    "degraded_performance": "degraded_performance", "degraded": "degraded_performance",
    "partial_outage": "partial_outage",
    "major_outage": "major_outage", "full_outage": "major_outage",
    "under_maintenance": "under_maintenance", "maintenance": "under_maintenance",
}
# Atlassian's page-level indicator → Contract 3 indicator.
ATLASSIAN_INDICATOR: Mapping[str, str] = {"none": "operational",
                                          "minor": "degraded_performance",
                                          "major": "partial_outage",
                                          "critical": "major_outage",
                                          "maintenance": "under_maintenance"}


class ShapeError(ValueError):
    """The JSON is neither an incident.io widget/summary nor an Atlassian summary."""


@dataclass(frozen=True)
class Component:
    id: str | None
    name: str
    status: str


@dataclass(frozen=True)
class Incident:
    id: str
    name: str
    status: str
    url: str | None
    updated_at: str | None
    latest_update: str | None
    component_ids: frozenset[str]
    component_names: frozenset[str]

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "status": self.status, "url": self.url,
                "updated_at": self.updated_at, "latest_update": self.latest_update}


@dataclass(frozen=True)
class Page:
    format: str                    # "incidentio" | "statuspage"
    indicator: str                 # the page's overall indicator, Contract-3 vocabulary
    components: tuple[Component, ...]
    incidents: tuple[Incident, ...]


def normalize_status(raw: Any) -> str:
    """A component status in Contract-3 words; anything unrecognised is ``unknown``."""
    return STATUS_ALIASES.get(str(raw or "").strip().lower(), "unknown")


def worst(statuses: Iterable[str]) -> str:
    known = [s for s in statuses if s in SEVERITY]
    return max(known, key=lambda s: SEVERITY[s]) if known else "operational"


def flatten_text(node: Any) -> str:
    """Plain text of a string or an incident.io rich-text doc (``{type: doc, content: […]}``)."""
    parts: list[str] = []

    def walk(n: Any) -> None:
        if isinstance(n, str):
            parts.append(n)
        elif isinstance(n, Mapping):
            if isinstance(n.get("text"), str):
                parts.append(n["text"])
            content = n.get("content")
            if isinstance(content, list):
                for child in content:
                    walk(child)
                if n.get("type") in ("paragraph", "heading", "listItem", "bulletList"):
                    parts.append("\n")
        elif isinstance(n, list):
            for child in n:
                walk(child)

    walk(node)
    lines = (" ".join(line.split()) for line in "".join(parts).split("\n"))
    return "\n".join(line for line in lines if line)


def _origin(url: str) -> str:
    p = urlsplit(url)
    return f"{p.scheme}://{p.netloc}" if p.scheme and p.netloc else url.rstrip("/")


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


# -- incident.io ------------------------------------------------------------------------------

def _incidentio(summary: Mapping[str, Any], source_url: str) -> Page:
    names: dict[str, str] = {}
    for c in summary.get("components") or ():
        if isinstance(c, Mapping) and c.get("id") and c.get("name"):
            names[str(c["id"])] = str(c["name"])
    for item in (summary.get("structure") or {}).get("items") or ():
        group = item.get("group") if isinstance(item, Mapping) else None
        for c in (group or {}).get("components") or ():
            if isinstance(c, Mapping) and c.get("component_id") and c.get("name"):
                names.setdefault(str(c["component_id"]), str(c["name"]))
    statuses: dict[str, str] = {}
    for a in summary.get("affected_components") or ():
        if isinstance(a, Mapping) and a.get("component_id"):
            raw = a.get("status") or a.get("current_status")
            statuses[str(a["component_id"])] = normalize_status(raw)
    components = [Component(cid, name, statuses.get(cid, "operational"))
                  for cid, name in names.items()]
    # affected components the page does not name still count towards the overall indicator
    indicator = worst(statuses.values())
    origin = _origin(source_url)
    incidents = []
    for inc in summary.get("ongoing_incidents") or ():
        if not isinstance(inc, Mapping) or not inc.get("id"):
            continue
        updates = [u for u in inc.get("updates") or () if isinstance(u, Mapping)]
        updates.sort(key=lambda u: str(u.get("published_at") or ""))
        latest = updates[-1] if updates else None
        text = None
        if latest is not None:
            text = flatten_text(latest.get("message_string") or latest.get("message")) or None
        affected = [a for a in inc.get("affected_components") or () if isinstance(a, Mapping)]
        ids = frozenset(str(a.get("component_id")) for a in affected if a.get("component_id"))
        incidents.append(Incident(
            id=str(inc["id"]), name=str(inc.get("name") or "Incident"),
            status=str(inc.get("status") or "investigating").lower(),
            url=_str(inc.get("url")) or f"{origin}/incidents/{inc['id']}",
            updated_at=_str((latest or {}).get("published_at") or inc.get("last_update_at")
                            or inc.get("published_at")),
            latest_update=text or _str(inc.get("last_update_message")),
            component_ids=ids,
            component_names=frozenset(names[i] for i in ids if i in names)))
    return Page("incidentio", indicator, tuple(components), tuple(incidents))


# -- Atlassian Statuspage ----------------------------------------------------------------------

def _statuspage(data: Mapping[str, Any], source_url: str) -> Page:
    raw_indicator = str((data.get("status") or {}).get("indicator") or "").lower()
    components = [Component(_str(c.get("id")), str(c["name"]), normalize_status(c.get("status")))
                  for c in data.get("components") or ()
                  if isinstance(c, Mapping) and c.get("name")]
    indicator = ATLASSIAN_INDICATOR.get(raw_indicator) or worst(c.status for c in components)
    page_url = str((data.get("page") or {}).get("url") or _origin(source_url)).rstrip("/")
    incidents = []
    for inc in data.get("incidents") or ():
        if not isinstance(inc, Mapping) or not inc.get("id"):
            continue
        updates = [u for u in inc.get("incident_updates") or () if isinstance(u, Mapping)]
        # Atlassian lists newest first; sort anyway, stable so equal stamps keep that order
        updates.sort(key=lambda u: str(u.get("display_at") or u.get("created_at") or ""),
                     reverse=True)
        text = flatten_text(updates[0].get("body")) if updates else ""
        comps = [c for c in inc.get("components") or () if isinstance(c, Mapping)]
        incidents.append(Incident(
            id=str(inc["id"]), name=str(inc.get("name") or "Incident"),
            status=str(inc.get("status") or "investigating").lower(),
            url=_str(inc.get("shortlink")) or f"{page_url}/incidents/{inc['id']}",
            updated_at=_str(inc.get("updated_at") or inc.get("created_at")),
            latest_update=text or None,
            component_ids=frozenset(str(c["id"]) for c in comps if c.get("id")),
            component_names=frozenset(str(c["name"]) for c in comps if c.get("name"))))
    return Page("statuspage", indicator, tuple(components), tuple(incidents))


def parse_page(data: Any, source_url: str) -> Page:
    """Detect the shape and read it; ShapeError when it is neither format."""
    if isinstance(data, Mapping):
        summary = data.get("summary")
        if isinstance(summary, Mapping) and ("components" in summary
                                             or "ongoing_incidents" in summary):
            return _incidentio(summary, source_url)
        if "ongoing_incidents" in data and "status" not in data:
            return _incidentio(data, source_url)
        if isinstance(data.get("status"), Mapping) and ("components" in data
                                                        or "incidents" in data):
            return _statuspage(data, source_url)
    raise ShapeError("JSON is neither an incident.io nor a Statuspage summary")


def select(page: Page, wanted: Sequence[str]) -> tuple[str, list[dict[str, str]],
                                                      list[dict[str, Any]]]:
    """(indicator, components, incidents) for the components that matter.

    Names match case-insensitively. On a page with none of them (a gateway's own page) the
    page's overall indicator stands, its non-operational components are listed, and every open
    incident counts. Otherwise incidents that name only other components are left out (an
    incident that names none — as on incident.io's v2 shim — is kept: it may be ours).
    """
    keys = {w.strip().casefold() for w in wanted if w.strip()}
    matched = [c for c in page.components if c.name.strip().casefold() in keys]
    open_incidents = [i for i in page.incidents if i.status not in CLOSED_INCIDENT_STATUSES]
    if not matched:
        shown = [c for c in page.components if c.status not in ("operational", "unknown")]
        return (page.indicator, [{"name": c.name, "status": c.status} for c in shown],
                [i.to_dict() for i in open_incidents])
    ids = {c.id for c in matched if c.id}
    names = {c.name.strip().casefold() for c in matched}
    relevant = [i for i in open_incidents
                if not (i.component_ids or i.component_names)
                or i.component_ids & ids
                or {n.strip().casefold() for n in i.component_names} & names]
    return (worst(c.status for c in matched),
            [{"name": c.name, "status": c.status} for c in matched],
            [i.to_dict() for i in relevant])
