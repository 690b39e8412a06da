"""The Monitor: observations in, decisions out, every one with a reason. No I/O.

    monitor = Monitor(DEFAULT_POLICIES, now=clock)
    monitor.restore(store.open_incidents())      # after a restart: nothing reopens, nothing is lost
    monitor.observe(Outcome("openai", at, ok=False, category="server", source="probe"))
    decisions = monitor.evaluate()               # every few seconds, from the scheduler
    decisions += monitor.official(change)        # a status-page change
    monitor.explain("outage:openai")             # why it did or did not post

Keys: ``outage:<target>``, ``surge:<category>``, ``official:<page incident id>`` and
``flapping:<subject>`` (subject = target, or ``surge:<category>``). The hysteresis and flapping
rules live in ``bot.monitor.lifecycle.decide``; the evidence rules in ``bot.monitor.signals``;
the numbers in ``bot.monitor.policy``.
"""

from __future__ import annotations

import hashlib
import logging
from bisect import bisect_left, insort
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from operator import attrgetter
from typing import Any

from bot.clock import Clock, as_utc, utcnow
from bot.monitor.lifecycle import FLAP, Intent, Track, decide
from bot.monitor.model import (
    FIRST_NOTICE,
    OFFICIAL_UPDATE,
    RESOLVED,
    SEVERITY_CHANGED,
    Decision,
    Explanation,
    Outcome,
    Verdict,
)
from bot.monitor.policy import DEFAULT_POLICIES, SEVERITY_RANK, Policies, Role, role_of
from bot.monitor.signals import (
    SurgeSignal,
    assess_outage,
    assess_surge,
    outage_signal,
    surge_signals,
)

log = logging.getLogger("bot.monitor")

ALL_EVIDENCE = frozenset({"probes", "team"})
MAX_EXPLAINED_KEYS = 500  # official incident keys come and go; keep the log bounded
_CHANGE_KINDS: Mapping[str, str] = {
    "indicator": "indicator", "indicator_changed": "indicator", "status": "indicator",
    "incident_opened": "opened", "opened": "opened", "incident_new": "opened",
    "new_incident": "opened", "incident_started": "opened",
    "incident_updated": "updated", "updated": "updated", "incident_update": "updated",
    "incident_resolved": "resolved", "resolved": "resolved", "incident_closed": "resolved",
}


_at = attrgetter("at")


class _Official:
    """An official incident the monitor has posted."""

    __slots__ = ("key", "severity", "stamp", "impact", "opened_at", "title")

    def __init__(self, key: str, severity: str, stamp: str | None, impact: str | None,
                 opened_at: datetime, title: str) -> None:
        self.key, self.severity, self.stamp = key, severity, stamp
        self.impact, self.opened_at, self.title = impact, opened_at, title


@dataclass(frozen=True)
class PagePoll:
    """One poll of the status page as the own-connectivity rule reads it."""

    ok: bool
    failure: str | None
    at: datetime


class Monitor:
    """Spike detection with hysteresis and flapping, and the incident lifecycle decisions."""

    def __init__(self, policies: Policies = DEFAULT_POLICIES, *, now: Clock = utcnow,
                 log_size: int = 100) -> None:
        self.policies = policies
        self.now = now
        self._started = now()          # quiet timers start here (and again at restore)
        self._watching_since = self._started  # normal rates are measured from here on
        # Observations, indexed by what each signal reads (each list sorted by time):
        self._probes: dict[str, list[Outcome]] = {}      # target -> probe results
        self._team: dict[str, list[Outcome]] = {}        # target -> provider-side team errors
        self._by_category: dict[str, list[Outcome]] = {} # category -> every error of it
        self._all: list[Outcome] = []                    # everything (a surge share's base)
        self._last_provider_error: dict[str, datetime] = {}
        self._tracks: dict[str, Track] = {}
        self._opened_at: dict[str, datetime] = {}
        self._official: dict[str, _Official] = {}
        self._indicator: str | None = None
        self._log: dict[str, deque[Explanation]] = {}
        self._log_size = log_size
        self._last_note: dict[str, str] = {}
        self._page: PagePoll | None = None
        o, surges = policies.outage, policies.surges.values()
        self._horizon = max([o.window_s, o.burst_window_s + o.baseline_window_s]
                            + [s.window_s + s.baseline_window_s for s in surges])

    # -- input ---------------------------------------------------------------------------

    def observe(self, outcome: Outcome) -> bool:
        """Record one observation; False if it was dropped. Timestamps in the future (a
        client's skewed clock) count as now; ones older than every window are dropped."""
        now = self.now()
        if outcome.at > now:
            outcome = Outcome(outcome.target, now, outcome.ok, outcome.category, outcome.source,
                              outcome.channel_key, outcome.kind)
        if (now - outcome.at).total_seconds() > self._horizon:
            return False
        if outcome.source == "probe":
            insort(self._probes.setdefault(outcome.target, []), outcome, key=_at)
        elif role_of(outcome.category) is Role.PROVIDER:
            insort(self._team.setdefault(outcome.target, []), outcome, key=_at)
        if not outcome.ok:
            insort(self._by_category.setdefault(outcome.category or "unknown", []), outcome,
                   key=_at)
        insort(self._all, outcome, key=_at)
        # What keeps an outage from being "quiet": exactly what counts as outage evidence.
        counts = (Role.PROVIDER, Role.STORM) if outcome.source == "probe" else (Role.PROVIDER,)
        if not outcome.ok and role_of(outcome.category) in counts:
            last = self._last_provider_error.get(outcome.target)
            if last is None or outcome.at > last:
                self._last_provider_error[outcome.target] = outcome.at
        return True

    def observe_page(self, *, ok: bool, failure: str | None, at: datetime) -> None:
        """The latest poll of the status page (read or not, and why not)."""
        self._page = PagePoll(ok=ok, failure=None if ok else failure, at=as_utc(at))

    @property
    def page(self) -> PagePoll | None:
        return self._page

    def observe_many(self, outcomes: Iterable[Outcome]) -> None:
        for outcome in outcomes:
            self.observe(outcome)

    def replay(self, outcomes: Iterable[Outcome]) -> int:
        """Observations from before this process started (the store's recent history): they
        fill the windows and the normal rates, so a restart neither forgets a burst nor takes
        a noisy team's usual errors for a new one. Returns how many were kept."""
        n = 0
        for outcome in outcomes:
            if self.observe(outcome):
                self._watching_since = min(self._watching_since, outcome.at)
                n += 1
        return n

    @property
    def horizon_s(self) -> float:
        """How far back any window or normal rate looks."""
        return self._horizon

    # -- evaluation ----------------------------------------------------------------------

    def evaluate(self) -> list[Decision]:
        """Run every key's verdict through the lifecycle; return what to post, in order."""
        now = self.now()
        self._trim(now)
        decisions: list[Decision] = []
        targets = set(self._probes) | set(self._team) | {
            k.split(":", 1)[1] for k in self._tracks if k.startswith("outage:")}
        for target in sorted(targets):
            sig = outage_signal(self._probes.get(target, []), self._team.get(target, []),
                                self.policies.outage, now,
                                self._last_provider_error.get(target), self._started,
                                self._watching_since)
            verdict = assess_outage(target, sig, self.policies.outage)
            decisions += self._step(f"outage:{target}", "outage", target, target, verdict,
                                    self.policies.outage, now)
        signals = surge_signals(self._by_category, self._all, self.policies.surges, now,
                                self._watching_since)
        for category in self.policies.surges:
            key = f"surge:{category}"
            surge = signals.get(category)
            if surge is None:
                if key not in self._tracks:
                    continue
                surge = SurgeSignal(count=0, total=0, share=0.0, reporters=0, expected=0.0,
                                  targets=())
            verdict = assess_surge(category, surge, self.policies.surges[category])
            decisions += self._step(key, "surge", None, key, verdict,
                                    self.policies.surges[category], now)
        return decisions

    def _step(self, key: str, kind: str, target: str | None, subject: str, verdict: Verdict,
              policy: Any, now: datetime) -> list[Decision]:
        track = self._tracks.get(key, Track())
        step = decide(track, verdict, policy, now)
        if step.track == Track():
            self._tracks.pop(key, None)
        else:
            self._tracks[key] = step.track
        out = [self._decision(key, kind, target, subject, intent, verdict, now)
               for intent in step.intents]
        self._note(key, verdict.status, f"{step.note}. {verdict.why}" if step.intents
                   else step.note, out, now)
        return out

    def _decision(self, key: str, kind: str, target: str | None, subject: str, intent: Intent,
                  verdict: Verdict, now: datetime) -> Decision:
        if intent.subject == FLAP:
            return self._flap_decision(key, target, subject, intent, verdict, now)
        linked = None
        if intent.action == "open":
            self._opened_at[key] = now
            if kind == "outage" and target in self.policies.official.link_targets:
                linked = self._latest_official()
        title, summary = verdict.title, verdict.summary
        if intent.action == "resolve":
            since = self._opened_at.pop(key, None)
            lasted = f" after {_duration((now - since).total_seconds())}" if since else ""
            title = _subject_title(subject, "back to normal" if kind == "surge" else "recovered")
            summary = f"Back to normal{lasted}. {verdict.why}"
        elif intent.action == "update" and intent.reason == SEVERITY_CHANGED:
            summary = f"Now {intent.severity}. {verdict.why}"
        return Decision(action=intent.action, key=key, kind=kind, target=target,
                        severity=intent.severity, reason=intent.reason, title=title,
                        summary=summary, linked_key=linked, at=now, fields=verdict.fields)

    def _flap_decision(self, key: str, target: str | None, subject: str, intent: Intent,
                       verdict: Verdict, now: datetime) -> Decision:
        window = _duration(self._policy_for(key).flap_window_s)
        fkey = f"flapping:{subject}"
        if intent.action == "flapping":
            n = len(self._tracks.get(key, Track()).changes)
            return Decision(
                action="flapping", key=fkey, kind="flapping", target=target, severity="warning",
                reason=intent.reason, title=_subject_title(subject, "flapping"),
                summary=(f"{n} open/resolve changes in the last {window}. Further open and "
                         f"resolve notices are held until it has been stable for {window}. "
                         f"Latest: {verdict.why}"),
                linked_key=key, at=now, fields=(("Changes", f"{n} in {window}"),))
        state = "failing" if self._tracks.get(key, Track()).active else "healthy"
        return Decision(action="resolve", key=fkey, kind="flapping", target=target,
                        severity="warning", reason=RESOLVED,
                        title=_subject_title(subject, "stable again"),
                        summary=f"No state change for {window}; it is {state} now. {verdict.why}",
                        linked_key=key, at=now)

    def _policy_for(self, key: str) -> Any:
        if key.startswith("surge:"):
            return self.policies.surges[key.split(":", 1)[1]]
        return self.policies.outage

    def _trim(self, now: datetime) -> None:
        cutoff = now - timedelta(seconds=self._horizon)
        for index in (self._probes, self._team, self._by_category):
            for name in list(index):
                items = index[name]
                drop = _count_before(items, cutoff)
                if drop:
                    del items[:drop]
                if not items:
                    del index[name]
        drop = _count_before(self._all, cutoff)
        if drop:
            del self._all[:drop]

    # -- official status page ------------------------------------------------------------

    def official(self, change: Any) -> list[Decision]:
        """One status-page change (see ``official_batch``)."""
        return self.official_batch([change])

    def official_batch(self, changes: Iterable[Any]) -> list[Decision]:
        """Status-page changes from one poll → at most one decision per official incident.

        An incident opens when the page lists it (reason 'first notice'), updates when its
        update time or latest text changes ('official update'), resolves when the page says
        resolved. The indicator alone opens nothing; it sets the severity of open official
        incidents ('severity changed'). Changes of one poll are merged, so a poll that brings
        both a new update and a new indicator posts one notice, not two.
        """
        now = self.now()
        latest: dict[str, tuple[str, Mapping[str, Any]]] = {}
        order: list[str] = []
        for change in changes:
            kind = _CHANGE_KINDS.get(str(getattr(change, "kind", "")).lower())
            indicator = getattr(change, "indicator", None)
            if indicator is None and kind == "indicator":
                indicator = getattr(change, "new", None)  # bot.status_page.StatusChange
            if indicator and indicator != "unknown":
                self._indicator = str(indicator)
            if kind is None:
                self._note("official", "official",
                           f"ignored status change of unknown kind {getattr(change, 'kind', None)!r}",
                           [], now)
                continue
            incident = getattr(change, "incident", None)
            if kind == "indicator" or not incident:
                continue
            inc_id = incident.get("id") or incident.get("name")
            if not inc_id:
                continue
            key = f"official:{inc_id}"
            if key not in latest:
                order.append(key)
            previous = latest.get(key, (kind, incident))[0]
            # 'opened' then 'updated' in one poll is still an open; 'resolved' wins.
            merged = "resolved" if kind == "resolved" else \
                ("opened" if previous == "opened" else kind)
            latest[key] = (merged, incident)

        decisions: list[Decision] = []
        for key in order:
            decisions += self._official_change(key, *latest[key], now)
        touched = set(order)
        for key, state in list(self._official.items()):
            if key in touched:
                continue
            severity = self._official_severity(state.impact)
            if severity != state.severity:
                state.severity = severity
                d = Decision(action="update", key=key, kind="official", target=None,
                             severity=severity, reason=SEVERITY_CHANGED, title=state.title,
                             summary=f"The status page now shows {self._indicator_text()}.",
                             at=now, fields=(("Status page", self._indicator_text()),))
                decisions.append(d)
                self._note(key, "official", "page indicator changed", [d], now)
        return decisions

    def official_sync(self, listed: Iterable[Mapping[str, Any]]) -> list[Decision]:
        """Resolve posted official incidents the page no longer lists.

        Call with the open incidents of a *readable* snapshot (never of an unreadable page). It
        covers what a diff cannot: an incident that ended while this process was down, after
        ``restore`` brought it back as open.
        """
        now = self.now()
        ids = {f"official:{i.get('id') or i.get('name')}" for i in listed}
        out: list[Decision] = []
        for key, posted in list(self._official.items()):
            if key in ids:
                continue
            del self._official[key]
            d = Decision(action="resolve", key=key, kind="official", target=None,
                         severity=posted.severity, reason=RESOLVED, title=posted.title,
                         summary="The status page no longer lists this incident.", at=now)
            self._note(key, "official", "no longer listed on the status page", [d], now)
            out.append(d)
        return out

    def _official_change(self, key: str, kind: str, incident: Mapping[str, Any],
                         now: datetime) -> list[Decision]:
        status = str(incident.get("status") or "").lower()
        name = str(incident.get("name") or key.split(":", 1)[1])
        url = incident.get("url")
        latest_update = incident.get("latest_update")
        if isinstance(latest_update, Mapping):
            latest_update = latest_update.get("body") or latest_update.get("message_string")
        stamp = _stamp(incident)
        impact = incident.get("impact") or incident.get("current_worst_impact")
        severity = self._official_severity(impact)
        fields = tuple((n, str(v)) for n, v in (("Status", status or "unknown"),
                                                 ("Status page", self._indicator_text())) if v)
        summary = " ".join(p for p in (f"{status.capitalize() or 'Open'}:",
                                       str(latest_update or name)) if p)
        posted = self._official.get(key)
        resolved = kind == "resolved" or status in self.policies.official.resolved_statuses
        if resolved:
            if posted is None:
                self._note(key, "official", "resolved on the page, but never posted here", [], now)
                return []
            del self._official[key]
            d = Decision(action="resolve", key=key, kind="official", target=None,
                         severity=posted.severity, reason=RESOLVED, title=f"Official: {name}",
                         summary=summary, at=now, fields=fields, url=url,
                         official_update_at=stamp)
            self._note(key, "official", "resolved on the status page", [d], now)
            return [d]
        if posted is None:
            linked = self._linked_outage()
            self._official[key] = _Official(key, severity, stamp, impact, now,
                                            f"Official: {name}")
            d = Decision(action="open", key=key, kind="official", target=None, severity=severity,
                         reason=FIRST_NOTICE, title=f"Official: {name}", summary=summary,
                         linked_key=linked, at=now, fields=fields, url=url,
                         official_update_at=stamp)
            self._note(key, "official", "listed on the status page"
                       + (f"; overlaps {linked}" if linked else ""), [d], now)
            return [d]
        posted.impact = impact or posted.impact
        severity = self._official_severity(posted.impact)
        if stamp == posted.stamp and severity == posted.severity:
            self._note(key, "official", "no new official update (already posted)", [], now)
            return []
        reason = OFFICIAL_UPDATE if stamp != posted.stamp else SEVERITY_CHANGED
        posted.stamp, posted.severity = stamp, severity
        d = Decision(action="update", key=key, kind="official", target=None, severity=severity,
                     reason=reason, title=f"Official: {name}", summary=summary, at=now,
                     fields=fields, url=url, official_update_at=stamp)
        self._note(key, "official", "new official update" if reason == OFFICIAL_UPDATE
                   else "page indicator changed", [d], now)
        return [d]

    def _official_severity(self, impact: Any) -> str:
        pol = self.policies.official
        candidates = [pol.default_severity]
        if self._indicator:
            candidates.append(pol.indicator_severity.get(self._indicator, pol.default_severity))
        if impact:
            candidates.append(pol.impact_severity.get(str(impact).lower(), pol.default_severity))
        return max(candidates, key=lambda s: SEVERITY_RANK[s])

    def _indicator_text(self) -> str:
        return (self._indicator or "unknown").replace("_", " ")

    def _linked_outage(self) -> str | None:
        """The open (posted) outage of a target the official page speaks for, if any."""
        for target in sorted(self.policies.official.link_targets):
            track = self._tracks.get(f"outage:{target}")
            if track is not None and track.posted:
                return f"outage:{target}"
        return None

    def _latest_official(self) -> str | None:
        if not self._official:
            return None
        return max(self._official.values(), key=lambda o: o.opened_at).key

    # -- restart -------------------------------------------------------------------------

    def restore(self, open_incidents: Iterable[Any]) -> int:
        """Take back the incidents the store says are open (rows with ``key``, ``severity``,
        ``opened_at``, ``updated_at``, ``official_update_at``), so a restarted process neither
        reopens them nor forgets to resolve them. Returns how many were taken back.

        Evidence is not persisted: a restored incident counts as having told everything, so a
        restart never posts 'new evidence' or a lower severity; it resolves after
        ``resolve_after`` healthy evaluations on fresh observations, like any open incident.
        """
        now = self.now()
        self._started = now
        n = 0
        for row in open_incidents:
            key = str(row.key)
            severity = getattr(row, "severity", None) or "warning"
            opened = as_utc(getattr(row, "opened_at", None) or now)
            updated = as_utc(getattr(row, "updated_at", None) or opened)
            prefix, _, rest = key.partition(":")
            if prefix in ("outage", "surge"):
                if prefix == "surge" and rest not in self.policies.surges:
                    log.warning("restore: %s has no surge policy any more; left as is", key)
                    continue
                old = self._tracks.get(key, Track())
                self._tracks[key] = Track(active=True, posted=True, severity=severity,
                                          evidence=ALL_EVIDENCE, flapping=old.flapping,
                                          last_change_at=old.last_change_at or opened)
                self._opened_at[key] = opened
            elif prefix == "flapping":
                main = rest if rest.startswith("surge:") else f"outage:{rest}"
                old = self._tracks.get(main, Track())
                self._tracks[main] = Track(active=old.active, posted=old.posted,
                                           severity=old.severity, evidence=old.evidence,
                                           flapping=True, last_change_at=updated)
            elif prefix == "official":
                self._official[key] = _Official(
                    key, severity, getattr(row, "official_update_at", None), None, opened,
                    getattr(row, "title", None) or f"Official: {rest}")
            else:
                log.warning("restore: unknown incident key %r ignored", key)
                continue
            self._note(key, "restored", f"restored open incident from the store ({severity})",
                       [], now)
            n += 1
        return n

    # -- why -----------------------------------------------------------------------------

    def _note(self, key: str, status: str, note: str, decisions: list[Decision],
              at: datetime) -> None:
        """Keep the reasoning; repeated identical notes (a steady state) are kept once."""
        if not decisions and self._last_note.get(key) == f"{status}|{note}":
            return
        self._last_note[key] = f"{status}|{note}"
        if key not in self._log and len(self._log) >= MAX_EXPLAINED_KEYS:
            stalest = min(self._log, key=lambda k: self._log[k][-1].at if self._log[k] else at)
            del self._log[stalest]
            self._last_note.pop(stalest, None)
        entry = Explanation(at=at, key=key, status=status, note=note,
                            decisions=tuple(f"{d.action} {d.key} ({d.reason})" for d in decisions))
        self._log.setdefault(key, deque(maxlen=self._log_size)).append(entry)
        if decisions:
            for d in decisions:
                log.info("%s %s [%s] reason=%s: %s", d.action, d.key, d.severity, d.reason,
                         d.title)
        else:
            log.debug("%s", entry)

    def explain(self, key: str | None = None) -> list[Explanation]:
        """Why the bot did or did not post: the reasoning log of one key, or the latest line of
        every key when ``key`` is None."""
        if key is not None:
            return list(self._log.get(key, ()))
        return sorted((entries[-1] for entries in self._log.values() if entries),
                      key=lambda e: (e.at, e.key))

    def state(self) -> dict[str, str]:
        """Each tracked key's state in one word (for /healthz, tests, debugging)."""
        out: dict[str, str] = {}
        for key, t in self._tracks.items():
            word = "flapping" if t.flapping else ("open" if t.posted else
                                                  "failing" if t.active else "watching")
            out[key] = word
        for key in self._official:
            out[key] = "open"
        return dict(sorted(out.items()))


def _count_before(items: list[Outcome], cutoff: datetime) -> int:
    return bisect_left(items, cutoff, key=_at)


def _stamp(incident: Mapping[str, Any]) -> str | None:
    """What makes an official update new: the page's update time plus a short hash of its
    latest text (fits the store's 64-character ``official_update_at``)."""
    when = next((str(incident[n]) for n in ("updated_at", "last_update_at", "published_at")
                 if incident.get(n)), "")
    latest = incident.get("latest_update")
    digest = hashlib.sha1(str(latest).encode()).hexdigest()[:12] if latest else ""
    stamp = f"{when[:40]}#{digest}" if digest else when[:40]
    return stamp or None


def _subject_title(subject: str, words: str) -> str:
    """'openai API: recovered', 'risk control errors: back to normal'."""
    if subject.startswith("surge:"):
        return f"{subject.split(':', 1)[1].replace('_', ' ')} errors: {words}"
    return f"{subject} API: {words}"


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


__all__ = ["Monitor"]
