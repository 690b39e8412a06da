"""MonitorService: the thin glue between the Monitor (pure) and the Store (incidents + outbox).

Producers feed it (probe results, the team's error events, status-page changes); the scheduler
calls ``evaluate_and_apply`` every few seconds. Each decision becomes ONE Store call
(``open_incident`` / ``update_incident`` / ``resolve_incident``), which writes the incident, its
timeline event and one outbox row per subscribed channel in a single transaction, so a decision
is either fully recorded and queued for delivery, or not at all.

A decision the Store could not take (database down) stays queued and is retried first on the
next run, in order, so no notice is lost and none is reordered. A decision the Store refuses
as already done (``IncidentAlreadyOpen`` after a crash between apply and restore, an update of
an incident already resolved) is recorded without a notice, never posted twice.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import asdict, is_dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.clock import Clock, as_utc, utcnow
from bot.config import OFFICIAL_TARGET
from bot.errors import StoreError
from bot.monitor.model import SOURCES, Decision, Explanation, Outcome
from bot.monitor.monitor import Monitor
from bot.store import IncidentAlreadyOpen, IncidentNotOpen

log = logging.getLogger("bot.monitor")
REPLAY_LIMIT = 100_000  # error events replayed at start, at most (a bound on start-up time)


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


class MonitorService:
    """Feeds the Monitor and applies its decisions through the Store."""

    def __init__(self, store: Any, monitor: Monitor | None = None, now: Clock = utcnow, *,
                 default_target: str = OFFICIAL_TARGET) -> None:
        self.store = store
        self.monitor = monitor if monitor is not None else Monitor(now=now)
        self.now = now
        self.default_target = default_target
        self._pending: deque[Decision] = deque()

    # -- restart -------------------------------------------------------------------------

    def restore(self, *, history: bool = True) -> int:
        """Give the Monitor the incidents the Store has open (call once at start), and with
        ``history`` replay the recent probe results and error events the Store kept, so the
        windows and normal rates survive a restart. Returns how many incidents came back."""
        n = self.monitor.restore(self.store.open_incidents())
        if n:
            log.info("monitor: restored %d open incident(s) from the store", n)
        if history:
            replayed = self._replay_history()
            if replayed:
                log.info("monitor: replayed %d recent observation(s) from the store", replayed)
        return n

    def _replay_history(self) -> int:
        now = self.now()
        since = now - timedelta(seconds=self.monitor.horizon_s)
        outcomes: list[Outcome] = []
        probe_since = now - timedelta(seconds=self.monitor.policies.outage.window_s)
        for target in sorted({r.target for r in self.store.latest_probe_results()}):
            for r in self.store.recent_probe_results(target, probe_since):
                outcomes.append(Outcome(target=r.target, at=as_utc(r.at), ok=bool(r.ok),
                                        category=r.category, source="probe", kind=r.kind))
        for ev in self.store.error_events_since(since, limit=REPLAY_LIMIT):
            if ev.source == "probe" or ev.source not in SOURCES:
                continue
            outcomes.append(Outcome(target=ev.target or self.default_target, at=as_utc(ev.at),
                                    ok=False, category=ev.category, source=ev.source,
                                    channel_key=ev.channel_key))
        outcomes.sort(key=lambda o: o.at)
        return self.monitor.replay(outcomes)

    # -- producers -----------------------------------------------------------------------

    def feed_probe_results(self, results: Iterable[Any]) -> int:
        """Probe results (``bot.probes.ProbeResult`` or mappings); skipped probes say nothing."""
        n = 0
        for r in results:
            if _get(r, "skipped", False):
                continue
            target = _get(r, "target")
            if not target:
                continue
            self.monitor.observe(Outcome(
                target=str(target), at=as_utc(_get(r, "at") or self.now()),
                ok=bool(_get(r, "ok")), category=_get(r, "category"), source="probe",
                kind=_get(r, "kind"), failure=_get(r, "failure")))
            n += 1
        return n

    def feed_error_events(self, events: Iterable[Any]) -> int:
        """The team's errors (chat pastes, ingest API): mappings, ``NewErrorEvent`` or rows.

        An event without a target counts for ``default_target`` (the official API: the team
        calls it unless it said otherwise). Events with source 'probe' are skipped: probe
        outcomes arrive through ``feed_probe_results``, with their successes, and must not be
        counted twice.
        """
        n = 0
        for ev in events:
            if is_dataclass(ev) and not isinstance(ev, type):
                ev = asdict(ev)
            source = _get(ev, "source") or "ingest"
            if source == "probe" or source not in SOURCES:
                continue
            at = _get(ev, "at")
            self.monitor.observe(Outcome(
                target=str(_get(ev, "target") or self.default_target),
                at=as_utc(at) if isinstance(at, datetime) else self.now(), ok=False,
                category=_get(ev, "category"), source=source,
                channel_key=_get(ev, "channel_key")))
            n += 1
        return n

    def feed_status_changes(self, changes: Iterable[Any]) -> list[Decision]:
        """Status-page changes of one poll; their decisions are applied by the next
        ``evaluate_and_apply`` (the scheduler runs it right after the poll)."""
        decisions = self.monitor.official_batch(list(changes))
        self._pending.extend(decisions)
        return decisions

    def observe_page(self, snapshot: Any) -> None:
        """Every poll of the status page, readable or not (``ok``, ``failure``, ``fetched_at``):
        the own-connectivity rule needs to know whether the page answered at all."""
        if snapshot is None:
            return
        at = _get(snapshot, "fetched_at")
        self.monitor.observe_page(ok=bool(_get(snapshot, "ok", False)),
                                  failure=_get(snapshot, "failure"),
                                  at=as_utc(at) if isinstance(at, datetime) else self.now())

    def sync_status(self, snapshot: Any) -> list[Decision]:
        """After each poll: resolve official incidents a *readable* page no longer lists
        (one that ended while the bot was down is never in a diff). Unreadable polls
        (``ok`` false) say nothing and are ignored."""
        if snapshot is None or not _get(snapshot, "ok", False):
            return []
        decisions = self.monitor.official_sync(_get(snapshot, "incidents") or ())
        self._pending.extend(decisions)
        return decisions

    # -- the scheduler's job -------------------------------------------------------------

    def evaluate_and_apply(self) -> list[Decision]:
        """Evaluate, then apply queued and new decisions in order; returns the applied ones."""
        self._pending.extend(self.monitor.evaluate())
        applied: list[Decision] = []
        while self._pending:
            decision = self._pending[0]
            try:
                self._apply(decision)
            except IncidentNotOpen as exc:
                log.warning("monitor: %s %s not applied: %s", decision.action, decision.key, exc)
                self._pending.popleft()
                continue
            except ValueError as exc:  # a value the Store's tables refuse: a bug, not an outage
                log.error("monitor: %s %s refused by the store: %s", decision.action,
                          decision.key, exc)
                self._pending.popleft()
                continue
            except StoreError as exc:
                log.warning("monitor: store unavailable, %d decision(s) kept for the next run: "
                            "%s", len(self._pending), exc)
                break
            self._pending.popleft()
            applied.append(decision)
        return applied

    @property
    def pending(self) -> tuple[Decision, ...]:
        return tuple(self._pending)

    def explain(self, key: str | None = None) -> list[Explanation]:
        return self.monitor.explain(key)

    # -- applying ------------------------------------------------------------------------

    def _id_of(self, key: str | None) -> int | None:
        if not key:
            return None
        row = self.store.get_open_incident(key)
        return None if row is None else row.id

    def _apply(self, d: Decision) -> None:
        fields = [{"name": name, "value": value} for name, value in d.fields]
        links = [{"title": "Status page", "url": d.url}] if d.url else []
        if d.action in ("open", "flapping"):
            linked_id = self._id_of(d.linked_key)
            try:
                incident = self.store.open_incident(
                    d.key, d.kind, title=d.title, severity=d.severity, summary=d.summary,
                    target=d.target, reason=d.reason, linked_incident_id=linked_id,
                    official_update_at=d.official_update_at, fields=fields, links=links)
            except IncidentAlreadyOpen:
                existing = self.store.get_open_incident(d.key)
                if existing is None:
                    raise
                log.warning("monitor: %s already open in the store; recorded without a notice",
                            d.key)
                self.store.update_incident(existing.id, reason=d.reason, severity=d.severity,
                                           summary=d.summary, detail=d.summary, notify=False)
                return
            if linked_id is not None:
                # Link both ways, quietly: the other incident's thread already said its piece.
                self.store.update_incident(
                    linked_id, reason=d.reason if d.kind == "flapping" else (
                        "official update" if d.kind == "official" else "new evidence"),
                    linked_incident_id=incident.id, notify=False,
                    detail=f"linked to {d.key}: {d.title}")
        elif d.action == "update":
            incident_id = self._id_of(d.key)
            if incident_id is None:
                log.warning("monitor: update of %s, which is not open in the store; opening it",
                            d.key)
                self._apply(Decision(**{**_fields(d), "action": "open", "reason": "first notice"}))
                return
            self.store.update_incident(
                incident_id, reason=d.reason, severity=d.severity, title=d.title,
                summary=d.summary, detail=d.summary, official_update_at=d.official_update_at,
                fields=fields, links=links)
        elif d.action == "resolve":
            incident_id = self._id_of(d.key)
            if incident_id is None:
                log.warning("monitor: resolve of %s, which is not open in the store; skipped",
                            d.key)
                return
            self.store.resolve_incident(incident_id, detail=d.summary, reason=d.reason,
                                        fields=fields, links=links)


def _fields(d: Decision) -> dict[str, Any]:
    return {name: getattr(d, name) for name in d.__dataclass_fields__}


__all__ = ["MonitorService"]
