"""Live evidence: "is it me or them?"

Evidence = the official page's state for the components that matter, the latest probe result per
target, and the team's recent error mix. ``decide`` turns it into an overall state and a verdict
with a reason a person can read; ``apply_evidence`` folds the verdict into a Diagnosis (re-ranking
causes and naming a fallback target). Everything here is pure: callers gather the evidence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from bot import connectivity as conn
from bot.diagnosis.model import Cause, Diagnosis
from bot.probes.result import contract_dict

ERROR_WINDOW_S = 900
PROVIDER_INDICATORS = ("degraded_performance", "partial_outage", "major_outage", "under_maintenance")
PROVIDER_SIDE_CATEGORIES = frozenset({"server"})
ACCOUNT_CATEGORIES = frozenset({"auth", "permission", "quota", "risk_control", "rate_limit"})
REQUEST_CATEGORIES = frozenset({"bad_request", "content_policy", "not_found"})
# Causes that a provider-side verdict makes more likely, and that an account verdict makes less.
PROVIDER_CAUSE_IDS = frozenset({"temporary_server_issue", "server_overload", "provider_incident",
                                "upstream_outage", "gateway_upstream"})


@dataclass(frozen=True)
class ProbeView:
    target: str
    kind: str
    ok: bool
    http_status: int | None
    latency_ms: float | None
    category: str | None
    at: datetime
    # Not in the Contract-3 object (``to_dict`` leaves them out): why it failed, in one word
    # (bot.connectivity) and in words, for the own-connectivity rule and the text replies.
    failure: str | None = None
    detail: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return contract_dict(self)


@dataclass(frozen=True)
class PageView:
    """The latest poll of the status page as the own-connectivity rule reads it."""

    ok: bool
    failure: str | None = None


@dataclass(frozen=True)
class Evidence:
    indicator: str = "unknown"               # worst status of the components that matter
    components: tuple[dict[str, str], ...] = ()
    incidents: tuple[dict[str, Any], ...] = ()
    indicator_since: datetime | None = None
    probes: tuple[ProbeView, ...] = ()
    errors_total: int = 0
    errors_by_category: dict[str, int] = field(default_factory=dict)
    targets: dict[str, str] = field(default_factory=dict)  # name -> base URL
    official_target: str = "openai"
    page: PageView | None = None             # None: the page has not been polled yet
    # Probes that did not run and why: (target, kind, why), e.g. no API key configured.
    skipped: tuple[tuple[str, str, str], ...] = ()

    def connectivity(self) -> conn.Connectivity:
        """The own-connectivity rule (``bot.connectivity.assess``) on this evidence."""
        return conn.assess(self.probes, self.page)


@dataclass(frozen=True)
class Decision:
    overall: str   # ok | degraded | down | unknown
    verdict: str | None
    reason: str
    fallback: tuple[str, str] | None = None  # (target name, base URL) to switch to


@dataclass(frozen=True)
class StatusReport:
    evidence: Evidence
    decision: Decision

    def to_dict(self) -> dict[str, Any]:
        ev, dec = self.evidence, self.decision
        return {
            "overall": dec.overall,
            "reason": dec.reason,
            "verdict": dec.verdict,
            "official": {
                "indicator": ev.indicator,
                "components": [{"name": c["name"], "status": c["status"]} for c in ev.components],
                "incidents": [{k: i.get(k) for k in ("name", "status", "url", "updated_at", "latest_update")}
                              for i in ev.incidents],
            },
            "probes": [p.to_dict() for p in ev.probes],
            "errors": {"window_s": ERROR_WINDOW_S, "total": ev.errors_total,
                       "by_category": dict(ev.errors_by_category)},
        }


def _target_health(probes: Sequence[ProbeView]) -> dict[str, list[ProbeView]]:
    out: dict[str, list[ProbeView]] = {}
    for p in probes:
        out.setdefault(p.target, []).append(p)
    return out


def _failing(views: Sequence[ProbeView]) -> bool:
    return any(not p.ok for p in views)


def _since(ev: Evidence) -> str:
    return f" since {ev.indicator_since.strftime('%H:%M')} UTC" if ev.indicator_since else ""


def _component_phrase(ev: Evidence) -> str:
    bad = [c["name"] for c in ev.components if c.get("status") in PROVIDER_INDICATORS]
    return " / ".join(bad) if bad else "the API"


def _failure_phrase(views: Sequence[ProbeView]) -> str:
    """"HTTP 503, 500" or "timeouts / connection errors" for a reason line."""
    statuses = sorted({p.http_status for p in views if not p.ok and p.http_status})
    if statuses:
        classes = sorted({f"{s // 100}xx" for s in statuses})
        return f"{'/'.join(classes)} (HTTP {', '.join(map(str, statuses))})"
    return "timeouts / connection errors"


def decide(ev: Evidence) -> Decision:
    """Combine page, probes and team errors into (overall, verdict, reason, fallback); the
    reason names the healthy target to fail over to, when there is one.

    The own-connectivity rule comes first: when every target and the page failed at the
    network level the evidence fits "our network is down" as well as "the provider is down",
    so the answer is ``unknown`` with the rule's reason (what to check). When only some
    targets are unreachable at the network level (``partial``), never ``down``: degraded,
    with the rule's reason."""
    link = ev.connectivity()
    if link.state == conn.LOST:
        return Decision("unknown", "network", link.reason)
    decision = _decide(ev)
    if link.state == conn.PARTIAL:
        if decision.verdict == "network":  # the rule's reason says more precisely what
            decision = replace(decision, overall="degraded", reason=link.reason)
        elif decision.overall == "down":  # the page may speak for the provider; never "down"
            decision = replace(decision, overall="degraded",
                               reason=f"{decision.reason}; but {link.reason}")
    if decision.fallback is None:
        return decision
    name, url = decision.fallback
    return replace(decision, reason=f"{decision.reason}; fall back to {name} ({url}), "
                                    "which is healthy")


def _decide(ev: Evidence) -> Decision:
    by_target = _target_health(ev.probes)
    official = by_target.get(ev.official_target, [])
    official_fail = _failing(official)
    fail_cats = {p.category for p in official if not p.ok}
    gateways_ok = [name for name, views in by_target.items()
                   if name != ev.official_target and views and not _failing(views)]
    gateways_fail = [name for name, views in by_target.items()
                     if name != ev.official_target and _failing(views)]
    fallback = None
    if official_fail and gateways_ok:
        fallback = (gateways_ok[0], ev.targets.get(gateways_ok[0], ""))
    elif gateways_fail and official and not official_fail:
        fallback = (ev.official_target, ev.targets.get(ev.official_target, ""))

    page_bad = ev.indicator in PROVIDER_INDICATORS
    all_official_down = bool(official) and all(not p.ok for p in official)
    if page_bad:
        all_server = all_official_down and fail_cats <= PROVIDER_SIDE_CATEGORIES
        overall = "down" if ev.indicator == "major_outage" or all_server else "degraded"
        probe_note = ""
        if official_fail:
            probe_note = f"; your probes fail with {_failure_phrase(official)}"
        reason = (f"official page shows {ev.indicator.replace('_', ' ')} of {_component_phrase(ev)}"
                  f"{_since(ev)}{probe_note} → provider side, wait and retry")
        return Decision(overall, "provider", reason, fallback)
    if official_fail:
        if fail_cats & PROVIDER_SIDE_CATEGORIES:
            overall = "down" if all_official_down else "degraded"
            return Decision(overall, "provider",
                            f"your probes of {ev.official_target} fail with server errors while the "
                            f"official page shows {ev.indicator.replace('_', ' ')} → provider side, "
                            "wait and retry", fallback)
        if fail_cats and fail_cats <= {"network"}:
            everything_fails = all(_failing(v) for v in by_target.values())
            where = "every target" if everything_fails else ev.official_target
            return Decision("degraded", "network",
                            f"probes cannot reach {where} (timeouts / connection errors) → "
                            "network side: check your network, proxy, DNS and firewall", fallback)
        if fail_cats & ACCOUNT_CATEGORIES:
            return Decision("degraded", "account",
                            f"the API answers, but probes are rejected with "
                            f"{', '.join(sorted(c for c in fail_cats if c))} → account side: check "
                            "the key, billing and limits", fallback)
        return Decision("degraded", "unknown", "some probes fail for an unclear reason", fallback)
    if ev.indicator == "unknown" and not official:
        return Decision("unknown", "unknown" if ev.errors_total else None,
                        "no evidence yet: the status page could not be read and no probe has run",
                        fallback)
    if gateways_fail:
        return Decision("degraded", "provider",
                        f"gateway {', '.join(gateways_fail)} fails while {ev.official_target} is healthy",
                        fallback)
    healthy = "probes healthy" if official else "no probes yet"
    page = "page operational" if ev.indicator == "operational" else f"page {ev.indicator}"
    if ev.errors_total:
        top = max(ev.errors_by_category.items(), key=lambda kv: kv[1])[0] if ev.errors_by_category else "errors"
        return Decision("ok", _verdict_for_category(top),
                        f"{healthy}, {page}; only your requests fail ({ev.errors_total} errors in "
                        f"15 min, mostly {top}) → account or request side", fallback)
    return Decision("ok", None, f"{healthy}, {page}, no team errors in the last 15 minutes", fallback)


def _verdict_for_category(category: str | None) -> str:
    if category in ACCOUNT_CATEGORIES:
        return "account"
    if category in REQUEST_CATEGORIES:
        return "request"
    if category == "network":
        return "network"
    if category == "server":
        return "provider"
    return "unknown"


def _rerank(causes: Sequence[Cause], provider_side: bool) -> tuple[Cause, ...]:
    """Re-rank causes by the verdict.

    Provider side: the provider causes move to the top (a live incident is the most likely
    explanation of this error right now), the others keep their order below. Not provider side:
    provider causes are damped and sink.
    """
    provider = [c for c in causes if c.id in PROVIDER_CAUSE_IDS]
    other = [c for c in causes if c.id not in PROVIDER_CAUSE_IDS]
    if provider_side and provider:
        top_other = max((c.likelihood for c in other), default=0.0)
        floor = min(0.95, top_other * 0.7 + 0.1)
        provider = [replace(c, likelihood=max(0.01, min(0.95, max(c.likelihood * 1.8, floor))))
                    for c in provider]
        other = [replace(c, likelihood=max(0.01, c.likelihood * 0.6)) for c in other]
        return tuple(sorted(provider, key=lambda c: -c.likelihood)
                     + sorted(other, key=lambda c: -c.likelihood))
    if not provider_side:
        provider = [replace(c, likelihood=max(0.01, c.likelihood * 0.4)) for c in provider]
    return tuple(sorted(other + provider, key=lambda c: -c.likelihood))


def _health_phrase(ev: Evidence, decision: Decision) -> str:
    """What the live evidence says about the provider, in a few words."""
    official = [p for p in ev.probes if p.target == ev.official_target]
    if not official:
        probes = "no probe results yet"
    elif not _failing(official):
        probes = "probes healthy"
    elif decision.verdict == "network":
        probes = "probes cannot reach the API from here, but the API answered your request"
    else:
        probes = "some probes fail"
    page = ("page unreadable" if ev.indicator == "unknown"
            else f"page {ev.indicator.replace('_', ' ')}")
    return f"{probes}, {page}"


def apply_evidence(d: Diagnosis, ev: Evidence) -> Diagnosis:
    """Fill ``verdict`` for a pasted error and re-rank its causes by the live evidence."""
    decision = decide(ev)
    actions = list(d.actions)
    causes = tuple(d.causes)
    # A provider incident does not make a bad key, an empty balance or a missing permission
    # retryable: those keep their own verdict (and no "retry" step).
    if decision.verdict == "provider" and d.category not in ("auth", "quota", "permission"):
        verdict = "provider"
        reason = decision.reason
        causes = _rerank(causes, provider_side=True)
        if not any(c.id in PROVIDER_CAUSE_IDS for c in causes):
            causes = (Cause("provider_incident", "Provider-side incident", 0.8,
                            "Live evidence shows the provider degraded right now."),) + causes
        actions.insert(0, "The provider is degraded right now: wait for the incident to clear "
                          "(follow https://status.openai.com) and retry with backoff.")
    elif decision.verdict == "network" and d.category == "network":
        verdict, reason = "network", decision.reason
    elif decision.overall == "unknown":
        # lost connectivity is evidence about the bot, not about this error: say that
        verdict, reason = "unknown", (decision.reason if decision.verdict == "network" else
                                      "no live evidence yet (status page unread, no probes)")
    else:
        verdict = _verdict_for_category(d.category)
        if verdict == "provider":  # a 5xx while nothing else looks wrong: probably transient
            reason = (f"{decision.reason}; a server error while the provider looks healthy is "
                      "usually transient → retry with backoff")
        elif verdict == "network":
            reason = (f"{decision.reason}; the provider looks healthy, so the failure is between "
                      "you and the API → network side")
        else:
            reason = (f"{_health_phrase(ev, decision)}; only your requests fail with this error → "
                      "account/request side")
            causes = _rerank(causes, provider_side=False)
    if decision.fallback:
        name, url = decision.fallback
        actions.append(f"Fail over to `{name}` ({url}), which is healthy right now.")
    return replace(d, verdict=verdict, verdict_reason=reason, causes=causes, actions=tuple(actions))
