"""From observations to verdicts: sliding windows, rates, bursts, baselines. Pure functions.

``assess_outage`` looks at one target: the probes' failure rate over the window (probes see
successes too, so this is a true rate), whether every probe kind's latest result failed, and
the team's provider-side error burst (errors only, so a count against the target's own normal
rate). ``assess_surge`` looks at one category across the team. Neither keeps state.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from operator import attrgetter

from bot.monitor.model import BAD, HEALTHY, HOLD, Outcome, Verdict
from bot.monitor.policy import (
    OutagePolicy,
    Role,
    SurgePolicy,
    pick_severity,
    role_of,
)

OUTAGE_WORDS = {"warning": "elevated errors", "error": "degraded", "critical": "down"}
SURGE_WORDS = {"warning": "surge", "error": "severe surge", "critical": "severe surge"}


_AT = attrgetter("at")


def since(items: Sequence[Outcome], start: datetime) -> Sequence[Outcome]:
    """The tail of a time-sorted list after ``start``: a window is (now - window, now]."""
    return items[bisect_right(items, start, key=_AT):]


def count_between(items: Sequence[Outcome], start: datetime, end: datetime) -> int:
    """How many items have start < at <= end, in a time-sorted list."""
    return bisect_right(items, end, key=_AT) - bisect_right(items, start, key=_AT)


def _window(seconds: float) -> str:
    return f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"


def _top(counter: Counter[str]) -> str:
    return ", ".join(f"{cat} ×{n}" for cat, n in counter.most_common())


@dataclass(frozen=True)
class OutageSignal:
    """The numbers behind an outage verdict (kept for notices and tests)."""

    probe_n: int
    probe_bad: int
    probe_rate: float | None
    all_down: bool
    probe_categories: Counter[str]
    team_errors: int
    team_reporters: int
    team_expected: float
    team_categories: Counter[str]
    quiet_s: float | None


def normal_rate(items: Sequence[Outcome], start: datetime, window_s: float,
                baseline_s: float, watching_since: datetime) -> float:
    """Expected items per ``window_s``, from the ``baseline_s`` before ``start``.

    Only the time the monitor actually watched counts (after a cold start there is no normal
    yet: expected is 0 and the absolute minimums decide alone)."""
    base_start = max(start - timedelta(seconds=baseline_s), watching_since)
    if base_start >= start:
        return 0.0
    n = count_between(items, base_start, start)
    covered = max((start - base_start).total_seconds(), window_s)
    return n * window_s / covered


def outage_signal(probes: Sequence[Outcome], team: Sequence[Outcome], policy: OutagePolicy,
                  now: datetime, last_provider_error: datetime | None, quiet_from: datetime,
                  watching_since: datetime | None = None) -> OutageSignal:
    """``probes``: the target's probe results; ``team``: its provider-side errors from chat and
    ingest (both sorted by time)."""
    recent = since(probes, now - timedelta(seconds=policy.window_s))
    counted = [o for o in recent if o.ok or role_of(o.category) is not Role.IGNORED]
    failed = [o for o in counted
              if not o.ok and role_of(o.category) in (Role.PROVIDER, Role.STORM)]
    latest: dict[str, Outcome] = {}
    for o in counted:
        latest[o.kind or "probe"] = o
    all_down = bool(latest) and all(
        not o.ok and role_of(o.category) in (Role.PROVIDER, Role.STORM) for o in latest.values())

    burst_start = now - timedelta(seconds=policy.burst_window_s)
    burst = since(team, burst_start)
    expected = normal_rate(team, burst_start, policy.burst_window_s, policy.baseline_window_s,
                           watching_since or quiet_from)
    if last_provider_error is not None:
        quiet_from = max(last_provider_error, quiet_from)
    return OutageSignal(
        probe_n=len(counted), probe_bad=len(failed),
        probe_rate=(len(failed) / len(counted)) if len(counted) >= policy.min_samples else None,
        all_down=all_down, probe_categories=Counter(o.category or "unknown" for o in failed),
        team_errors=len(burst), team_reporters=len({o.reporter for o in burst}),
        team_expected=expected, team_categories=Counter(o.category or "unknown" for o in burst),
        quiet_s=(now - quiet_from).total_seconds())


def assess_outage(target: str, sig: OutageSignal, policy: OutagePolicy) -> Verdict:
    """Bad: probe failure rate >= open threshold over enough samples, or a team-error burst.
    Healthy: no burst, team errors back to normal, and either the probes are healthy or (no
    probes at all) nothing provider-side was seen for ``quiet_resolve_s``. Else hold."""
    rate = sig.probe_rate
    probes_bad = rate is not None and rate >= policy.error_rate_open
    burst = (sig.team_errors >= policy.burst_min_errors
             and sig.team_errors >= policy.baseline_factor * sig.team_expected
             and sig.team_reporters >= policy.burst_min_sources)
    team_ok = sig.team_errors <= max(policy.burst_resolve_errors, sig.team_expected)
    evidence = frozenset(name for name, present in
                         (("probes", probes_bad or (sig.all_down and rate is not None)),
                          ("team", burst)) if present)
    if probes_bad or burst:
        status = BAD
    elif team_ok and ((rate is not None and rate <= policy.error_rate_resolve)
                      or (sig.probe_n == 0 and (sig.quiet_s or 0) >= policy.quiet_resolve_s)):
        status = HEALTHY
    else:
        status = HOLD

    if sig.all_down and (probes_bad or burst):
        severity = policy.all_down_severity
    elif probes_bad:
        severity = pick_severity(policy.severity, rate or 0.0, policy.burst_severity)
    else:
        severity = policy.burst_severity

    parts: list[str] = []
    fields: list[tuple[str, str]] = []
    if sig.probe_n:
        probe_text = f"{sig.probe_bad} of {sig.probe_n} failed in the last {_window(policy.window_s)}"
        if sig.probe_bad:
            probe_text += f" ({_top(sig.probe_categories)})"
        if sig.all_down:
            probe_text += "; every probe failing now"
        parts.append(f"Probes: {probe_text}.")
    if sig.team_errors or burst:
        team_text = (f"{sig.team_errors} server/network errors in the last "
                     f"{_window(policy.burst_window_s)} from {sig.team_reporters} "
                     f"reporter{'s' if sig.team_reporters != 1 else ''}"
                     f" (normal ≈ {sig.team_expected:.1f})")
        parts.append(f"Team: {team_text}.")
    if evidence:  # the text says the numbers; the field says what kind of evidence it is
        fields.append(("Evidence", " + ".join({"probes": "probes", "team": "team errors"}[e]
                                             for e in sorted(evidence))))
    why = " ".join(parts) or "No recent evidence."
    return Verdict(status=status, severity=severity, why=why, evidence=evidence,
                   title=f"{target} API: {OUTAGE_WORDS.get(severity, severity)}",
                   summary=why, fields=tuple(fields))


@dataclass(frozen=True)
class SurgeSignal:
    count: int
    total: int
    share: float
    reporters: int
    expected: float
    targets: tuple[str, ...]


def surge_signals(by_category: Mapping[str, Sequence[Outcome]], everything: Sequence[Outcome],
                  policies: Mapping[str, SurgePolicy], now: datetime,
                  watching_since: datetime) -> dict[str, SurgeSignal]:
    """The numbers of every category with a surge policy. ``by_category``: the team's errors
    of each category (all sources); ``everything``: every outcome seen (the share's base)."""
    out: dict[str, SurgeSignal] = {}
    totals: dict[float, int] = {}
    for category, policy in policies.items():
        items = by_category.get(category, ())
        start = now - timedelta(seconds=policy.window_s)
        hits = since(items, start)
        if not hits:
            continue
        if policy.window_s not in totals:
            totals[policy.window_s] = len(since(everything, start))
        total = totals[policy.window_s]
        out[category] = SurgeSignal(
            count=len(hits), total=total, share=len(hits) / total if total else 0.0,
            reporters=len({o.reporter for o in hits}),
            expected=normal_rate(items, start, policy.window_s, policy.baseline_window_s,
                                 watching_since),
            targets=tuple(sorted({o.target for o in hits})))
    return out


def assess_surge(category: str, sig: SurgeSignal, policy: SurgePolicy) -> Verdict:
    """Bad: many of one kind, most of what was seen, from enough reporters, well above normal.
    Healthy: back to a handful (or normal), or no longer dominant. Else hold."""
    bad = (sig.count >= policy.min_errors and sig.share >= policy.min_share
           and sig.reporters >= policy.min_sources
           and sig.count >= policy.baseline_factor * sig.expected)
    if bad:
        status = BAD
    elif sig.count <= max(policy.resolve_max_errors, sig.expected) or sig.share <= policy.resolve_share:
        status = HEALTHY
    else:
        status = HOLD
    severity = pick_severity(policy.severity, sig.share, policy.default_severity)
    why = (f"{sig.count} {category} errors in the last {_window(policy.window_s)} "
           f"({sig.share:.0%} of {sig.total} outcomes seen) from {sig.reporters} "
           f"reporter{'s' if sig.reporters != 1 else ''} (normal ≈ {sig.expected:.1f})"
           + (f"; targets: {', '.join(sig.targets)}" if sig.targets else "") + ".")
    return Verdict(status=status, severity=severity, why=why,
                   evidence=frozenset({"team"}) if bad else frozenset(),
                   title=f"{category.replace('_', ' ')} errors: team-wide "
                         f"{SURGE_WORDS.get(severity, 'surge')}",
                   summary=why,
                   fields=(("Errors", f"{sig.count} in {_window(policy.window_s)}"),
                           ("Share", f"{sig.share:.0%}"), ("Reporters", str(sig.reporters))))


__all__ = ["OutageSignal", "SurgeSignal", "assess_outage", "assess_surge", "outage_signal",
           "surge_signals"]
