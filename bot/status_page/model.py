"""StatusSnapshot (one poll of the official page), StatusChange and the pure ``diff_snapshots``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, cast

from bot.clock import as_utc

INDICATORS: tuple[str, ...] = ("operational", "degraded_performance", "partial_outage",
                               "major_outage", "under_maintenance", "unknown")
SEVERITY: Mapping[str, int] = {"operational": 0, "under_maintenance": 1,
                               "degraded_performance": 2, "partial_outage": 3, "major_outage": 4}
# Incidents and maintenances that are over (incident.io says maintenance_complete).
CLOSED_INCIDENT_STATUSES = frozenset({"resolved", "postmortem", "completed",
                                      "maintenance_complete"})
CHANGE_KINDS: tuple[str, ...] = ("indicator_changed", "incident_opened", "incident_updated",
                                 "incident_resolved")


@dataclass(frozen=True)
class StatusSnapshot:
    """What the page said at ``fetched_at``, reduced to the components that matter.

    ``indicator`` is the worst status among those components (the page's own overall indicator
    when it has none of them); ``unknown`` with ``ok=False`` and ``error`` when the page could
    not be read. Incidents are the open ones (and maintenances in progress): ``{id, name,
    status, url, updated_at, latest_update, impact}`` — ``impact`` is the page's own word
    (Atlassian ``minor|major|critical|maintenance``, incident.io the worst component status),
    what the monitor grades an official incident by.
    """

    indicator: str
    components: list[dict[str, str]]
    incidents: list[dict[str, Any]]
    fetched_at: datetime
    format: str | None
    ok: bool
    error: str | None = None
    url: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    page_indicator: str | None = None
    not_modified: bool = field(default=False, compare=False)
    # Why the poll failed in one word (bot.connectivity.FAILURES), None when it was read.
    failure: str | None = None

    def to_official_dict(self) -> dict[str, Any]:
        """The Contract-3 ``official`` object."""
        return {"indicator": self.indicator,
                "components": [{"name": c["name"], "status": c["status"]}
                               for c in self.components],
                "incidents": [{k: i.get(k) for k in ("name", "status", "url", "updated_at",
                                                     "latest_update")}
                              for i in self.incidents]}

    def to_record(self) -> dict[str, Any]:
        """Keyword arguments for ``Store.add_status_snapshot``."""
        return {"url": self.url or "", "ok": self.ok, "format": self.format,
                "indicator": self.indicator,
                "components": [dict(c) for c in self.components],
                "incidents": [dict(i) for i in self.incidents], "etag": self.etag,
                "last_modified": self.last_modified, "error": self.error,
                "fetched_at": self.fetched_at}

    @classmethod
    def from_record(cls, row: Any) -> StatusSnapshot:
        """Rebuild from a stored row (attributes) or mapping, e.g. to prime a watcher."""
        get = row.get if isinstance(row, Mapping) else (lambda k, d=None: getattr(row, k, d))
        return cls(indicator=get("indicator") or "unknown",
                   components=[dict(c) for c in get("components") or ()],
                   incidents=[dict(i) for i in get("incidents") or ()],
                   fetched_at=as_utc(cast(datetime, get("fetched_at"))), format=get("format"),
                   ok=bool(get("ok")), error=get("error"), url=get("url"), etag=get("etag"),
                   last_modified=get("last_modified"))

    def refreshed(self, at: datetime) -> StatusSnapshot:
        """The same content confirmed at ``at`` (a 304 Not Modified)."""
        return replace(self, fetched_at=at, not_modified=True)


@dataclass(frozen=True)
class StatusChange:
    """One thing the monitor may tell people about; ``reason`` is a readable one-liner."""

    kind: str                      # one of CHANGE_KINDS
    old: str | None                # previous indicator / incident status
    new: str | None                # current indicator / incident status
    reason: str
    at: datetime
    incident: dict[str, Any] | None = None

    @property
    def incident_id(self) -> str | None:
        return None if self.incident is None else _incident_key(self.incident)


def _incident_key(incident: Mapping[str, Any]) -> str:
    return str(incident.get("id") or incident.get("name") or "")


def _closed(incident: Mapping[str, Any]) -> bool:
    return str(incident.get("status") or "").lower() in CLOSED_INCIDENT_STATUSES


def _words(status: str | None) -> str:
    return (status or "none").replace("_", " ")


def diff_snapshots(prev: StatusSnapshot | None, cur: StatusSnapshot) -> list[StatusChange]:
    """Changes from ``prev`` to ``cur``: indicator changed, incident opened/updated/resolved.

    An unreadable page (``ok=False``, indicator ``unknown``) carries no information, so a diff
    to or from one is empty: never alert on "unknown" alone. Diff against the last *readable*
    snapshot (``StatusWatcher.poll_changes`` does) so nothing that happened meanwhile is lost.
    ``prev=None`` (first poll ever) reports what is already going on as new.
    """
    if not cur.ok or (prev is not None and not prev.ok):
        return []
    at = cur.fetched_at
    changes: list[StatusChange] = []
    old_indicator = None if prev is None else prev.indicator
    if old_indicator != cur.indicator and not (prev is None and cur.indicator == "operational"):
        changes.append(StatusChange(
            "indicator_changed", old_indicator, cur.indicator,
            f"official status {_words(old_indicator)} → {_words(cur.indicator)}", at))
    before = {} if prev is None else {_incident_key(i): i for i in prev.incidents}
    now_open = {_incident_key(i): i for i in cur.incidents}
    for key, inc in now_open.items():
        old = before.get(key)
        if _closed(inc):
            if old is not None and not _closed(old):
                changes.append(StatusChange("incident_resolved", old.get("status"),
                                            inc.get("status"),
                                            f"incident resolved: {inc.get('name')}", at,
                                            dict(inc)))
            continue
        if old is None or _closed(old):
            changes.append(StatusChange("incident_opened", None, inc.get("status"),
                                        f"incident opened: {inc.get('name')}", at, dict(inc)))
        elif (old.get("status") != inc.get("status")
              or old.get("latest_update") != inc.get("latest_update")):
            what = (f"{_words(old.get('status'))} → {_words(inc.get('status'))}"
                    if old.get("status") != inc.get("status") else "new update")
            changes.append(StatusChange("incident_updated", old.get("status"),
                                        inc.get("status"),
                                        f"incident updated ({what}): {inc.get('name')}", at,
                                        dict(inc)))
    for key, old in before.items():
        if key not in now_open and not _closed(old):
            changes.append(StatusChange("incident_resolved", old.get("status"), "resolved",
                                        f"incident resolved: {old.get('name')}", at,
                                        {**old, "status": "resolved"}))
    return changes
