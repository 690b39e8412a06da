"""A fake status page on loopback serving both real formats of status.openai.com.

* incident.io widget JSON at ``/proxy/<host>`` (``{"summary": {...}}``, as status.openai.com),
* Atlassian Statuspage ``/api/v2/summary.json`` (and ``/api/v2/status.json``), as gateways use.

Both are rendered from one state (component statuses + at most one open incident), so a test or
the demo scripts the outage once and any reader sees it. Responses carry ETag and Last-Modified
and answer conditional requests with 304, like the real CDN-backed pages.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

from aiohttp import web

from bot.clock import Clock, utcnow
from bot.fakes._server import LoopbackServer, Scenario

STATES = ("operational", "degraded_performance", "partial_outage", "major_outage",
          "under_maintenance")
FORMATS = ("incidentio", "statuspage", "both")
FAILURES = ("ok", "hung", "timeout", "html", "garbage", "500")
INCIDENT_STATUSES = ("investigating", "identified", "monitoring", "resolved")

# Default page: the components of status.openai.com that matter to Sora users, plus neighbours.
DEFAULT_COMPONENTS: tuple[tuple[str, str, str], ...] = (
    # (incident.io ULID, name, group)
    ("01JMXBRMFE6N2NNT7DG6XZQ6PA", "Responses", "APIs"),
    ("01K9G527YRPY1EFRMHTKB5BKT5", "Sora", "APIs"),
    ("01JSM5RTJWHRWDTS6Q604VEW3B", "Login", "APIs"),
    ("01K9G527YRPY1EFRMHTKB5BKV1", "Video generation", "Sora"),
    ("01K9G527YRPY1EFRMHTKB5BKV2", "Video viewing", "Sora"),
)
# incident.io says full_outage where Atlassian says major_outage.
INCIDENTIO_STATUS = {"major_outage": "full_outage"}
SEVERITY = {"operational": 0, "under_maintenance": 1, "degraded_performance": 2,
            "partial_outage": 3, "major_outage": 4}
ATLASSIAN_INDICATOR = {"operational": ("none", "All Systems Operational"),
                       "under_maintenance": ("maintenance", "Service Under Maintenance"),
                       "degraded_performance": ("minor", "Minor Service Outage"),
                       "partial_outage": ("major", "Partial System Outage"),
                       "major_outage": ("critical", "Major Service Outage")}
ATLASSIAN_IMPACT = {"operational": "none", "under_maintenance": "maintenance",
                    "degraded_performance": "minor", "partial_outage": "major",
                    "major_outage": "critical"}

HTML_PAGE = """<!DOCTYPE html><html><head><title>Just a moment...</title></head>
<body><h1>Checking your browser before accessing the status page.</h1></body></html>"""
GARBAGE = '{"summary": {"components": [tru'


def _group_id(name: str) -> str:
    """A stable ULID-looking id (stable across processes, so ETags are too)."""
    return "01KGRP" + hashlib.sha1(name.encode()).hexdigest()[:20].upper()


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


@dataclass
class FakeUpdate:
    published_at: datetime
    status: str
    message: str


@dataclass
class FakeIncident:
    id: str
    name: str
    status: str
    published_at: datetime
    updates: list[FakeUpdate] = field(default_factory=list)


@dataclass(frozen=True)
class StatusStep:
    """One scenario step: the component state and (optionally) an incident update."""

    state: str
    incident: Mapping[str, Any] | None = None
    affected: Mapping[str, str] | Sequence[str] | None = None


class FakeStatusPage(LoopbackServer):
    """Loopback status page. ``base_url`` is what ``SORA_STATUS_URL`` points at.

    Script it with ``set_state(state, incident={...})``: ``incident`` keys are ``name`` (a new
    name opens a new incident), ``status`` (investigating/identified/monitoring/resolved) and
    ``message`` (appended as an update when it differs from the last one). A resolved incident
    leaves the summaries, as on the real pages. ``incident=None`` leaves no open incident.
    """

    name = "fake-status"

    def __init__(self, *, clock: Clock = utcnow, format: str = "both",
                 components: Sequence[str] | None = None, page_name: str = "OpenAI",
                 port: int = 0) -> None:
        super().__init__(clock=clock, port=port)
        if components is None:
            self._components = list(DEFAULT_COMPONENTS)
        else:
            self._components = [(self._ulid(i), n, "Components") for i, n in
                                enumerate(components)]
        self.page_name = page_name
        self._format = "both"
        self.set_format(format)
        self._failure = "ok"
        self._statuses: dict[str, str] = {n: "operational" for _, n, _ in self._components}
        self._incident: FakeIncident | None = None
        self.resolved_incidents: list[FakeIncident] = []
        self._changed_at = self.clock()
        self._scenario: Scenario[StatusStep] | None = None
        self._applied_step: int | None = None
        self._raw: dict[str, Any] = {}

    @staticmethod
    def _ulid(i: int) -> str:
        return f"01KFAKE{i:019d}"

    @property
    def base_url(self) -> str:
        return self.origin

    @property
    def widget_url(self) -> str:
        return f"{self.origin}/proxy/{self.host}"

    @property
    def summary_url(self) -> str:
        return f"{self.origin}/api/v2/summary.json"

    # scripting ----------------------------------------------------------------------------------

    def set_format(self, fmt: str) -> None:
        if fmt not in FORMATS:
            raise ValueError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
        self._format = fmt

    def set_failure(self, mode: str) -> None:
        """``ok`` or a broken page: ``hung``/``timeout``, ``html``, ``garbage``, ``500``."""
        if mode not in FAILURES:
            raise ValueError(f"unknown failure mode {mode!r}; one of {', '.join(FAILURES)}")
        self._failure = mode

    set_mode = set_failure

    def set_payload(self, fmt: str, payload: Any | None) -> None:
        """Serve ``payload`` verbatim as the ``incidentio`` or ``statuspage`` body (e.g. a
        recorded real page) instead of the scripted state; None goes back to the state."""
        if fmt not in ("incidentio", "statuspage"):
            raise ValueError("set_payload format must be 'incidentio' or 'statuspage'")
        with self.lock:
            if payload is None:
                self._raw.pop(fmt, None)
            else:
                self._raw[fmt] = payload
            self._changed_at = self.clock()

    def set_state(self, state: str, incident: Mapping[str, Any] | None = None,
                  affected: Mapping[str, str] | Sequence[str] | None = None) -> None:
        """Set component statuses (default: ``Sora``, else the first component) and incident."""
        with self.lock:
            self._scenario = None
            self._apply(StatusStep(state, incident, affected), self.clock())

    def set_scenario(self, steps: Sequence[tuple[float, StatusStep | str]],
                     start: datetime | None = None) -> None:
        """Script the page over time on the fake's clock: ``[(0, "operational"), (20, StatusStep
        ("partial_outage", {"name": ..., "message": ...})), ...]``."""
        norm = [(t, s if isinstance(s, StatusStep) else StatusStep(s)) for t, s in steps]
        for _, step in norm:
            self._check_state(step.state)
        with self.lock:
            self._scenario = Scenario(norm, start or self.clock())
            self._applied_step = None

    @staticmethod
    def _check_state(state: str) -> None:
        if state not in STATES:
            raise ValueError(f"unknown state {state!r}; one of {', '.join(STATES)}")

    def _apply(self, step: StatusStep, at: datetime) -> None:
        self._check_state(step.state)
        names = [n for _, n, _ in self._components]
        if isinstance(step.affected, Mapping):
            wanted = dict(step.affected)
        else:
            targets = list(step.affected) if step.affected is not None else (
                ["Sora"] if "Sora" in names else names[:1])
            wanted = {n: step.state for n in targets}
        for n in names:
            self._statuses[n] = "operational"
        for n, st in wanted.items():
            self._check_state(st)
            if n not in self._statuses:
                raise ValueError(f"no component named {n!r} on this page")
            self._statuses[n] = st
        self._apply_incident(step.incident, at)
        self._changed_at = at

    def _apply_incident(self, spec: Mapping[str, Any] | None, at: datetime) -> None:
        if spec is None:
            self._incident = None
            return
        status = spec.get("status", "investigating")
        if status not in INCIDENT_STATUSES:
            raise ValueError(f"unknown incident status {status!r}")
        cur = self._incident
        name = spec.get("name")
        if cur is None or (name and name != cur.name):
            cur = FakeIncident(id=spec.get("id") or f"01KINC{secrets.token_hex(10).upper()}",
                               name=name or "Elevated error rates", status=status,
                               published_at=at)
        message = spec.get("message")
        if message and (not cur.updates or cur.updates[-1].message != message):
            cur.updates.append(FakeUpdate(at, status, message))
        cur.status = status
        if status == "resolved":
            self.resolved_incidents.append(cur)
            self._incident = None
        else:
            self._incident = cur

    def _sync_scenario(self) -> None:
        """Apply the scenario step in force now (lazily, on each request)."""
        with self.lock:
            if self._scenario is None:
                return
            i = self._scenario.index_at(self.clock())
            if i is None or i == self._applied_step:
                return
            first = 0 if self._applied_step is None else self._applied_step + 1
            for j in range(first, i + 1):  # replay skipped steps so incident updates accumulate
                self._apply(self._scenario.steps[j][1], self._scenario.step_time(j))
            self._applied_step = i

    @property
    def incident(self) -> FakeIncident | None:
        self._sync_scenario()
        return self._incident

    def statuses(self) -> dict[str, str]:
        self._sync_scenario()
        with self.lock:
            return dict(self._statuses)

    # rendering ----------------------------------------------------------------------------------

    def _worst(self) -> str:
        return max(self._statuses.values(), key=lambda s: SEVERITY[s])

    def render_incidentio(self) -> dict[str, Any]:
        with self.lock:
            ids = {n: cid for cid, n, _ in self._components}
            affected = [{"component_id": ids[n], "status": INCIDENTIO_STATUS.get(s, s)}
                        for n, s in self._statuses.items() if s != "operational"]
            groups: dict[str, list[dict[str, str]]] = {}
            for cid, n, g in self._components:
                groups.setdefault(g, []).append({"component_id": cid, "name": n})
            ongoing = []
            inc = self._incident
            if inc is not None:
                worst = self._worst()
                ongoing.append({
                    "id": inc.id, "name": inc.name, "status": inc.status,
                    "published_at": _iso(inc.published_at),
                    "current_worst_impact": INCIDENTIO_STATUS.get(worst, worst),
                    "affected_components": affected,
                    "updates": [{"published_at": _iso(u.published_at),
                                 "message_string": u.message} for u in inc.updates]})
            return {"summary": {
                "id": "01JMXBRMFE6N2NNT7DG6XZQ6PW", "name": self.page_name,
                "components": [{"id": cid, "name": n} for cid, n, _ in self._components],
                "affected_components": affected,
                "structure": {"items": [
                    {"group": {"id": _group_id(g), "name": g, "hidden": False,
                               "components": comps}}
                    for g, comps in groups.items()]},
                "ongoing_incidents": ongoing,
                "in_progress_maintenances": [], "scheduled_maintenances": []}}

    def _page(self) -> dict[str, Any]:
        return {"id": "fakepage0001", "name": self.page_name, "url": self.origin,
                "time_zone": "Etc/UTC", "updated_at": _iso(self._changed_at)}

    def render_statuspage(self) -> dict[str, Any]:
        with self.lock:
            indicator, description = ATLASSIAN_INDICATOR[self._worst()]
            comps = [{"id": f"cmp{i:09d}", "name": n, "status": self._statuses[n],
                      "created_at": "2025-01-01T00:00:00.000Z",
                      "updated_at": _iso(self._changed_at), "position": i + 1,
                      "description": None, "showcase": True, "group_id": None,
                      "page_id": "fakepage0001", "group": False, "only_show_if_degraded": False}
                     for i, (_, n, _) in enumerate(self._components)]
            incidents = []
            inc = self._incident
            if inc is not None:
                updates = [{"id": f"upd{i:09d}", "status": u.status, "body": u.message,
                            "incident_id": inc.id, "created_at": _iso(u.published_at),
                            "updated_at": _iso(u.published_at),
                            "display_at": _iso(u.published_at), "affected_components": None}
                           for i, u in enumerate(inc.updates)]
                last = inc.updates[-1].published_at if inc.updates else inc.published_at
                incidents.append({
                    "id": inc.id, "name": inc.name, "status": inc.status,
                    "impact": ATLASSIAN_IMPACT[self._worst()],
                    "created_at": _iso(inc.published_at), "updated_at": _iso(last),
                    "monitoring_at": None, "resolved_at": None,
                    "started_at": _iso(inc.published_at),
                    "shortlink": f"{self.origin}/incidents/{inc.id}", "page_id": "fakepage0001",
                    "incident_updates": list(reversed(updates)),  # newest first, as Atlassian
                    "components": [c for c in comps if c["status"] != "operational"]})
            return {"page": self._page(),
                    "status": {"indicator": indicator, "description": description},
                    "components": comps, "incidents": incidents, "scheduled_maintenances": []}

    def render_status(self) -> dict[str, Any]:
        with self.lock:
            indicator, description = ATLASSIAN_INDICATOR[self._worst()]
            return {"page": self._page(),
                    "status": {"indicator": indicator, "description": description}}

    # routes ---------------------------------------------------------------------------------------

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/proxy/{host}", self._widget)
        app.router.add_get("/api/v2/summary.json", self._summary)
        app.router.add_get("/api/v2/status.json", self._status)
        app.router.add_get("/", self._home)

    async def _broken(self) -> web.StreamResponse | None:
        mode = self._failure
        if mode in ("hung", "timeout"):
            return await self.hang()
        if mode == "html":
            return web.Response(status=200, text=HTML_PAGE, content_type="text/html")
        if mode == "garbage":
            return web.Response(status=200, text=GARBAGE, content_type="application/json")
        if mode == "500":
            return web.Response(status=500, text="Internal Server Error",
                                content_type="text/plain")
        return None

    def _conditional(self, request: web.Request, payload: Any) -> web.Response:
        body = json.dumps(payload, sort_keys=True).encode()
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        with self.lock:
            changed = self._changed_at.astimezone(UTC).replace(microsecond=0)
        headers = {"ETag": etag, "Last-Modified": format_datetime(changed, usegmt=True),
                   "Cache-Control": "max-age=0, must-revalidate"}
        inm = request.headers.get("If-None-Match")
        ims = request.headers.get("If-Modified-Since")
        if inm is not None:
            tags = {t.strip().removeprefix("W/") for t in inm.split(",")}
            if etag in tags or "*" in tags:
                return web.Response(status=304, headers=headers)
        elif ims is not None:
            try:
                since = parsedate_to_datetime(ims)
            except (TypeError, ValueError):
                since = None
            if since is not None and since.tzinfo is not None and changed <= since:
                return web.Response(status=304, headers=headers)
        return web.Response(status=200, body=body, content_type="application/json",
                            headers=headers)

    async def _serve(self, request: web.Request, fmt: str, render: Any,
                     raw_key: str | None) -> web.StreamResponse:
        """One endpoint of format ``fmt``: failure modes first, 404 when the page does not serve
        that format, then the recorded payload (``set_payload``) or the rendered state."""
        broken = await self._broken()
        if broken is not None:
            return broken
        if self._format not in (fmt, "both"):
            raise web.HTTPNotFound(text="Not Found")
        self._sync_scenario()
        raw = self._raw.get(raw_key) if raw_key else None
        return self._conditional(request, raw if raw is not None else render())

    async def _widget(self, request: web.Request) -> web.StreamResponse:
        return await self._serve(request, "incidentio", self.render_incidentio, "incidentio")

    async def _summary(self, request: web.Request) -> web.StreamResponse:
        return await self._serve(request, "statuspage", self.render_statuspage, "statuspage")

    async def _status(self, request: web.Request) -> web.StreamResponse:
        return await self._serve(request, "statuspage", self.render_status, None)

    async def _home(self, request: web.Request) -> web.StreamResponse:
        return web.Response(text=f"<html><body><h1>{self.page_name} Status</h1></body></html>",
                            content_type="text/html")
