"""The Monitor: observations in, decisions out, every one with a reason. No I/O.

    monitor = Monitor(DEFAULT_POLICIES, now=clock)
    monitor.restore(store.open_incidents())      # after a restart: nothing reopens, nothing is lost
    monitor.observe(Outcome("openai", at, ok=False, category="server", source="probe"))
    monitor.observe_page(ok=True, failure=None, at=at)   # every status-page poll
    decisions = monitor.evaluate()               # every few seconds, from the scheduler
    decisions += monitor.official(change)        # a status-page change
    monitor.explain("outage:openai")             # why it did or did not post

Keys: ``outage:<target>``, ``surge:<category>``, ``official:<page incident id>`` and
``flapping:<subject>`` (subject = target, or ``surge:<category>``). One outage is one
incident: the page's incidents about a target it speaks for (``OfficialPolicy.link_targets``)
and a storm surge on a target whose outage is open live in ``outage:<target>``'s thread
(``bot.monitor.official`` keeps the page's side). Before anything opens or escalates on probe
evidence, the own-connectivity rule (``bot.connectivity.assess``) is applied. The hysteresis,
flapping and maintenance rules live in ``bot.monitor.lifecycle.decide``; the evidence rules in
``bot.monitor.signals``; the numbers in ``bot.monitor.policy``; docs/alerts.md says it in words.
"""

from __future__ import annotations

import dataclasses
import logging
from bisect import bisect_left, insort
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from operator import attrgetter
from typing import Any

from bot.clock import Clock, as_utc, utcnow
from bot.connectivity import FAILURE_WORDS, Connectivity, assess, is_network_level
from bot.monitor.lifecycle import FLAP, Intent, Track, decide, stable_s
from bot.monitor.model import (
    BAD,
    FIRST_NOTICE,
    FLAPPING,
    HOLD,
    NEW_EVIDENCE,
    OFFICIAL_UPDATE,
    RECOVERED,
    REMINDER,
    RESOLVED,
    SEVERITY_CHANGED,
    SUSTAINED,
    Decision,
    Explanation,
    Outcome,
    Verdict,
)
from bot.monitor.official import OfficialBook, PageIncident
from bot.monitor.policy import DEFAULT_POLICIES, SEVERITY_RANK, Policies, Role, role_of
from bot.monitor.signals import (
    SurgeSignal,
    assess_outage,
    assess_surge,
    outage_signal,
    since,
    surge_signals,
)
from bot.monitor.text import duration, subject_title

log = logging.getLogger("bot.monitor")

ALL_EVIDENCE = frozenset({"probes", "team"})
NOT_ACTED = "Not acted on"  # a verdict held by the own-connectivity rule
MAX_EXPLAINED_KEYS = 500  # official incident keys come and go; keep the log bounded
_at = attrgetter("at")


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
        self._last_notice: dict[str, datetime] = {}      # store key -> last notice posted
        self._recovered_at: dict[str, datetime] = {}     # probes healthy, page still lists
        self._surge_joined: dict[str, str] = {}          # surge key -> outage key it joined
        self._replayed_probes: set[str] = set()          # targets with no fresh probe yet
        self._titles: dict[str, str] = {}                # store key -> title last posted
        self._latest: dict[tuple[str, str], Outcome] = {}  # (target, kind) -> latest probe
        self._log: dict[str, deque[Explanation]] = {}
        self._log_size = log_size
        self._last_note: dict[str, str] = {}
        self._page: PagePoll | None = None
        self._last_connectivity: str | None = None
        self._lost = False                               # the latest evaluation's connectivity
        self.book = OfficialBook(policies.official, self._note_cb)
        o, surges = policies.outage, policies.surges.values()
        self._horizon = max([o.window_s, o.burst_window_s + o.baseline_window_s]
                            + [s.window_s + s.baseline_window_s for s in surges])

    # -- input ---------------------------------------------------------------------------

    def observe(self, outcome: Outcome, *, fresh: bool = True) -> bool:
        """Record one observation; False if it was dropped. Timestamps in the future (a
        client's skewed clock) count as now; ones older than every window are dropped."""
        now = self.now()
        if fresh and outcome.source == "probe":
            self._replayed_probes.discard(outcome.target)
        if outcome.at > now:
            outcome = dataclasses.replace(outcome, at=now)
        if (now - outcome.at).total_seconds() > self._horizon:
            return False
        if outcome.source == "probe":
            insort(self._probes.setdefault(outcome.target, []), outcome, key=_at)
            slot = (outcome.target, outcome.kind or "probe")
            if slot not in self._latest or self._latest[slot].at <= outcome.at:
                self._latest[slot] = outcome
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
        a noisy team's usual errors for a new one. Returns how many were kept.

        Stored probe results do not say *how* they failed, so replayed probes alone open
        nothing: a target's probe evidence counts once one fresh result has arrived (else a
        restart on a broken network would take its own old failures for an outage)."""
        n = 0
        for outcome in outcomes:
            if outcome.source == "probe":
                self._replayed_probes.add(outcome.target)
            if self.observe(outcome, fresh=False):
                self._watching_since = min(self._watching_since, outcome.at)
                n += 1
        return n

    @property
    def horizon_s(self) -> float:
        """How far back any window or normal rate looks."""
        return self._horizon

    # -- own connectivity ----------------------------------------------------------------

    def latest_probes(self) -> list[Outcome]:
        """The latest result of every (target, kind) seen within the horizon."""
        cutoff = self.now() - timedelta(seconds=self._horizon)
        return [o for _, o in sorted(self._latest.items()) if o.at >= cutoff]

    def connectivity(self) -> Connectivity:
        """``bot.connectivity.assess`` on the latest probe results and page poll."""
        return assess(self.latest_probes(), self._page)

    # -- evaluation ----------------------------------------------------------------------

    def evaluate(self) -> list[Decision]:
        """Run every key's verdict through the lifecycle; return what to post, in order."""
        now = self.now()
        self._trim(now)
        conn = self.connectivity()
        self._lost = conn.lost
        if conn.lost:
            # Evidence that fits "our network is broken" is no evidence: it must not count
            # after the network is back either (else the first healthy minute would open).
            for items in self._probes.values():
                items[:] = [o for o in items if not is_network_level(o)]
        if conn.state != self._last_connectivity:
            if self._last_connectivity is not None or conn.state != "ok":
                log.warning("connectivity %s: %s", conn.state, conn.reason)
            self._last_connectivity = conn.state
        decisions: list[Decision] = []
        targets = set(self._probes) | set(self._team) | self.book.targets() | {
            k.split(":", 1)[1] for k in self._tracks if k.startswith("outage:")}
        for target in sorted(targets):
            sig = outage_signal(self._probes.get(target, []), self._team.get(target, []),
                                self.policies.outage, now,
                                self._last_provider_error.get(target), self._started,
                                self._watching_since)
            verdict = self._with_connectivity(target, assess_outage(target, sig,
                                                                    self.policies.outage), conn)
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
            joined = self._joinable_outage(category, surge)
            decisions += self._step(key, "surge", None, key, verdict,
                                    self.policies.surges[category], now, join=joined)
        return decisions

    def _with_connectivity(self, target: str, verdict: Verdict, conn: Connectivity) -> Verdict:
        """LOST: the evidence fits "our network" as well as "their outage": hold (open nothing,
        resolve nothing, update nothing). PARTIAL for this target: "unreachable from the bot",
        never more than a warning."""
        if target in self._replayed_probes and "probes" in verdict.evidence:
            return dataclasses.replace(
                verdict, status=HOLD, evidence=verdict.evidence - {"probes"},
                why=f"Waiting for a fresh probe result after the restart. ({verdict.why})")
        if conn.lost:
            return dataclasses.replace(
                verdict, status=HOLD, evidence=frozenset(),
                why=f"{NOT_ACTED}: {conn.reason}. ({verdict.why})")
        failed = [o for o in since(self._probes.get(target, []),
                                   self.now() - timedelta(seconds=self.policies.outage.window_s))
                  if not o.ok]
        if target in conn.unreachable or (failed and all(is_network_level(o) for o in failed)):
            failures = sorted({o.failure or "" for o in failed} - {""})
            how = ", ".join(FAILURE_WORDS.get(f, f) for f in failures) or "network failure"
            why = (f"Unreachable from the bot at the network level ({how}) while other "
                   f"checks answer; the path may be ours (proxy, DNS, firewall). {verdict.why}")
            severity = "warning"
            return dataclasses.replace(verdict, severity=severity, why=why, summary=why,
                                       title=f"{target} API: unreachable from the bot")
        return verdict

    def _joinable_outage(self, category: str, surge: SurgeSignal) -> str | None:
        """A storm surge on a target whose outage is open joins that outage's thread."""
        key = f"surge:{category}"
        if key in self._surge_joined:
            return self._surge_joined[key]
        if role_of(category) is not Role.STORM:
            return None
        if self._tracks.get(key, Track()).posted:
            return None  # already its own incident
        for target in surge.targets:
            if self._tracks.get(f"outage:{target}", Track()).posted:
                return f"outage:{target}"
        return None

    def _external(self, key: str, target: str | None, track: Track, now: datetime) -> bool:
        """The page still lists an incident about this target (and the probes have not been
        healthy for ``quiet_resolve_s`` since they recovered while it did)."""
        if target is None or not self.book.listed(target):
            return False
        recovered = self._recovered_at.get(key)
        return not (recovered is not None and not track.active and
                    (now - recovered).total_seconds() >= self.policies.outage.quiet_resolve_s)

    def _step(self, key: str, kind: str, target: str | None, subject: str, verdict: Verdict,
              policy: Any, now: datetime, *, join: str | None = None) -> list[Decision]:
        track = self._tracks.get(key, Track())
        quiet = self.policies.in_maintenance(now, target) is not None
        external = self._external(key, target, track, now)
        step = decide(track, verdict, policy, now, quiet=quiet, external=external)
        new = step.track
        if new == Track():
            self._tracks.pop(key, None)
        else:
            self._tracks[key] = new
        out: list[Decision] = []
        note = step.note
        if join is not None:
            out, note = self._joined_surge(key, join, step.intents, verdict, now, note)
        else:
            out = [self._decision(key, kind, target, subject, intent, verdict, track, now)
                   for intent in step.intents]
        if (kind == "outage" and track.active and not new.active and new.posted
                and not new.flapping and external and not quiet):
            name = self.book.listed_names(target or "")
            out.append(self._update(key, kind, target, NEW_EVIDENCE, new.severity or "warning",
                                    self._title(key, verdict, target),
                                    f"Probes healthy again; the status page still reports "
                                    f"{name}. Resolved when the page resolves it or after "
                                    f"{duration(self.policies.outage.quiet_resolve_s)} of "
                                    "healthy probes.", now))
            self._recovered_at[key] = now
        if new.active or not new.posted:
            self._recovered_at.pop(key, None)
        out += self._reminder(key, kind, target, subject, new, verdict, now, quiet)
        for d in out:
            self._last_notice[d.key] = now
            self._titles[d.key] = d.title
        if not out and verdict.why.startswith(NOT_ACTED):
            note = f"{note}. {verdict.why.split(' (', 1)[0]}"   # say why, not the numbers
        self._note(key, verdict.status, f"{note}. {verdict.why}" if out else note, out, now)
        return out

    def _joined_surge(self, key: str, outage_key: str, intents: tuple[Intent, ...],
                      verdict: Verdict, now: datetime, note: str) -> tuple[list[Decision], str]:
        out: list[Decision] = []
        for intent in intents:
            if intent.action == "open":
                self._surge_joined[key] = outage_key
                otrack = self._tracks.get(outage_key, Track())
                target = outage_key.split(":", 1)[1]
                out.append(self._update(outage_key, "outage", target, NEW_EVIDENCE,
                                        otrack.severity or "warning",
                                        self._title(outage_key, None, target),
                                        f"Team: {verdict.why}", now))
                note += f"; joined {outage_key} (one outage, one incident)"
            elif intent.action == "resolve" and intent.subject != FLAP:
                self._surge_joined.pop(key, None)
                note += f"; over (it was told in {outage_key})"
        return out, note

    def _reminder(self, key: str, kind: str, target: str | None, subject: str, track: Track,
                  verdict: Verdict, now: datetime, quiet: bool) -> list[Decision]:
        interval = self.policies.reminder_interval_s
        if (not interval or quiet or key in self._surge_joined or verdict.status != BAD
                or (self._lost and kind == "outage")):
            return []  # only while it is failing, never on evidence that fits our network
        if track.flapping and track.escalated and track.active and not track.flap_main:
            store_key = f"flapping:{subject}"
        elif track.posted and track.active and (not track.flapping or track.flap_main):
            store_key = key
        else:
            return []
        last = self._last_notice.get(store_key) or self._opened_at.get(key)
        if last is None or (now - last).total_seconds() < interval:
            return []
        since = self._opened_at.get(key)
        lasted = duration((now - since).total_seconds()) if since else duration(interval)
        if store_key != key:
            return [Decision(action="update", key=store_key, kind="flapping", target=target,
                             severity=verdict.severity, reason=REMINDER,
                             title=self._title(key, verdict, target),
                             summary=f"Still failing after {lasted}; latest: {verdict.why}",
                             linked_key=key, at=now)]
        return [self._update(key, kind, target, REMINDER, track.severity or verdict.severity,
                             self._title(key, verdict, target),
                             f"Still failing after {lasted}; latest: {verdict.why}", now)]

    def _title(self, key: str, verdict: Verdict | None, target: str | None) -> str:
        """The incident's title for an update: the verdict's when it is failing, else the
        title last posted (a page-opened incident keeps the page's name)."""
        if verdict is not None and verdict.title and verdict.status == BAD:
            return verdict.title
        return self._titles.get(key) or f"{target} API: {_words(None)}"

    def _update(self, key: str, kind: str, target: str | None, reason: str, severity: str,
                title: str, summary: str, now: datetime) -> Decision:
        return Decision(action="update", key=key, kind=kind, target=target, severity=severity,
                        reason=reason, title=title, summary=summary, at=now)

    def _decision(self, key: str, kind: str, target: str | None, subject: str, intent: Intent,
                  verdict: Verdict, before: Track, now: datetime) -> Decision:
        if intent.subject == FLAP:
            return self._flap_decision(key, kind, target, subject, intent, verdict, before, now)
        title, summary, fields = verdict.title, verdict.summary, verdict.fields
        update_at: str | None = None
        if intent.action == "open":
            self._opened_at[key] = now
            page = self.book.listed_incidents(target) if target else []
            if page and verdict.status != BAD:   # opened for the page alone (a window ended)
                title = f"{target} API: {page[-1].name} (status page)"
                summary = "The status page reports: " + "; ".join(p.line() for p in page)
                fields = (("Evidence", "status page"),)
                update_at = page[-1].stamp
            elif page:
                summary += " The status page reports " + "; ".join(p.line() for p in page)
                update_at = page[-1].stamp
            if kind == "outage":
                summary += self._fallback(target)
        elif intent.action == "resolve":
            since = self._opened_at.pop(key, None)
            self._recovered_at.pop(key, None)
            lasted = f" after {duration((now - since).total_seconds())}" if since else ""
            title = subject_title(subject, "back to normal" if kind == "surge" else "recovered")
            summary = f"Back to normal{lasted}. " + self._what_recovered(target, before, verdict)
            fields = ()
        elif intent.reason == SEVERITY_CHANGED:
            summary = f"Now {intent.severity}: {verdict.why}"
            fields = ()
        else:
            summary = f"Also {', '.join(sorted(verdict.evidence - before.evidence)) or 'more'}" \
                      f" now: {verdict.why}"
            fields = ()
        return Decision(action=intent.action, key=key, kind=kind, target=target,
                        severity=intent.severity, reason=intent.reason, title=title,
                        summary=summary, at=now, fields=fields, official_update_at=update_at)

    def _fallback(self, target: str | None) -> str:
        """Contract 3's fallback: another target whose latest probes all answer."""
        healthy: dict[str, bool] = {}
        for o in self.latest_probes():
            if o.target != target:
                healthy[o.target] = healthy.get(o.target, True) and o.ok
        names = sorted(name for name, ok in healthy.items() if ok)
        if not names:
            return ""
        return f" Fallback: {', '.join(names)} answer{'s' if len(names) == 1 else ''} normally."

    def _what_recovered(self, target: str | None, before: Track, verdict: Verdict) -> str:
        parts: list[str] = []
        if before.evidence & ALL_EVIDENCE or before.active:
            parts.append("Probes and team errors are healthy again."
                         if "team" in before.evidence else "Probes are healthy again.")
        ended = self.book.pop_ended(target) if target else []
        for inc in ended:
            parts.append(inc.resolved_line())
        if not parts:
            parts.append(verdict.why)
        return " ".join(parts)

    def _flap_decision(self, key: str, kind: str, target: str | None, subject: str,
                       intent: Intent, verdict: Verdict, before: Track,
                       now: datetime) -> Decision:
        track = self._tracks.get(key, Track())
        main = track.flap_main or (before.flap_main and intent.action == "resolve")
        fkey = key if main else f"flapping:{subject}"
        fkind = kind if main else "flapping"
        window = duration(self._policy_for(key).flap_window_s)
        if intent.action == "flapping":
            n = len(track.changes)
            stable = duration(stable_s(track, self._policy_for(key)))
            return Decision(
                action="update" if main else "flapping", key=fkey, kind=fkind, target=target,
                severity="warning", reason=FLAPPING, title=subject_title(subject, "flapping"),
                summary=(f"{n} open/resolve changes in the last {window}: open and resolve "
                         f"notices are held until it keeps one state for {stable}; a failure "
                         "that holds longer than its bad spells is announced here."),
                linked_key=None if main else key, at=now,
                fields=(("Changes", f"{n} in {window}"),))
        if intent.reason == SUSTAINED:
            held = duration((now - track.bad_since).total_seconds()) if track.bad_since else ""
            longest = duration(max(before.spells, default=0.0))
            return Decision(
                action="update", key=fkey, kind=fkind, target=target, severity=intent.severity,
                reason=SUSTAINED, title=f"{verdict.title} (sustained, after flapping)",
                summary=(f"Failing for {held}, longer than the flapping's bad spells "
                         f"(up to {longest}): a sustained outage. {verdict.why}"),
                linked_key=None if main else key, at=now)
        if intent.reason == RECOVERED:
            spell = duration(track.spells[-1]) if track.spells else ""
            return Decision(
                action="update", key=fkey, kind=fkind, target=target, severity="warning",
                reason=RECOVERED, title=subject_title(subject, "flapping"),
                summary=(f"The sustained failure is over after {spell}; still watching: "
                         "it has been flapping."),
                linked_key=None if main else key, at=now)
        state = "failing" if track.active else "healthy"
        stable = duration(stable_s(before, self._policy_for(key)))
        return Decision(action="update" if main else "resolve", key=fkey, kind=fkind,
                        target=target, severity="warning",
                        reason=FLAPPING if main else RESOLVED,
                        title=subject_title(subject, f"stable again, {state}"),
                        summary=f"No longer flapping: no state change for {stable}; "
                                f"settled {state}.",
                        linked_key=None if main else key, at=now)

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

        An incident about a target the page speaks for joins ``outage:<target>``: it opens
        it when nothing is open ('first notice'), else posts the page's text in its thread
        ('official update'). Others keep ``official:<id>``. The indicator alone opens
        nothing; it sets the severity of what the page opened ('severity changed').
        """
        now = self.now()
        out: list[Decision] = []
        for event in self.book.apply(changes, now):
            out += self._page_event(event, now)
        return out

    def official_sync(self, listed: Iterable[Any]) -> list[Decision]:
        """After every *readable* poll: the incidents it lists. One the page stopped listing
        ends after ``resolve_after_polls`` such polls in a row (damping a flickering page);
        this also covers an incident that ended while this process was down."""
        now = self.now()
        out: list[Decision] = []
        for event in self.book.sync(listed, now):
            out += self._page_event(event, now)
        return out

    def _page_event(self, event: tuple[str, PageIncident], now: datetime) -> list[Decision]:
        what, inc = event
        if inc.target is None:
            return self._own_official(what, inc, now)
        key = f"outage:{inc.target}"
        target = inc.target
        track = self._tracks.get(key, Track())
        quiet = self.policies.in_maintenance(now, target) is not None
        out: list[Decision] = []
        if what in ("opened", "updated", "severity"):
            if not track.posted:
                if quiet:
                    self._tracks[key] = dataclasses.replace(track, held=True)
                    self._note(key, "official", f"page lists {inc.name!r}; held: maintenance",
                               [], now)
                    return []
                self._opened_at[key] = now
                self._tracks[key] = dataclasses.replace(
                    track, posted=True, severity=inc.severity,
                    evidence=track.evidence | {"official"}, held=False)
                out.append(Decision(
                    action="open", key=key, kind="outage", target=target,
                    severity=inc.severity, reason=FIRST_NOTICE,
                    title=f"{target} API: {inc.name} (status page)",
                    summary=f"The status page reports: {inc.line()}", at=now, url=inc.url,
                    official_update_at=inc.stamp, fields=(("Evidence", "status page"),)))
            elif quiet:
                self._note(key, "official", "official update held: maintenance", [], now)
                return []
            else:
                rank = SEVERITY_RANK[inc.severity]
                severity = track.severity or inc.severity
                if rank > SEVERITY_RANK.get(severity, 0):
                    severity = inc.severity
                self._tracks[key] = dataclasses.replace(
                    track, severity=severity, evidence=track.evidence | {"official"})
                if what == "severity":
                    if severity == track.severity:
                        return []
                    text = f"Now {severity}: the status page shows {self.book.indicator_text()}."
                    reason = SEVERITY_CHANGED
                else:
                    text = (inc.update_line() if what == "updated"
                            else f"The status page reports {inc.line()}")
                    reason = OFFICIAL_UPDATE
                out.append(Decision(
                    action="update", key=key, kind="outage", target=target, severity=severity,
                    reason=reason, title=self._title(key, None, target), summary=text, at=now,
                    url=inc.url if what == "opened" else None, official_update_at=inc.stamp))
        elif what == "ended":
            if not track.posted or quiet:
                inc.told = True
                self._note(key, "official", f"{inc.name!r} ended on the page", [], now)
                return []
            if track.active and not self.book.listed(target):
                inc.told = True
                out.append(Decision(
                    action="update", key=key, kind="outage", target=target,
                    severity=track.severity or "warning", reason=OFFICIAL_UPDATE,
                    title=self._title(key, None, target),
                    summary=f"{inc.resolved_line()} The probes still fail; this stays open "
                            "until they are healthy.", at=now, official_update_at=inc.stamp))
            # else: the next evaluation resolves it (and quotes the page's final update)
        for d in out:
            self._last_notice[d.key] = now
            self._titles[d.key] = d.title
        self._note(key, "official", f"page: {what} {inc.name!r}", out, now)
        return out

    def _own_official(self, what: str, inc: PageIncident, now: datetime) -> list[Decision]:
        key = f"official:{inc.id}"
        title = f"Official: {inc.name}"
        fields = tuple((n, v) for n, v in (("Status", inc.status or "unknown"),
                                           ("Page shows", self.book.indicator_text())) if v)
        if what == "opened":
            d = Decision(action="open", key=key, kind="official", target=None,
                         severity=inc.severity, reason=FIRST_NOTICE, title=title,
                         summary=inc.line(), at=now, fields=fields, url=inc.url,
                         official_update_at=inc.stamp)
            inc.posted = True
        elif what in ("updated", "severity"):
            if not inc.posted:
                return []
            reason = OFFICIAL_UPDATE if what == "updated" else SEVERITY_CHANGED
            summary = inc.line() if what == "updated" else \
                f"Now {inc.severity}: the status page shows {self.book.indicator_text()}."
            d = Decision(action="update", key=key, kind="official", target=None,
                         severity=inc.severity, reason=reason, title=title, summary=summary,
                         at=now, official_update_at=inc.stamp,
                         fields=(("Page shows", self.book.indicator_text()),)
                         if what == "severity" else ())
        else:
            if not inc.posted:
                self._note(key, "official", "resolved on the page, but never posted here", [],
                           now)
                return []
            inc.posted = False
            d = Decision(action="resolve", key=key, kind="official", target=None,
                         severity=inc.severity, reason=RESOLVED, title=title,
                         summary=inc.resolved_line(), at=now, official_update_at=inc.stamp)
        self._note(key, "official", f"page: {what}", [d], now)
        return [d]

    def _note_cb(self, key: str, note: str) -> None:
        self._note(key, "official", note, [], self.now())

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
                                          evidence=ALL_EVIDENCE | {"official"},
                                          flapping=old.flapping,
                                          last_change_at=old.last_change_at or opened,
                                          bad_since=opened)
                self._opened_at[key] = opened
                self._last_notice[key] = updated
                if prefix == "outage":
                    self.book.restore_joined(rest, getattr(row, "official_update_at", None))
            elif prefix == "flapping":
                main = rest if rest.startswith("surge:") else f"outage:{rest}"
                old = self._tracks.get(main, Track())
                self._tracks[main] = dataclasses.replace(old, flapping=True,
                                                         last_change_at=updated)
                self._last_notice[key] = updated
            elif prefix == "official":
                self.book.restore_own(rest, severity, getattr(row, "official_update_at", None),
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
        for key in self.book.own_open_keys():
            out[key] = "open"
        return dict(sorted(out.items()))


def _count_before(items: list[Outcome], cutoff: datetime) -> int:
    return bisect_left(items, cutoff, key=_at)


def _words(severity: str | None) -> str:
    from bot.monitor.signals import OUTAGE_WORDS

    return OUTAGE_WORDS.get(severity or "warning", "failing")




__all__ = ["Monitor", "PagePoll"]
