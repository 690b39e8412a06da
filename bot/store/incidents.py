"""Incidents, their timeline, and the transactional outbox enqueue.

Every incident change writes its timeline event and one outbox row per subscribed, eligible
channel in the SAME transaction, so a notice can never be lost between "the incident changed"
and "the channels were told" (the delivery worker in bot.notify does the telling). Mutes are not
applied here: the delivery pipeline's mute stage records muted notices as suppressed, with the
reason, so "why did the bot not post?" has an answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.errors import StoreError
from bot.store.base import StoreBase, check_value
from bot.store.models import (
    DETAIL_MAX,
    INCIDENT_KINDS,
    SEVERITIES,
    TIMELINE_REASONS,
    Incident,
    IncidentEvent,
    Outbox,
    Subscription,
)

# Which incident kinds each subscription kind receives.
SUBSCRIPTION_WANTS: Mapping[str, frozenset[str]] = {
    "all": frozenset(INCIDENT_KINDS),
    "incidents": frozenset({"outage", "surge", "flapping"}),
    "status": frozenset({"official"}),
}
UPDATE_KINDS = ("updated", "flapping")


class IncidentAlreadyOpen(StoreError):
    """``open_incident`` for a key that already has an open incident (use update_incident)."""


class IncidentNotOpen(StoreError):
    """An update or resolve of an incident that is missing or already resolved."""


def wants(subscription_kinds: str, incident: Incident) -> bool:
    """Does a subscription receive this incident's notices? ``status`` channels follow the
    official page: its own incidents, and an outage the page's incident joined (one outage,
    one incident: ``official_update_at`` is set once the page has spoken about it)."""
    if incident.kind in SUBSCRIPTION_WANTS.get(subscription_kinds, frozenset()):
        return True
    return (subscription_kinds == "status" and incident.kind == "outage"
            and bool(incident.official_update_at))


def dedupe_key(incident_id: int, platform: str, workspace: str, channel: str, seq: int) -> str:
    return f"{incident_id}:{platform}:{workspace}:{channel}:{seq}"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def notice_payload(incident: Incident, event: IncidentEvent,
                   fields: Sequence[Mapping[str, str]] = (),
                   links: Sequence[Mapping[str, str]] = ()) -> dict[str, Any]:
    """The platform-neutral notice each sink renders (Block Kit, embed, terminal text)."""
    return {
        "incident_id": incident.id, "key": incident.key, "kind": incident.kind,
        "target": incident.target, "notice": event.kind, "reason": event.reason,
        "seq": event.seq, "title": incident.title, "severity": event.severity,
        "state": incident.state, "text": event.detail or incident.summary,
        "summary": incident.summary, "fields": [dict(f) for f in fields],
        "links": [dict(link) for link in links], "opened_at": _iso(incident.opened_at),
        "resolved_at": _iso(incident.resolved_at), "at": _iso(event.at),
        "linked_incident_id": incident.linked_incident_id,
    }


class IncidentsMixin(StoreBase):
    def _record(self, s: Session, incident: Incident, kind: str, reason: str, detail: str,
                fields: Sequence[Mapping[str, str]], links: Sequence[Mapping[str, str]],
                notify: bool) -> IncidentEvent:
        """Timeline event + outbox rows, inside the caller's transaction."""
        check_value("reason", reason, TIMELINE_REASONS)
        if notify:
            incident.seq += 1
        event = IncidentEvent(incident_id=incident.id, at=incident.updated_at, seq=incident.seq,
                              kind=kind, severity=incident.severity, reason=reason,
                              detail=detail or "")
        s.add(event)
        s.flush()
        if notify:
            self._enqueue(s, incident, event, fields, links)
        return event

    def _enqueue(self, s: Session, incident: Incident, event: IncidentEvent,
                 fields: Sequence[Mapping[str, str]], links: Sequence[Mapping[str, str]]) -> None:
        payload = notice_payload(incident, event, fields, links)
        rows = [
            {"dedupe_key": dedupe_key(incident.id, sub.platform, sub.workspace, sub.channel,
                                      event.seq),
             "incident_id": incident.id, "seq": event.seq, "notice_kind": event.kind,
             "platform": sub.platform, "workspace": sub.workspace, "channel": sub.channel,
             "payload": payload, "status": "pending", "attempts": 0,
             "next_attempt_at": event.at, "created_at": event.at}
            for sub in s.scalars(select(Subscription).order_by(Subscription.id))
            if wants(sub.kinds, incident)
        ]
        if rows:
            stmt = self._insert(Outbox).on_conflict_do_nothing(index_elements=["dedupe_key"])
            s.execute(stmt, rows)

    def open_incident(self, key: str, kind: str, *, title: str, severity: str = "error",
                      summary: str = "", target: str | None = None, detail: str = "",
                      reason: str = "first notice", linked_incident_id: int | None = None,
                      official_update_at: str | None = None,
                      fields: Sequence[Mapping[str, str]] = (),
                      links: Sequence[Mapping[str, str]] = ()) -> Incident:
        """Open an incident and enqueue its 'opened' notice for every eligible channel.

        ``fields`` ([{"name", "value"}]) and ``links`` ([{"title", "url"}]) go into the notice
        payload only. Raises IncidentAlreadyOpen if ``key`` already has an open incident.
        """
        check_value("kind", kind, INCIDENT_KINDS)
        check_value("severity", severity, SEVERITIES)
        now = self.now()
        try:
            with self._tx() as s:
                if s.scalars(select(Incident.id).where(
                        Incident.key == key, Incident.state == "open")).first() is not None:
                    raise IncidentAlreadyOpen(f"incident {key!r} is already open")
                incident = Incident(key=key, kind=kind, target=target, state="open",
                                    severity=severity, title=title[:500], summary=summary,
                                    opened_at=now, updated_at=now, resolved_at=None,
                                    linked_incident_id=linked_incident_id, seq=0,
                                    official_update_at=official_update_at)
                s.add(incident)
                s.flush()
                self._record(s, incident, "opened", reason, detail or summary, fields, links,
                             notify=True)
        except StoreError as exc:
            if isinstance(exc.__cause__, IntegrityError):  # lost a race on the partial index
                raise IncidentAlreadyOpen(f"incident {key!r} is already open") from None
            raise
        return incident

    def update_incident(self, incident_id: int, *, reason: str, severity: str | None = None,
                        title: str | None = None, summary: str | None = None, detail: str = "",
                        official_update_at: str | None = None,
                        linked_incident_id: int | None = None, kind: str = "updated",
                        notify: bool = True, fields: Sequence[Mapping[str, str]] = (),
                        links: Sequence[Mapping[str, str]] = ()) -> Incident:
        """Change an open incident and enqueue an 'updated' (or 'flapping') notice.

        ``notify=False`` records a timeline event only (no notice, ``seq`` unchanged).
        """
        check_value("kind", kind, UPDATE_KINDS)
        if severity is not None:
            check_value("severity", severity, SEVERITIES)
        with self._tx() as s:
            incident = self._open_for_update(s, incident_id)
            incident.updated_at = self.now()
            for name, value in (("severity", severity), ("title", title), ("summary", summary),
                                ("official_update_at", official_update_at),
                                ("linked_incident_id", linked_incident_id)):
                if value is not None:
                    setattr(incident, name, value)
            self._record(s, incident, kind, reason, detail, fields, links, notify=notify)
        return incident

    def resolve_incident(self, incident_id: int, *, detail: str = "", reason: str = "resolved",
                         title: str | None = None, fields: Sequence[Mapping[str, str]] = (),
                         links: Sequence[Mapping[str, str]] = ()) -> Incident:
        """Resolve an open incident and enqueue its 'resolved' notice. ``title`` (optional)
        renames it as it ends ("openai API: recovered"), so the last notice does not still
        say "down"."""
        with self._tx() as s:
            incident = self._open_for_update(s, incident_id)
            incident.state = "resolved"
            if title:
                incident.title = title[:500]
            incident.updated_at = incident.resolved_at = self.now()
            self._record(s, incident, "resolved", reason, detail, fields, links, notify=True)
        return incident

    def _open_for_update(self, s: Session, incident_id: int) -> Incident:
        incident = s.scalars(select(Incident).where(Incident.id == incident_id)
                             .with_for_update()).first()
        if incident is None or incident.state != "open":
            state = "missing" if incident is None else incident.state
            raise IncidentNotOpen(f"incident {incident_id} is not open ({state})")
        return incident

    def get_incident(self, incident_id: int) -> Incident | None:
        with self._tx(read_only=True) as s:
            return s.get(Incident, incident_id)

    def get_open_incident(self, key: str) -> Incident | None:
        with self._tx(read_only=True) as s:
            return s.scalars(select(Incident).where(
                Incident.key == key, Incident.state == "open")).first()

    def open_incidents(self) -> list[Incident]:
        with self._tx(read_only=True) as s:
            return list(s.scalars(select(Incident).where(Incident.state == "open")
                                  .order_by(Incident.opened_at, Incident.id)))

    def open_incident_count(self) -> int:
        with self._tx(read_only=True) as s:
            return int(s.scalar(select(func.count()).select_from(Incident).where(
                Incident.state == "open")) or 0)

    def recent_incidents(self, limit: int = 10) -> list[Incident]:
        """Newest first (for `/sora history`)."""
        with self._tx(read_only=True) as s:
            return list(s.scalars(select(Incident).order_by(
                Incident.opened_at.desc(), Incident.id.desc()).limit(limit)))

    def acknowledge_incident(self, incident_id: int, by: str, where: str) -> bool:
        """Write "acknowledged by <who> in <where>" on the incident's timeline (no notice: the
        platform already shows it on the alert). False when there is no such incident."""
        with self._tx() as s:
            incident = s.get(Incident, incident_id)
            if incident is None:
                return False
            s.add(IncidentEvent(incident_id=incident.id, at=self.now(), seq=incident.seq,
                                kind="acknowledged", severity=incident.severity,
                                reason="acknowledged", detail=f"by {by} in {where}"[:DETAIL_MAX]))
        return True

    def incident_timeline(self, incident_id: int) -> list[IncidentEvent]:
        with self._tx(read_only=True) as s:
            return list(s.scalars(select(IncidentEvent).where(
                IncidentEvent.incident_id == incident_id).order_by(
                IncidentEvent.at, IncidentEvent.id)))
