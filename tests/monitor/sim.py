"""A scheduler on a virtual clock driving MonitorService over a real Store (SQLite).

It does what bot/app.py's jobs do, in virtual time: a probe round every ``probe_every``
seconds (evaluate after it), fast confirmation of a failing target (``confirm_probes``
re-probes ``confirm_interval_s`` apart, evaluate after each), a status-page poll every
``poll_every`` seconds (observe_page, the diff against the last readable snapshot, sync, then
evaluate) and the periodic evaluation. The world is two functions of the elapsed seconds: what
each (target, kind) answers, and what the page says. What a subscribed channel would receive is
read back from the outbox.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.clock import FakeClock
from bot.monitor import Monitor, Policies
from bot.monitor.service import MonitorService
from bot.probes.result import ProbeResult
from bot.status_page.model import StatusSnapshot, diff_snapshots
from bot.store import Store

KINDS = ("reachability", "auth", "videos")
# What a probe sees: (ok, http_status, category, failure)
ANSWERS: dict[str, tuple[bool, int | None, str | None, str | None]] = {
    "ok": (True, 200, None, None),
    "503": (False, 503, "server", "http"),
    "dns": (False, None, "network", "dns"),
    "refused": (False, None, "network", "refused"),
    "timeout": (False, None, "network", "timeout"),
}
Api = Callable[[float, str], str]                  # (t, target) -> an ANSWERS key
Page = Callable[[float], tuple[str, list[dict]]]   # t -> ('ok'|'dns'|'garbage', incidents)


def calm_page(t: float) -> tuple[str, list[dict]]:
    return ("ok", [])


@dataclass
class Notice:
    notice: str
    key: str
    reason: str
    title: str
    severity: str
    text: str
    at_s: float                                    # seconds since the start of the run

    def row(self) -> tuple[str, str, str, str]:
        return (self.notice, self.key, self.reason, self.title)


@dataclass
class Sim:
    store: Store
    clock: FakeClock
    policies: Policies
    targets: Sequence[str] = ("openai",)
    probe_every: float = 60.0
    poll_every: float = 60.0
    confirm: bool = True
    channel: str = "C-all"
    start: datetime = field(init=False)

    def __post_init__(self) -> None:
        self.start = self.clock()
        self.svc = MonitorService(self.store, Monitor(self.policies, now=self.clock),
                                  now=self.clock)
        self.svc.restore()
        self._last_readable: StatusSnapshot | None = None
        self.t = 0.0

    def _at(self, t: float) -> None:
        self.clock.t = self.start + timedelta(seconds=t)

    def _probe(self, api: Api, target: str, t: float) -> bool:
        answer = api(t, target)
        ok, status, category, failure = ANSWERS[answer]
        self.svc.feed_probe_results([
            ProbeResult(target=target, kind=kind, ok=ok, http_status=status, latency_ms=50.0,
                        category=category, error_code=None, request_id=None, detail="",
                        at=self.clock(), failure=failure)
            for kind in KINDS])
        return ok

    def _poll(self, page: Page, t: float) -> None:
        state, incidents = page(t)
        if state == "ok":
            snap = StatusSnapshot(
                indicator="partial_outage" if incidents else "operational", components=[],
                incidents=incidents, fetched_at=self.clock(), format="incidentio", ok=True)
        else:
            snap = StatusSnapshot(indicator="unknown", components=[], incidents=[],
                                  fetched_at=self.clock(), format=None, ok=False,
                                  error=state, failure="dns" if state == "dns" else "protocol")
        self.svc.observe_page(snap)
        if snap.ok:
            changes = diff_snapshots(self._last_readable, snap)
            if changes:
                self.svc.feed_status_changes(changes)
            self.svc.sync_status(snap)
            self._last_readable = snap

    def run(self, seconds: float, api: Api, page: Page = calm_page) -> None:
        """Advance ``seconds`` of virtual time, doing each job when it is due."""
        end = self.t + seconds
        p = self.policies
        next_probe, next_poll, next_eval = self.t, self.t, self.t
        confirmations: list[tuple[float, str]] = []
        while True:
            t = min([next_probe, next_poll, next_eval] + [c[0] for c in confirmations])
            if t >= end:
                break
            self._at(t)
            if t == next_probe:
                for target in self.targets:
                    if not self._probe(api, target, t) and self.confirm:
                        confirmations += [(t + p.confirm_interval_s * (i + 1), target)
                                          for i in range(p.confirm_probes)]
                self.svc.evaluate_and_apply()
                next_probe = t + self.probe_every
            for due, target in [c for c in confirmations if c[0] == t]:
                confirmations.remove((due, target))
                self._probe(api, target, t)
                self.svc.evaluate_and_apply()
            if t == next_poll:
                self._poll(page, t)
                self.svc.evaluate_and_apply()
                next_poll = t + self.poll_every
            if t == next_eval:
                self.svc.evaluate_and_apply()
                next_eval = t + p.evaluate_interval_s
        self.t = end
        self._at(end)

    def notices(self) -> list[Notice]:
        out = []
        for r in self.store.outbox_rows():
            if r.channel != self.channel:
                continue
            at = datetime.fromisoformat(str(r.payload["at"]))
            out.append(Notice(r.notice_kind, str(r.payload["key"]), str(r.payload["reason"]),
                              str(r.payload["title"]), str(r.payload["severity"]),
                              str(r.payload.get("text") or ""),
                              (at - self.start).total_seconds()))
        return out

    def rows(self) -> list[tuple[str, str, str, str]]:
        return [n.row() for n in self.notices()]


def periodic(period_s: float, bad_s: float, *, offset_s: float = 0.0, until_s: float | None = None,
             bad: str = "503") -> Api:
    """Failing for ``bad_s`` at the start of every ``period_s`` (after ``offset_s``)."""
    def api(t: float, target: str) -> str:
        if t < offset_s or (until_s is not None and t >= until_s):
            return "ok"
        return bad if (t - offset_s) % period_s < bad_s else "ok"
    return api


def spans(*bad: tuple[float, float], answer: str = "503",
          target: str | None = None) -> Api:
    """Failing inside each [start, end) span (for ``target`` only, when given)."""
    def api(t: float, name: str) -> str:
        if target is not None and name != target:
            return "ok"
        return answer if any(a <= t < b for a, b in bad) else "ok"
    return api


__all__ = ["ANSWERS", "KINDS", "Notice", "Sim", "calm_page", "periodic", "spans"]
