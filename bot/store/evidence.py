"""Evidence: probe results, status-page snapshots, the team's error events, and retention."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, Delete, delete, func, insert, or_, select
from sqlalchemy.orm import Session

from bot.store.base import StoreBase, check_value
from bot.store.models import (
    DETAIL_MAX,
    EVENT_SOURCES,
    REDACTED_MAX,
    SNAPSHOT_FORMATS,
    DeliveryAttempt,
    ErrorEvent,
    Incident,
    Outbox,
    ProbeResult,
    StatusSnapshot,
)

_SNAPSHOT_FIELDS = ("url", "ok", "format", "indicator", "components", "incidents", "etag",
                   "last_modified", "error", "fetched_at")


def _clip(text: str | None, limit: int) -> str | None:
    return None if text is None else text[:limit]


@dataclass(frozen=True)
class NewErrorEvent:
    """One error of the team's stream, text already redacted (the store only truncates)."""

    source: str  # 'probe' | 'chat' | 'ingest'
    category: str
    redacted: str = ""
    fingerprint: str | None = None
    target: str | None = None
    http_status: int | None = None
    error_code: str | None = None
    channel_key: str | None = None
    at: datetime | None = None


def error_event_values(event: NewErrorEvent | Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """The ``error_events`` column values for one event, checked and clipped (also written by
    team memory, in its own transaction: ``bot.store.memory``)."""
    data = asdict(event) if isinstance(event, NewErrorEvent) else dict(event)
    check_value("source", data["source"], EVENT_SOURCES)
    return {"at": data.get("at") or now, "source": data["source"], "target": data.get("target"),
            "category": data["category"], "fingerprint": _clip(data.get("fingerprint"), 100),
            "http_status": data.get("http_status"),
            "error_code": _clip(data.get("error_code"), 200),
            "channel_key": _clip(data.get("channel_key"), 300),
            "redacted": _clip(data.get("redacted") or "", REDACTED_MAX)}


class EvidenceMixin(StoreBase):
    # -- probes ---------------------------------------------------------------------------

    def add_probe_result(self, *, target: str, kind: str, ok: bool,
                         http_status: int | None = None, latency_ms: float | None = None,
                         category: str | None = None, error_code: str | None = None,
                         request_id: str | None = None, detail: str | None = None,
                         at: datetime | None = None) -> ProbeResult:
        """Store one probe outcome (``detail`` must already be redacted; clipped to 2000)."""
        row = ProbeResult(target=target, kind=kind, ok=ok, http_status=http_status,
                          latency_ms=latency_ms, category=category,
                          error_code=_clip(error_code, 200), request_id=_clip(request_id, 200),
                          detail=_clip(detail, DETAIL_MAX), at=at or self.now())
        with self._tx() as s:
            s.add(row)
        return row

    def add_probe_results(self, results: Iterable[Any]) -> int:
        """Store a batch in one transaction: bot.probes.ProbeResult objects (their
        ``to_record()``), or mappings of add_probe_result's arguments. Skipped probes (no key,
        budget spent) are left out: they are not evidence either way."""
        rows = []
        for result in results:
            if getattr(result, "skipped", False):
                continue
            data = result.to_record() if hasattr(result, "to_record") else dict(result)
            rows.append(ProbeResult(
                target=data["target"], kind=data["kind"], ok=bool(data["ok"]),
                http_status=data.get("http_status"), latency_ms=data.get("latency_ms"),
                category=data.get("category"), error_code=_clip(data.get("error_code"), 200),
                request_id=_clip(data.get("request_id"), 200),
                detail=_clip(data.get("detail"), DETAIL_MAX), at=data.get("at") or self.now()))
        if rows:
            with self._tx() as s:
                s.add_all(rows)
        return len(rows)

    def latest_probe_results(self) -> list[ProbeResult]:
        """The newest result per (target, kind), ordered by target then kind."""
        rank = func.row_number().over(
            partition_by=(ProbeResult.target, ProbeResult.kind),
            order_by=(ProbeResult.at.desc(), ProbeResult.id.desc())).label("rank")
        ranked = select(ProbeResult.id, rank).subquery()
        stmt = (select(ProbeResult).join(ranked, ranked.c.id == ProbeResult.id)
                .where(ranked.c.rank == 1).order_by(ProbeResult.target, ProbeResult.kind))
        with self._tx(read_only=True) as s:
            return list(s.scalars(stmt))

    def recent_probe_results(self, target: str, since: datetime,
                             kind: str | None = None) -> list[ProbeResult]:
        """Results of one target at or after ``since``, oldest first."""
        stmt = select(ProbeResult).where(ProbeResult.target == target, ProbeResult.at >= since)
        if kind is not None:
            stmt = stmt.where(ProbeResult.kind == kind)
        with self._tx(read_only=True) as s:
            return list(s.scalars(stmt.order_by(ProbeResult.at, ProbeResult.id)))

    # -- status page ----------------------------------------------------------------------

    def add_status_snapshot(self, snapshot: Any = None, /, *, url: str | None = None,
                            ok: bool | None = None, format: str | None = None,
                            indicator: str | None = None,
                            components: Iterable[Mapping[str, Any]] = (),
                            incidents: Iterable[Mapping[str, Any]] = (),
                            etag: str | None = None, last_modified: str | None = None,
                            error: str | None = None,
                            fetched_at: datetime | None = None) -> StatusSnapshot:
        """Store one poll of the status page (also failed polls: ok=False with ``error``).

        Pass the fields as keywords, or one object (the watcher's snapshot): its
        ``to_record()`` mapping if it has one, else its attributes of the same names.
        """
        if snapshot is not None:
            data = snapshot.to_record() if hasattr(snapshot, "to_record") else {
                name: getattr(snapshot, name) for name in _SNAPSHOT_FIELDS
                if hasattr(snapshot, name)}
            return self.add_status_snapshot(**data)
        if url is None or ok is None:
            raise TypeError("add_status_snapshot needs url and ok")
        if format is not None:
            check_value("format", format, SNAPSHOT_FORMATS)
        row = StatusSnapshot(url=url, ok=ok, format=format, indicator=indicator,
                             components=[dict(c) for c in components],
                             incidents=[dict(i) for i in incidents], etag=_clip(etag, 500),
                             last_modified=_clip(last_modified, 100),
                             error=_clip(error, DETAIL_MAX), fetched_at=fetched_at or self.now())
        with self._tx() as s:
            s.add(row)
        return row

    def latest_status_snapshot(self, url: str | None = None, *,
                               ok_only: bool = False) -> StatusSnapshot | None:
        """The newest snapshot (of ``url`` if given; only successful polls if ``ok_only``)."""
        stmt = select(StatusSnapshot)
        if url is not None:
            stmt = stmt.where(StatusSnapshot.url == url)
        if ok_only:
            stmt = stmt.where(StatusSnapshot.ok.is_(True))
        stmt = stmt.order_by(StatusSnapshot.fetched_at.desc(), StatusSnapshot.id.desc()).limit(1)
        with self._tx(read_only=True) as s:
            return s.scalars(stmt).first()

    def indicator_since(self, indicator: str, url: str | None = None) -> datetime | None:
        """When the page started showing ``indicator`` without a break ("partial outage since
        08:41"): the first successful poll of the newest run of polls with that indicator.
        Failed polls (timeouts, garbage) neither start nor break a run. None if not current."""
        ok: list[ColumnElement[bool]] = [StatusSnapshot.ok.is_(True)]
        if url is not None:
            ok.append(StatusSnapshot.url == url)
        with self._tx(read_only=True) as s:
            latest = s.scalars(select(StatusSnapshot).where(*ok).order_by(
                StatusSnapshot.fetched_at.desc(), StatusSnapshot.id.desc()).limit(1)).first()
            if latest is None or latest.indicator != indicator:
                return None
            changed = s.scalar(select(func.max(StatusSnapshot.fetched_at)).where(
                *ok, or_(StatusSnapshot.indicator != indicator,
                         StatusSnapshot.indicator.is_(None))))
            since = select(func.min(StatusSnapshot.fetched_at)).where(
                *ok, StatusSnapshot.indicator == indicator)
            if changed is not None:
                since = since.where(StatusSnapshot.fetched_at > changed)
            return s.scalar(since)

    # -- error events ---------------------------------------------------------------------

    def add_error_events(self, events: Iterable[NewErrorEvent | Mapping[str, Any]]) -> int:
        """Store a batch of error events in one transaction; returns how many were stored.

        A Core multi-row INSERT, not ORM objects: the ingest API's group commit writes
        thousands a second, and the unit of work cost three times the INSERT itself."""
        now = self.now()
        rows = [error_event_values(event, now) for event in events]
        if rows:
            with self._tx() as s:
                s.connection().execute(insert(ErrorEvent), rows)
        return len(rows)

    def _error_filter(self, stmt: Any, since: datetime, target: str | None,
                      source: str | None) -> Any:
        stmt = stmt.where(ErrorEvent.at >= since)
        if target is not None:
            stmt = stmt.where(ErrorEvent.target == target)
        if source is not None:
            stmt = stmt.where(ErrorEvent.source == source)
        return stmt

    def error_counts(self, since: datetime, *, target: str | None = None,
                     source: str | None = None) -> dict[str, int]:
        """Error events at or after ``since`` counted by category (only non-zero categories)."""
        stmt = self._error_filter(select(ErrorEvent.category, func.count()), since, target,
                                  source).group_by(ErrorEvent.category)
        with self._tx(read_only=True) as s:
            return {category: int(n) for category, n in s.execute(stmt)}

    def error_total(self, since: datetime, *, target: str | None = None,
                    source: str | None = None) -> int:
        return sum(self.error_counts(since, target=target, source=source).values())

    def error_events_since(self, since: datetime, target: str | None = None, *,
                           limit: int | None = None) -> list[ErrorEvent]:
        """Events at or after ``since`` (of one target if given), oldest first."""
        stmt = self._error_filter(select(ErrorEvent), since, target, None)
        stmt = stmt.order_by(ErrorEvent.at, ErrorEvent.id)
        if limit is not None:
            stmt = stmt.limit(limit)
        with self._tx(read_only=True) as s:
            return list(s.scalars(stmt))

    # -- retention ------------------------------------------------------------------------

    def prune(self, older_than: datetime) -> dict[str, int]:
        """Delete evidence older than ``older_than``; returns rows deleted per table.

        Keeps the newest status snapshot whatever its age (the status view needs one), and keeps
        incidents and their timelines (history); finished outbox rows of resolved incidents go
        with their delivery attempts.
        """
        done = ("sent", "dead", "suppressed")
        with self._tx() as s:
            counts = {
                "probe_results": _deleted(s, delete(ProbeResult).where(
                    ProbeResult.at < older_than)),
                "error_events": _deleted(s, delete(ErrorEvent).where(
                    ErrorEvent.at < older_than)),
            }
            newest = s.scalar(select(StatusSnapshot.id).order_by(
                StatusSnapshot.fetched_at.desc(), StatusSnapshot.id.desc()).limit(1))
            counts["status_snapshots"] = _deleted(s, delete(StatusSnapshot).where(
                StatusSnapshot.fetched_at < older_than, StatusSnapshot.id != newest)) \
                if newest is not None else 0
            # Rows of open incidents stay: their 'opened' message id threads later updates.
            resolved = select(Incident.id).where(Incident.state == "resolved")
            old = (Outbox.status.in_(done), Outbox.created_at < older_than,
                   Outbox.incident_id.in_(resolved))
            counts["delivery_attempts"] = _deleted(s, delete(DeliveryAttempt).where(
                DeliveryAttempt.outbox_id.in_(select(Outbox.id).where(*old))))
            counts["outbox"] = _deleted(s, delete(Outbox).where(*old))
        return counts


def _deleted(session: Session, statement: Delete) -> int:
    """Rows a DELETE removed (``Session.execute`` is typed as a plain ``Result``)."""
    return int(cast("CursorResult[Any]", session.execute(statement)).rowcount)
