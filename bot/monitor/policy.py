"""Alert policies as data: what counts as an outage, a surge, a flapping target, and how loud.

Everything the monitor decides with is a number in a frozen dataclass here, checked when it is
built, so a typo (a resolve rate above the open rate, an unknown category, a severity that does
not exist) fails at boot with one line and never during an incident.

The categories are split by who can fix the error (``CATEGORY_ROLES``):

* ``provider`` (server, network): the API or the path to it is failing. Probe failures count
  toward a target's failure rate; the team's errors count as a *burst* (see below).
* ``storm`` (risk_control, rate_limit): one of them is the user's business, but the whole team
  hit at once is the provider's. A probe rejected this way counts toward the outage rate (the
  bot's probes are tiny and rare, so a rejection is the provider's doing). In the team's stream
  they open a ``surge:<category>`` incident instead of an outage: "the API is up but rejecting
  everyone as risk_control" is named by what is happening, and one notice is sent, not two.
* ``user`` (bad_request, content_policy, auth, quota, not_found, permission): never an outage;
  only a sudden team-wide surge of one kind opens ``surge:<category>``.
* ``ignored`` (unknown): says nothing either way.

Why bursts and not rates for the team's errors: the ingest API and chat pastes report errors
only; the successes the team had are never seen, so there is no denominator. A burst is "at least
``burst_min_errors`` provider-side errors in ``burst_window_s``, and ``baseline_factor`` times
more than this target's normal rate over ``baseline_window_s``" (a team that always sees a few
5xx does not page itself). Rates come from probes, which see successes and failures alike.

Hysteresis: a key opens after ``open_after`` consecutive bad evaluations and resolves after
``resolve_after`` consecutive healthy ones, and the open and resolve thresholds differ (a band in
which an open incident stays open and a closed one stays closed). The windows do the time
smoothing; the streaks guard against a single odd evaluation. Counts are in evaluations, which
the scheduler runs every ``Policies.evaluate_interval_s`` (and after each probe round).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from types import MappingProxyType
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.config import OFFICIAL_TARGET
from bot.diagnosis.model import CATEGORIES
from bot.errors import ConfigError

SEVERITIES: tuple[str, ...] = ("warning", "error", "critical")
SEVERITY_RANK: Mapping[str, int] = MappingProxyType({s: i for i, s in enumerate(SEVERITIES)})


class Role(str, Enum):
    PROVIDER = "provider"
    STORM = "storm"
    USER = "user"
    IGNORED = "ignored"


CATEGORY_ROLES: Mapping[str, Role] = MappingProxyType({
    "server": Role.PROVIDER,
    "network": Role.PROVIDER,
    "risk_control": Role.STORM,
    "rate_limit": Role.STORM,
    "bad_request": Role.USER,
    "content_policy": Role.USER,
    "auth": Role.USER,
    "quota": Role.USER,
    "not_found": Role.USER,
    "permission": Role.USER,
    "unknown": Role.IGNORED,
})
if set(CATEGORY_ROLES) != set(CATEGORIES):  # pragma: no cover - guards an edit of either table
    raise ConfigError("monitor policy: CATEGORY_ROLES must name every diagnosis category")


def role_of(category: str | None) -> Role:
    """The role of a category; an unknown or missing category says nothing."""
    return CATEGORY_ROLES.get(category or "unknown", Role.IGNORED)


def _fail(owner: str, name: str, problem: str, value: object) -> None:
    raise ConfigError(f"monitor policy: {owner}.{name} {problem}, got {value!r}")


def _positive(owner: str, obj: object, *names: str) -> None:
    for name in names:
        value = getattr(obj, name)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
            _fail(owner, name, "must be a positive number", value)


def _count(owner: str, obj: object, *names: str, minimum: int = 1) -> None:
    for name in names:
        value = getattr(obj, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            _fail(owner, name, f"must be an integer >= {minimum}", value)


def _fraction(owner: str, obj: object, *names: str) -> None:
    for name in names:
        value = getattr(obj, name)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value <= 1:
            _fail(owner, name, "must be between 0 and 1", value)


def _severity(owner: str, name: str, value: str) -> None:
    if value not in SEVERITY_RANK:
        _fail(owner, name, f"must be one of {', '.join(SEVERITIES)}", value)


@dataclass(frozen=True)
class SeverityRule:
    """``severity`` applies when the metric (failure rate, category share) is >= ``at_least``."""

    severity: str
    at_least: float

    def __post_init__(self) -> None:
        _severity("SeverityRule", "severity", self.severity)
        _fraction("SeverityRule", self, "at_least")


def _check_rules(owner: str, rules: tuple[SeverityRule, ...]) -> None:
    if not isinstance(rules, tuple) or not all(isinstance(r, SeverityRule) for r in rules):
        _fail(owner, "severity", "must be a tuple of SeverityRule", rules)
    thresholds = [r.at_least for r in rules]
    if thresholds != sorted(thresholds, reverse=True):
        _fail(owner, "severity", "rules must be ordered from the highest threshold down",
              thresholds)


def pick_severity(rules: tuple[SeverityRule, ...], metric: float, default: str) -> str:
    """First rule whose threshold the metric reaches (rules are ordered high to low)."""
    for rule in rules:
        if metric >= rule.at_least:
            return rule.severity
    return default


def _check_lifecycle(owner: str, obj: object) -> None:
    _count(owner, obj, "open_after", "resolve_after", "sustain_after")
    _count(owner, obj, "flap_max_changes", minimum=2)
    _positive(owner, obj, "flap_window_s", "flap_stable_s")


@dataclass(frozen=True)
class OutagePolicy:
    """When a target (the official API or a gateway) is failing for reasons not the team's.

    Defaults are tuned for PROBE_INTERVAL=60 s with three probe kinds (reachability, auth,
    videos): the 180 s window holds three probe rounds, so two failed rounds out of three open,
    a single failed round (a blip) does not. ``Policies.for_probe_interval`` rescales.
    """

    window_s: float = 180.0              # probe failure rate window
    min_samples: int = 3                 # probe results needed before the rate means anything
    error_rate_open: float = 0.5         # probe failure rate that is "bad"
    error_rate_resolve: float = 0.34     # ... and that is "healthy" again (hysteresis band)
    burst_window_s: float = 60.0         # team-error burst window
    burst_min_errors: int = 5            # provider-side team errors in it that make a burst
    burst_min_sources: int = 1           # distinct reporters (chat channels, ingest) needed
    burst_resolve_errors: int = 2        # at most this many (or the normal rate) is "healthy"
    baseline_window_s: float = 1800.0    # the target's normal team-error rate is measured here
    baseline_factor: float = 3.0         # a burst must be this many times the normal rate
    quiet_resolve_s: float = 600.0       # without probes: healthy after this long with no errors
    open_after: int = 2
    resolve_after: int = 3
    flap_window_s: float = 3600.0
    flap_max_changes: int = 3
    # Flapping is over after this long in one state (or 3 of the pattern's longest cycles).
    flap_stable_s: float = 900.0
    # While flapping, this many bad evaluations in a row are a sustained outage even when the
    # pattern's bad spells were longer (the other rule: 1.25 x its longest bad spell).
    sustain_after: int = 120
    burst_severity: str = "warning"      # team errors only, probes not (yet) failing
    all_down_severity: str = "critical"  # every probe kind's latest result failed
    severity: tuple[SeverityRule, ...] = (SeverityRule("critical", 0.9),
                                          SeverityRule("error", 0.5))

    def __post_init__(self) -> None:
        name = "OutagePolicy"
        _positive(name, self, "window_s", "burst_window_s", "baseline_window_s",
                  "baseline_factor", "quiet_resolve_s")
        _count(name, self, "min_samples", "burst_min_errors", "burst_min_sources")
        _count(name, self, "burst_resolve_errors", minimum=0)
        _fraction(name, self, "error_rate_open", "error_rate_resolve")
        _check_lifecycle(name, self)
        if self.error_rate_open <= 0:
            _fail(name, "error_rate_open", "must be above 0", self.error_rate_open)
        if self.error_rate_resolve >= self.error_rate_open:
            _fail(name, "error_rate_resolve", "must be below error_rate_open (hysteresis)",
                  self.error_rate_resolve)
        if self.burst_resolve_errors >= self.burst_min_errors:
            _fail(name, "burst_resolve_errors", "must be below burst_min_errors (hysteresis)",
                  self.burst_resolve_errors)
        _severity(name, "burst_severity", self.burst_severity)
        _severity(name, "all_down_severity", self.all_down_severity)
        _check_rules(name, self.severity)


@dataclass(frozen=True)
class SurgePolicy:
    """A sudden team-wide surge of ONE error category (key ``surge:<category>``).

    ``share`` is that category's part of every outcome seen in the window (probe results and the
    team's errors), so "most requests rejected as risk_control" reads as share >= min_share.
    """

    window_s: float = 300.0
    min_errors: int = 10
    min_share: float = 0.5
    min_sources: int = 1                 # distinct reporters: chat channels, 'ingest', 'probe'
    baseline_window_s: float = 3600.0
    baseline_factor: float = 4.0
    resolve_max_errors: int = 3          # healthy at or below this count (or the normal rate)
    resolve_share: float = 0.25          # ... or when the category no longer dominates
    open_after: int = 2
    resolve_after: int = 3
    flap_window_s: float = 3600.0
    flap_max_changes: int = 3
    flap_stable_s: float = 900.0
    sustain_after: int = 120
    default_severity: str = "warning"
    severity: tuple[SeverityRule, ...] = (SeverityRule("error", 0.9),)

    def __post_init__(self) -> None:
        name = "SurgePolicy"
        _positive(name, self, "window_s", "baseline_window_s", "baseline_factor")
        _count(name, self, "min_errors", "min_sources")
        _count(name, self, "resolve_max_errors", minimum=0)
        _fraction(name, self, "min_share", "resolve_share")
        _check_lifecycle(name, self)
        if self.resolve_max_errors >= self.min_errors:
            _fail(name, "resolve_max_errors", "must be below min_errors (hysteresis)",
                  self.resolve_max_errors)
        if self.resolve_share >= self.min_share:
            _fail(name, "resolve_share", "must be below min_share (hysteresis)",
                  self.resolve_share)
        _severity(name, "default_severity", self.default_severity)
        _check_rules(name, self.severity)


INDICATOR_SEVERITY: Mapping[str, str] = MappingProxyType({
    "operational": "warning",
    "under_maintenance": "warning",
    "degraded_performance": "warning",
    "partial_outage": "error",
    "major_outage": "critical",
    "full_outage": "critical",
})
IMPACT_SEVERITY: Mapping[str, str] = MappingProxyType({
    "none": "warning", "minor": "warning", "maintenance": "warning",
    "degraded_performance": "warning", "major": "error", "partial_outage": "error",
    "critical": "critical", "full_outage": "critical", "major_outage": "critical",
})


@dataclass(frozen=True)
class OfficialPolicy:
    """How the official page's incidents become ours (key ``official:<page incident id>``).

    The page is the provider speaking, so there is no hysteresis: an incident opens when the page
    lists it, updates when the page posts an update, resolves when the page says so. The page's
    overall indicator alone opens nothing (an unreadable page is "unknown", never an alert); it
    sets the severity of the open official incidents. ``link_targets`` are the targets the page
    speaks for: an open outage of one of them is linked with an overlapping official incident.
    """

    indicator_severity: Mapping[str, str] = field(default_factory=lambda: INDICATOR_SEVERITY)
    impact_severity: Mapping[str, str] = field(default_factory=lambda: IMPACT_SEVERITY)
    default_severity: str = "warning"
    resolved_statuses: frozenset[str] = frozenset({"resolved", "postmortem", "completed"})
    link_targets: frozenset[str] = frozenset({OFFICIAL_TARGET})
    # Damping (issue 12): an incident the page stops listing (without a final update saying
    # it is resolved) ends after this many readable polls in a row without it; one seen again
    # before that continues; a resolved one re-listed with the same text is the page flickering.
    resolve_after_polls: int = 3

    def __post_init__(self) -> None:
        name = "OfficialPolicy"
        _count(name, self, "resolve_after_polls")
        for table in ("indicator_severity", "impact_severity"):
            for key, value in getattr(self, table).items():
                _severity(name, f"{table}[{key!r}]", value)
        _severity(name, "default_severity", self.default_severity)


WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class MaintenanceWindow:
    """A quiet period: ``start`` ("HH:MM", local to ``timezone``) for ``duration_s`` seconds on
    each of ``weekdays`` (all days when empty). ``targets`` limits it to some targets (all when
    empty). While a window is active no notice is posted for those targets; when it ends the
    monitor posts the state things are in then (an outage still going on is announced once).
    """

    name: str
    start: str
    duration_s: float
    weekdays: tuple[str, ...] = ()
    timezone: str = "UTC"
    targets: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        owner = f"maintenance[{self.name!r}]"
        hh, sep, mm = self.start.partition(":")
        if not (sep and hh.isdigit() and mm.isdigit() and 0 <= int(hh) < 24
                and 0 <= int(mm) < 60 and len(mm) == 2):
            _fail(owner, "start", "must be HH:MM (24-hour clock)", self.start)
        _positive(owner, self, "duration_s")
        if self.duration_s > 7 * 86400:
            _fail(owner, "duration_s", "must be at most one week", self.duration_s)
        for day in self.weekdays:
            if day not in WEEKDAYS:
                _fail(owner, "weekdays", f"must be among {', '.join(WEEKDAYS)}", day)
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            _fail(owner, "timezone", "must be an IANA time zone such as Europe/Berlin",
                  self.timezone)

    def covers(self, target: str | None) -> bool:
        return not self.targets or target is None or target in self.targets

    def active(self, at: datetime) -> bool:
        """True when ``at`` (aware) falls inside one occurrence of the window."""
        return self.current_end(at) is not None

    def current_end(self, at: datetime) -> datetime | None:
        """When the occurrence covering ``at`` ends, or None when none covers it."""
        zone = ZoneInfo(self.timezone)
        local = at.astimezone(zone)
        hh, mm = (int(x) for x in self.start.split(":"))
        span = timedelta(seconds=self.duration_s)
        # An occurrence may have started on any of the previous 7 days (windows up to a week).
        for back in range(0, 8):
            day = (local - timedelta(days=back)).date()
            if self.weekdays and WEEKDAYS[day.weekday()] not in self.weekdays:
                continue
            begin = datetime(day.year, day.month, day.day, hh, mm, tzinfo=zone)
            if begin <= local < begin + span:
                return (begin + span).astimezone(at.tzinfo)
        return None


def _default_surges() -> Mapping[str, SurgePolicy]:
    base = SurgePolicy()
    return MappingProxyType({
        "risk_control": base,
        "rate_limit": dataclasses.replace(base, min_errors=20),  # 429s are common; a storm is big
        "bad_request": base,
        "content_policy": base,
        "auth": dataclasses.replace(base, min_sources=2),  # "many sources at once", not one bad key
        "quota": base,
        "not_found": base,
        "permission": base,
    })


@dataclass(frozen=True)
class Policies:
    """Every policy the monitor uses, one table per incident kind."""

    outage: OutagePolicy = field(default_factory=OutagePolicy)
    surges: Mapping[str, SurgePolicy] = field(default_factory=_default_surges)
    official: OfficialPolicy = field(default_factory=OfficialPolicy)
    evaluate_interval_s: float = 5.0  # what open_after/resolve_after are counted in
    # Reminders in an open incident's thread while it is still failing (0 turns them off),
    # like Gatus's minimum-reminder-interval and Alertmanager's repeat_interval.
    reminder_interval_s: float = 7200.0
    maintenance: tuple[MaintenanceWindow, ...] = ()
    # Fast confirmation (Uptime Kuma's retryInterval): after a probe round with a failure,
    # re-probe that target ``confirm_probes`` times, ``confirm_interval_s`` apart.
    confirm_probes: int = 2
    confirm_interval_s: float = 3.0

    def __post_init__(self) -> None:
        _positive("Policies", self, "evaluate_interval_s", "confirm_interval_s")
        if (not isinstance(self.reminder_interval_s, (int, float))
                or isinstance(self.reminder_interval_s, bool) or self.reminder_interval_s < 0):
            _fail("Policies", "reminder_interval_s", "must be 0 (off) or a positive number",
                  self.reminder_interval_s)
        _count("Policies", self, "confirm_probes", minimum=0)
        names = [w.name for w in self.maintenance]
        if len(set(names)) != len(names):
            _fail("Policies", "maintenance", "window names must be unique", names)
        for category, policy in self.surges.items():
            if role_of(category) not in (Role.USER, Role.STORM) or category not in CATEGORIES:
                _fail("Policies", f"surges[{category!r}]",
                      "must be a user-caused or storm category (server/network are outages)",
                      category)
            if not isinstance(policy, SurgePolicy):
                _fail("Policies", f"surges[{category!r}]", "must be a SurgePolicy", policy)

    def in_maintenance(self, at: datetime, target: str | None = None) -> MaintenanceWindow | None:
        """The maintenance window covering ``at`` for ``target``, if any."""
        for window in self.maintenance:
            if window.covers(target) and window.active(at):
                return window
        return None

    def for_probe_interval(self, probe_interval_s: float) -> Policies:
        """The same policies with the probe window sized for ``probe_interval_s``.

        The window keeps as many probe rounds as the defaults keep at 60 s (three), so a demo
        probing every 2 s detects and recovers in seconds, and a slow 5-minute interval still
        sees ``min_samples`` results. Team-error windows do not depend on probing and stay.
        """
        if probe_interval_s <= 0:
            raise ConfigError(f"monitor policy: probe interval must be > 0, got {probe_interval_s!r}")
        rounds = self.outage.window_s / 60.0
        window = rounds * probe_interval_s
        outage = dataclasses.replace(
            self.outage, window_s=window,
            quiet_resolve_s=max(window, min(self.outage.quiet_resolve_s, 10 * window)),
            flap_stable_s=max(window, self.outage.flap_stable_s * probe_interval_s / 60.0))
        return dataclasses.replace(self, outage=outage,
                                   evaluate_interval_s=min(self.evaluate_interval_s,
                                                           probe_interval_s))


DEFAULT_POLICIES = Policies()

__all__ = [
    "CATEGORY_ROLES", "DEFAULT_POLICIES", "IMPACT_SEVERITY", "INDICATOR_SEVERITY",
    "MaintenanceWindow", "OfficialPolicy", "OutagePolicy", "Policies", "Role", "SEVERITIES", "SEVERITY_RANK",
    "SeverityRule", "SurgePolicy", "WEEKDAYS", "pick_severity", "role_of",
]
