"""The status page's side of the monitor: which official incidents are listed, and damping.

``OfficialBook`` turns status-page changes (one poll's diff) and each readable poll's list of
incidents into events: ``opened``, ``updated`` (a new update text or time), ``severity`` (the
page's indicator or impact changed) and ``ended``. The Monitor decides what each event means
for the incident it joins (``outage:<target>`` for a target the page speaks for, else
``official:<id>``).

Damping (issue 12: an id appearing and disappearing on each poll flooded channels):

* an incident the page says is resolved with a NEW final update ends at once, and that final
  text is what the resolved notice quotes;
* one that merely disappears (or is reported resolved with the text already posted) ends only
  after ``resolve_after_polls`` readable polls in a row without it; seen again before that, it
  simply continues;
* one that ended and comes back with the very text it ended with is the page flickering: noted,
  not posted. A new update brings it back.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.config import OFFICIAL_TARGET
from bot.monitor.policy import SEVERITY_RANK, OfficialPolicy

_CHANGE_KINDS: Mapping[str, str] = {
    "indicator": "indicator", "indicator_changed": "indicator", "status": "indicator",
    "incident_opened": "opened", "opened": "opened", "incident_new": "opened",
    "new_incident": "opened", "incident_started": "opened",
    "incident_updated": "updated", "updated": "updated", "incident_update": "updated",
    "incident_resolved": "resolved", "resolved": "resolved", "incident_closed": "resolved",
}
RESOLVED_MEMORY = 500  # ended incidents remembered for flicker detection


@dataclass
class PageIncident:
    """One official incident as the page last showed it."""

    id: str
    name: str
    status: str
    stamp: str | None
    text: str | None
    url: str | None
    impact: str | None
    severity: str
    target: str | None            # the outage it joins; None: its own official:<id> key
    listed: bool = True
    missing: int = 0              # readable polls in a row without it
    posted: bool = False          # own key: open in the store
    final: str | None = None      # the page's final update text, when it gave one
    told: bool = False            # its end was already told in the thread

    def line(self) -> str:
        """“Elevated errors” (investigating): We are investigating."""
        head = f"“{self.name}” ({self.status or 'open'})"
        return f"{head}: {self.text}" if self.text and self.text != self.name else head

    def update_line(self) -> str:
        """A later update in the thread: what changed (the name was in the first notice)."""
        return f"Status page update ({self.status or 'open'}): {self.text or self.name}"

    def resolved_line(self) -> str:
        if self.final:
            return f"The status page resolved “{self.name}”: {self.final}"
        return f"The status page no longer lists “{self.name}”."


def stamp_of(incident: Mapping[str, Any]) -> str | None:
    """What makes an official update new: the page's update time plus a short hash of its
    latest text (fits the store's 64-character ``official_update_at``)."""
    when = next((str(incident[n]) for n in ("updated_at", "last_update_at", "published_at")
                 if incident.get(n)), "")
    latest = incident.get("latest_update")
    digest = hashlib.sha1(str(latest).encode()).hexdigest()[:12] if latest else ""
    stamp = f"{when[:40]}#{digest}" if digest else when[:40]
    return stamp or None


def _text(incident: Mapping[str, Any]) -> str | None:
    latest = incident.get("latest_update")
    if isinstance(latest, Mapping):
        latest = latest.get("body") or latest.get("message_string")
    return str(latest) if latest else None


class OfficialBook:
    """The official incidents the monitor knows, keyed by the page's incident id."""

    def __init__(self, policy: OfficialPolicy, note: Callable[[str, str], None]) -> None:
        self.policy = policy
        self._note = note
        self._indicator: str | None = None
        self._incidents: dict[str, PageIncident] = {}
        self._ended: dict[str, list[PageIncident]] = {}
        self._resolved_stamps: dict[str, str | None] = {}
        self._restored: dict[str, str | None] = {}   # target -> stamp of a restored outage

    # -- reading -------------------------------------------------------------------------

    def join_target(self) -> str | None:
        """The target the page's incidents join (the official API first), None for none."""
        targets = self.policy.link_targets
        if not targets:
            return None
        return min(targets, key=lambda t: (t != OFFICIAL_TARGET, t))

    def targets(self) -> set[str]:
        return {i.target for i in self._incidents.values() if i.target}

    def listed(self, target: str) -> bool:
        return any(i.target == target for i in self._incidents.values())

    def listed_incidents(self, target: str) -> list[PageIncident]:
        return [i for i in self._incidents.values() if i.target == target]

    def listed_names(self, target: str) -> str:
        return ", ".join(f"“{i.name}” ({i.status or 'open'})"
                         for i in self.listed_incidents(target)) or "an incident"

    def pop_ended(self, target: str) -> list[PageIncident]:
        """Ended incidents of ``target`` whose end was not told yet (the resolve tells it)."""
        return [i for i in self._ended.pop(target, []) if not i.told]

    def own_open_keys(self) -> list[str]:
        return [f"official:{i.id}" for i in self._incidents.values()
                if i.target is None and i.posted]

    def indicator_text(self) -> str:
        return (self._indicator or "unknown").replace("_", " ")

    def severity(self, impact: Any) -> str:
        pol = self.policy
        candidates = [pol.default_severity]
        if self._indicator:
            candidates.append(pol.indicator_severity.get(self._indicator, pol.default_severity))
        if impact:
            candidates.append(pol.impact_severity.get(str(impact).lower(), pol.default_severity))
        return max(candidates, key=lambda s: SEVERITY_RANK[s])

    # -- restart -------------------------------------------------------------------------

    def restore_joined(self, target: str, stamp: str | None) -> None:
        """An open outage came back from the store: the page update it last told."""
        self._restored[target] = stamp

    def restore_own(self, inc_id: str, severity: str, stamp: str | None, title: str) -> None:
        name = title.removeprefix("Official: ")
        self._incidents[inc_id] = PageIncident(
            id=inc_id, name=name, status="", stamp=stamp, text=None, url=None, impact=None,
            severity=severity, target=None, posted=True)

    # -- changes -------------------------------------------------------------------------

    def apply(self, changes: Iterable[Any], now: datetime) -> list[tuple[str, PageIncident]]:
        """One poll's changes → events (at most one per incident, 'resolved' wins)."""
        latest: dict[str, tuple[str, Mapping[str, Any]]] = {}
        order: list[str] = []
        old_indicator = self._indicator
        for change in changes:
            kind = _CHANGE_KINDS.get(str(getattr(change, "kind", "")).lower())
            indicator = getattr(change, "indicator", None)
            if indicator is None and kind == "indicator":
                indicator = getattr(change, "new", None)  # bot.status_page.StatusChange
            if indicator and indicator != "unknown":
                self._indicator = str(indicator)
            if kind is None:
                self._note("official", "ignored status change of unknown kind "
                                       f"{getattr(change, 'kind', None)!r}")
                continue
            incident = getattr(change, "incident", None)
            if kind == "indicator" or not incident:
                continue
            inc_id = str(incident.get("id") or incident.get("name") or "")
            if not inc_id:
                continue
            if inc_id not in latest:
                order.append(inc_id)
            previous = latest.get(inc_id, (kind, incident))[0]
            merged = "resolved" if kind == "resolved" else \
                ("opened" if previous == "opened" else kind)
            latest[inc_id] = (merged, incident)
        events: list[tuple[str, PageIncident]] = []
        for inc_id in order:
            event = self._change(inc_id, *latest[inc_id])
            if event is not None:
                events.append(event)
        if self._indicator != old_indicator:
            touched = set(order)
            for inc in self._incidents.values():
                if inc.id in touched:
                    continue
                severity = self.severity(inc.impact)
                if severity != inc.severity:
                    inc.severity = severity
                    events.append(("severity", inc))
        return events

    def _key(self, inc_id: str, target: str | None) -> str:
        return f"outage:{target}" if target else f"official:{inc_id}"

    def _change(self, inc_id: str, kind: str,
                incident: Mapping[str, Any]) -> tuple[str, PageIncident] | None:
        status = str(incident.get("status") or "").lower()
        stamp = stamp_of(incident)
        inc = self._incidents.get(inc_id)
        target = inc.target if inc is not None else self.join_target()
        key = self._key(inc_id, target)
        if kind == "resolved" or status in self.policy.resolved_statuses:
            if inc is None:
                self._note(key, f"{inc_id}: resolved on the page, but never posted here")
                return None
            if stamp != inc.stamp:            # the page's own final word
                inc.final, inc.status = _text(incident), status or "resolved"
                inc.stamp = stamp
                return ("ended", self._end(inc))
            inc.listed = False                # gone without a word: wait (damping)
            self._note(key, f"{inc_id}: no longer listed; it ends after "
                            f"{self.policy.resolve_after_polls} readable polls without it")
            return None
        impact = incident.get("impact") or incident.get("current_worst_impact")
        name = str(incident.get("name") or inc_id)
        if inc is None:
            if inc_id in self._resolved_stamps and self._resolved_stamps[inc_id] == stamp:
                self._note(key, f"{inc_id}: listed again with the text it ended with: the page "
                                "flickering; not posted")
                return None
            inc = PageIncident(id=inc_id, name=name, status=status, stamp=stamp,
                               text=_text(incident), url=incident.get("url"),
                               impact=str(impact) if impact else None,
                               severity=self.severity(impact), target=target)
            self._incidents[inc_id] = inc
            if target is not None and target in self._restored:
                restored = self._restored.pop(target)
                if restored == stamp:
                    self._note(key, f"{inc_id}: already told before the restart")
                    return None
                return ("updated", inc)
            return ("opened", inc)
        inc.listed, inc.missing = True, 0
        inc.impact = str(impact) if impact else inc.impact
        severity = self.severity(inc.impact)
        if stamp == inc.stamp and severity == inc.severity:
            self._note(key, f"{inc_id}: no new official update (already posted)")
            return None
        event = "updated" if stamp != inc.stamp else "severity"
        inc.stamp, inc.severity, inc.status, inc.name = stamp, severity, status, name
        inc.text = _text(incident) or inc.text
        return (event, inc)

    def sync(self, listed: Iterable[Any], now: datetime) -> list[tuple[str, PageIncident]]:
        """A readable poll's incidents: count the polls each known incident is missing from."""
        ids: set[str] = set()
        for item in listed:
            get = item.get if isinstance(item, Mapping) else (
                lambda n, _i=item: getattr(_i, n, None))
            status = str(get("status") or "").lower()
            if status in self.policy.resolved_statuses:
                continue
            ids.add(str(get("id") or get("name") or ""))
        events: list[tuple[str, PageIncident]] = []
        for inc in list(self._incidents.values()):
            if inc.id in ids:
                inc.listed, inc.missing = True, 0
                continue
            inc.listed = False
            inc.missing += 1
            if inc.missing >= self.policy.resolve_after_polls:
                events.append(("ended", self._end(inc)))
            else:
                self._note(self._key(inc.id, inc.target),
                           f"{inc.id}: not listed for {inc.missing}/"
                           f"{self.policy.resolve_after_polls} readable polls")
        return events

    def _end(self, inc: PageIncident) -> PageIncident:
        self._incidents.pop(inc.id, None)
        self._resolved_stamps[inc.id] = inc.stamp
        while len(self._resolved_stamps) > RESOLVED_MEMORY:
            del self._resolved_stamps[next(iter(self._resolved_stamps))]
        if inc.target is not None:
            self._ended.setdefault(inc.target, []).append(inc)
        return inc


__all__ = ["OfficialBook", "PageIncident", "stamp_of"]
