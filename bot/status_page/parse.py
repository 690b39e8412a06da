"""Read the status-page JSON shapes seen in the wild into one ``Page``. Pure functions, no I/O.

incident.io (status.openai.com):

* widget JSON ``/proxy/<host>``: ``{"summary": {components, affected_components, structure
  {items[{group{id, name, components[{component_id, name}]}} | {component{…}}]},
  ongoing_incidents[{…, affected_components[{component_id, status, current_status}],
  updates[{published_at, message_string, message: rich doc}]}], in_progress_maintenances}}``;
* widget API ``/api/v1/summary``: top-level ``ongoing_incidents[{…, url, last_update_message,
  current_worst_impact, affected_components[{id, name, current_status}]}]``, no component list;
* history feed ``/proxy/<host>/incidents``: ``{"incidents": [… same items, mostly resolved]}``.

Atlassian Statuspage (gateways, and incident.io's ``/api/v2`` shim): ``summary.json``,
``components.json`` and ``status.json`` — whichever of ``status.indicator``, ``components[]``
(groups: ``group: true`` + member ids, children carry ``group_id``), ``incidents[]`` and
``scheduled_maintenances[]`` the body has.

The shape is detected from the body, not the URL, so ``SORA_STATUS_URL`` may point at any of them.
Odd values are skipped, never raised on: an unrecognised status word is ``unknown`` (never an
outage); only a body with nothing readable at all is a ``ShapeError``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
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
# Atlassian incident impact → the indicator it implies (for bodies without a status object).
ATLASSIAN_IMPACT: Mapping[str, str] = {"none": "operational", "minor": "degraded_performance",
                                       "major": "partial_outage", "critical": "major_outage",
                                       "maintenance": "under_maintenance"}
# Maintenance statuses that mean "happening now" (Atlassian, incident.io).
MAINTENANCE_NOW = frozenset({"in_progress", "verifying", "maintenance_in_progress"})
# Maintenance statuses that mean "not started yet": not on the page's present.
MAINTENANCE_LATER = frozenset({"scheduled", "maintenance_scheduled"})
# Rich-text nodes that end a line when flattened.
BLOCK_NODES = frozenset({"paragraph", "heading", "listItem", "bulletList", "orderedList",
                         "blockquote", "codeBlock", "hardBreak"})
MAX_DEPTH = 64  # rich text nests a few levels; a hostile body must not blow the stack


class ShapeError(ValueError):
    """The JSON has nothing a status page reader can use."""


@dataclass(frozen=True)
class Component:
    """A component, or a group (``group=True``; ``members`` are its components' ids)."""

    id: str | None
    name: str
    status: str
    group: bool = False
    members: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Incident:
    """An incident or a maintenance in progress (``kind``). ``impact`` is the page's own word:
    Atlassian ``none|minor|major|critical|maintenance``, or for incident.io the worst component
    status in Contract-3 words (``full_outage`` → ``major_outage``)."""

    id: str
    name: str
    status: str
    url: str | None
    updated_at: str | None
    latest_update: str | None
    component_ids: frozenset[str]
    component_names: frozenset[str]
    impact: str | None = None
    kind: str = "incident"

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "status": self.status, "url": self.url,
                "updated_at": self.updated_at, "latest_update": self.latest_update,
                "impact": self.impact}


@dataclass(frozen=True)
class Page:
    format: str                    # "incidentio" | "statuspage"
    indicator: str                 # the page's overall indicator, Contract-3 vocabulary
    components: tuple[Component, ...]
    incidents: tuple[Incident, ...]


# -- small tolerant readers ---------------------------------------------------------------------

def _seq(value: Any) -> list[Mapping[str, Any]]:
    """The mappings of a list; anything else is empty."""
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: Any) -> str | None:
    """A non-empty scalar as text (ids may be numbers); containers and blanks are None."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    text = str(value).strip()
    return text or None


def _word(value: Any) -> str:
    return (_text(value) or "").lower()


def _key(name: str) -> str:
    return " ".join(name.split()).casefold()


def normalize_status(raw: Any) -> str:
    """A component status in Contract-3 words; anything unrecognised is ``unknown``."""
    return STATUS_ALIASES.get(_word(raw), "unknown")


def worst(statuses: Iterable[str]) -> str:
    """The worst known status; ``operational`` when there are none. An unrecognised status
    next to nothing worse than operational makes it ``unknown``: never guess "fine" (or "down")."""
    seen = list(statuses)
    known = [s for s in seen if s in SEVERITY]
    top = max(known, key=lambda s: SEVERITY[s]) if known else "operational"
    if top == "operational" and len(known) < len(seen):
        return "unknown"
    return top


def flatten_text(node: Any) -> str:
    """Plain text of a string or an incident.io rich-text doc (``{type: doc, content: […]}``)."""
    parts: list[str] = []

    def walk(n: Any, depth: int) -> None:
        if depth > MAX_DEPTH:
            return
        if isinstance(n, str):
            parts.append(n)
        elif isinstance(n, Mapping):
            if isinstance(n.get("text"), str):
                parts.append(n["text"])
            walk(n.get("content"), depth + 1)
            if n.get("type") in BLOCK_NODES:
                parts.append("\n")
        elif isinstance(n, list):
            for child in n:
                walk(child, depth + 1)

    walk(node, 0)
    lines = (" ".join(line.split()) for line in "".join(parts).split("\n"))
    return "\n".join(line for line in lines if line)


def _first_text(*candidates: Any) -> str | None:
    for candidate in candidates:
        text = flatten_text(candidate) if candidate is not None else ""
        if text:
            return text
    return None


def _origin(url: str) -> str:
    p = urlsplit(url)
    return f"{p.scheme}://{p.netloc}" if p.scheme and p.netloc else url.rstrip("/")


def _base(candidate: Any, source_url: str) -> str:
    """The page's public address (for incident links): its own claim if it is a URL."""
    text = _text(candidate)
    if text and text.startswith(("http://", "https://")):
        return text.rstrip("/")
    return _origin(source_url)


# -- incident.io --------------------------------------------------------------------------------

def _cid(affected: Mapping[str, Any]) -> str | None:
    return _text(affected.get("component_id")) or _text(affected.get("id"))


def _current(affected: Mapping[str, Any]) -> str:
    """Now, not the worst of the incident: ``current_status`` beats ``status`` when both exist."""
    return normalize_status(affected.get("current_status") or affected.get("status"))


def _incidentio_item(item: Mapping[str, Any], kind: str, names: Mapping[str, str],
                     base: str) -> Incident | None:
    ident = _text(item.get("id")) or _text(item.get("name"))
    if ident is None:
        return None
    if _word(item.get("type")) == "maintenance":
        kind = "maintenance"
    status = _word(item.get("status")) or ("in_progress" if kind == "maintenance"
                                           else "investigating")
    if kind == "maintenance" and status in MAINTENANCE_LATER:
        return None
    updates = _seq(item.get("updates"))
    updates.sort(key=lambda u: _text(u.get("published_at")) or "")
    latest = updates[-1] if updates else {}
    affected = _seq(item.get("affected_components"))
    ids = frozenset(i for i in (_cid(a) for a in affected) if i)
    named = {_text(a.get("name")) for a in affected} | {names[i] for i in ids if i in names}
    if kind == "maintenance":
        impact: str | None = "maintenance"
    else:
        during = [normalize_status(a.get("status") or a.get("current_status")) for a in affected]
        raw_impact = item.get("current_worst_impact")
        impact = normalize_status(raw_impact) if raw_impact else (worst(during) if during
                                                                  else None)
    return Incident(
        id=ident, name=_text(item.get("name")) or "Incident", status=status,
        url=_text(item.get("url")) or f"{base}/incidents/{ident}",
        updated_at=(_text(latest.get("published_at")) or _text(item.get("last_update_at"))
                    or _text(item.get("updated_at")) or _text(item.get("published_at"))
                    or _text(item.get("started_at"))),
        latest_update=_first_text(latest.get("message_string"), latest.get("message"),
                                  item.get("last_update_message")),
        component_ids=ids, component_names=frozenset(n for n in named if n),
        impact=impact, kind=kind)


def _incidentio(summary: Mapping[str, Any], source_url: str, page_url: Any = None) -> Page:
    lists = ("ongoing_incidents", "incidents", "affected_components")
    named_components = [c for c in _seq(summary.get("components")) if _text(c.get("name"))]
    if not named_components and not any(isinstance(summary.get(k), list) for k in lists):
        raise ShapeError("an incident.io body without components or incidents")
    base = _base(summary.get("public_url") or page_url, source_url)

    names: dict[str, str] = {}
    for c in named_components:
        if _text(c.get("id")):
            names[str(_text(c.get("id")))] = str(_text(c.get("name")))
    groups: list[tuple[str | None, str, list[str]]] = []
    for item in _seq(_map(summary.get("structure")).get("items")):
        group, single = _map(item.get("group")), _map(item.get("component"))
        members = []
        for c in _seq(group.get("components")) + ([single] if single else []):
            cid, name = _text(c.get("component_id")) or _text(c.get("id")), _text(c.get("name"))
            if cid and name:
                names.setdefault(cid, name)
            if cid and group:
                members.append(cid)
        if _text(group.get("name")):
            groups.append((_text(group.get("id")), str(_text(group.get("name"))), members))

    raw_items = ([(i, "incident") for i in _seq(summary.get("ongoing_incidents"))]
                 + [(i, "incident") for i in _seq(summary.get("incidents"))]
                 + [(i, "maintenance") for i in _seq(summary.get("in_progress_maintenances"))])
    for item, _ in raw_items:  # the widget API names components only inside incidents
        for a in _seq(item.get("affected_components")):
            if _cid(a) and _text(a.get("name")):
                names.setdefault(str(_cid(a)), str(_text(a.get("name"))))
    incidents = [inc for inc in (_incidentio_item(i, k, names, base) for i, k in raw_items) if inc]
    open_ids = {inc.id for inc in incidents if inc.status not in CLOSED_INCIDENT_STATUSES}

    statuses: dict[str, str] = {}
    for a in _seq(summary.get("affected_components")):
        if _cid(a):
            statuses[str(_cid(a))] = _current(a)
    for item, kind in raw_items:  # an open incident's components are affected now
        ident = _text(item.get("id")) or _text(item.get("name"))
        if ident not in open_ids:
            continue
        maintenance = kind == "maintenance" or _word(item.get("type")) == "maintenance"
        for a in _seq(item.get("affected_components")):
            if not _cid(a):
                continue
            if maintenance and not a.get("current_status"):
                statuses.setdefault(str(_cid(a)), "under_maintenance")
            else:
                statuses.setdefault(str(_cid(a)), _current(a))

    components = [Component(cid, name, statuses.get(cid, "operational"))
                  for cid, name in names.items()]
    components += [Component(gid, name, worst(statuses.get(m, "operational") for m in members),
                             group=True, members=frozenset(members))
                   for gid, name, members in groups]
    open_now = [i for i in incidents if i.id in open_ids]
    # affected components the page does not name still count towards the overall indicator
    indicator = worst(list(statuses.values())
                      + [i.impact for i in open_now if i.kind == "incident" and i.impact])
    if indicator == "operational" and any(i.kind == "maintenance" for i in open_now):
        indicator = "under_maintenance"
    return Page("incidentio", indicator, tuple(components), tuple(incidents))


# -- Atlassian Statuspage -----------------------------------------------------------------------

def _member_ids(value: Any) -> frozenset[str]:
    if not isinstance(value, list):
        return frozenset()
    ids = (_text(v.get("id")) if isinstance(v, Mapping) else _text(v) for v in value)
    return frozenset(i for i in ids if i)


def _statuspage_item(inc: Mapping[str, Any], kind: str, base: str) -> Incident | None:
    ident = _text(inc.get("id")) or _text(inc.get("name"))
    if ident is None:
        return None
    status = _word(inc.get("status")) or ("in_progress" if kind == "maintenance"
                                          else "investigating")
    if kind == "maintenance" and status not in MAINTENANCE_NOW:
        return None
    updates = _seq(inc.get("incident_updates"))
    stamp = ("display_at", "created_at", "updated_at")
    # Atlassian lists newest first; sort anyway, stable so equal stamps keep that order
    updates.sort(key=lambda u: next((t for t in (_text(u.get(k)) for k in stamp) if t), ""),
                 reverse=True)
    latest = updates[0] if updates else {}
    comps = _seq(inc.get("components"))
    changed = [a for u in updates for a in _seq(u.get("affected_components"))]
    ids = {_text(c.get("id")) for c in comps} | {_text(a.get("code")) for a in changed}
    names = {_text(c.get("name")) for c in comps} | {_text(a.get("name")) for a in changed}
    return Incident(
        id=ident, name=_text(inc.get("name")) or "Incident", status=status,
        url=_text(inc.get("shortlink")) or f"{base}/incidents/{ident}",
        updated_at=(_text(inc.get("updated_at"))
                    or next((t for t in (_text(latest.get(k)) for k in stamp) if t), None)
                    or _text(inc.get("created_at"))),
        latest_update=_first_text(latest.get("body")),
        component_ids=frozenset(i for i in ids if i),
        component_names=frozenset(n for n in names if n),
        impact=_word(inc.get("impact")) or ("maintenance" if kind == "maintenance" else None),
        kind=kind)


def _statuspage(data: Mapping[str, Any], source_url: str) -> Page:
    raw_indicator = _word(_map(data.get("status")).get("indicator"))
    components = [Component(_text(c.get("id")), str(_text(c.get("name"))),
                            normalize_status(c.get("status")), group=c.get("group") is True,
                            members=_member_ids(c.get("components")))
                  for c in _seq(data.get("components")) if _text(c.get("name"))]
    has_incidents = isinstance(data.get("incidents"), list) and isinstance(data.get("page"),
                                                                           Mapping)
    if not (raw_indicator or components or has_incidents):
        raise ShapeError("a Statuspage body without an indicator, components or incidents")
    base = _base(_map(data.get("page")).get("url"), source_url)
    incidents = [i for i in (_statuspage_item(inc, "incident", base)
                             for inc in _seq(data.get("incidents"))) if i]
    incidents += [i for i in (_statuspage_item(m, "maintenance", base)
                              for m in _seq(data.get("scheduled_maintenances"))) if i]
    if raw_indicator in ATLASSIAN_INDICATOR:
        indicator = ATLASSIAN_INDICATOR[raw_indicator]
    else:  # components.json, a trimmed summary, or an indicator word we do not know
        leaves = [c.status for c in components if not c.group] or [c.status for c in components]
        open_now = [i for i in incidents if i.status not in CLOSED_INCIDENT_STATUSES]
        implied = [ATLASSIAN_IMPACT.get(i.impact or "", "unknown") for i in open_now
                   if i.kind == "incident" and i.impact]
        indicator = worst(leaves + implied + (["unknown"] if raw_indicator else []))
        if indicator == "operational" and any(i.kind == "maintenance" for i in open_now):
            indicator = "under_maintenance"
    return Page("statuspage", indicator, tuple(components), tuple(incidents))


# -- detection and selection --------------------------------------------------------------------

def _incidentio_feed(value: Any) -> bool:
    """An incident.io incident list (``updates``/``published_at``), not Atlassian's."""
    items = _seq(value)
    return bool(items) and not any("incident_updates" in i for i in items) and any(
        "updates" in i or "published_at" in i or "affected_components" in i for i in items)


def parse_page(data: Any, source_url: str) -> Page:
    """Detect the shape and read it; ShapeError when there is nothing to read."""
    if not isinstance(data, Mapping):
        raise ShapeError("JSON is not an object")
    if isinstance(data.get("summary"), Mapping):
        return _incidentio(data["summary"], source_url)
    atlassian = isinstance(data.get("status"), Mapping) or isinstance(data.get("components"),
                                                                      list)
    if not atlassian and ("ongoing_incidents" in data or _incidentio_feed(data.get("incidents"))):
        return _incidentio(data, source_url, data.get("page_url"))
    if atlassian or isinstance(data.get("incidents"), list):
        return _statuspage(data, source_url)
    raise ShapeError("JSON is neither an incident.io nor a Statuspage body")


def select(page: Page, wanted: Sequence[str]) -> tuple[str, list[dict[str, str]],
                                                      list[dict[str, Any]]]:
    """(indicator, components, incidents) for the components that matter.

    Names match case-insensitively, components first; a *group* of that name counts when no
    component has it (status.openai.com's "Sora" was a group of Video generation/viewing before
    it was an API component). On a page with none of them (a gateway's own page) the page's
    overall indicator stands, its non-operational components are listed, and every open incident
    counts. Otherwise incidents that name only other components are left out (an incident that
    names none — as on incident.io's v2 shim — is kept: it may be ours). Open maintenances are
    listed with the incidents, their components ``under_maintenance``, never an outage.
    """
    order: dict[str, int] = {}
    for i, w in enumerate(wanted):
        if w.strip():
            order.setdefault(_key(w), i)
    plain = [c for c in page.components if not c.group and _key(c.name) in order]
    plain_keys = {_key(c.name) for c in plain}
    groups = [c for c in page.components
              if c.group and _key(c.name) in order and _key(c.name) not in plain_keys]
    matched = sorted(plain + groups, key=lambda c: order[_key(c.name)])
    open_incidents = [i for i in page.incidents if i.status not in CLOSED_INCIDENT_STATUSES]
    if not matched:
        shown = [c for c in page.components
                 if not c.group and c.status not in ("operational", "unknown")]
        return (page.indicator, [{"name": c.name, "status": c.status} for c in shown],
                [i.to_dict() for i in open_incidents])
    ids = {c.id for c in matched if c.id}.union(*(c.members for c in matched))
    names = {_key(c.name) for c in matched}
    relevant = [i for i in open_incidents
                if not (i.component_ids or i.component_names)
                or i.component_ids & ids
                or {_key(n) for n in i.component_names} & names]
    return (worst(c.status for c in matched),
            [{"name": c.name, "status": c.status} for c in matched],
            [i.to_dict() for i in relevant])
