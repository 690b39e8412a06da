"""Policies are data, validated when built: a typo fails at boot with one line."""

from __future__ import annotations

import dataclasses

import pytest

from bot.diagnosis.model import CATEGORIES
from bot.errors import ConfigError
from bot.monitor.policy import (
    CATEGORY_ROLES,
    DEFAULT_POLICIES,
    OfficialPolicy,
    OutagePolicy,
    Policies,
    Role,
    SeverityRule,
    SurgePolicy,
    pick_severity,
)


def test_every_category_has_a_role_and_user_caused_ones_are_never_outage_evidence() -> None:
    assert set(CATEGORY_ROLES) == set(CATEGORIES)
    for category in ("bad_request", "content_policy", "auth", "quota", "not_found", "permission"):
        assert CATEGORY_ROLES[category] is Role.USER
    assert {c for c, r in CATEGORY_ROLES.items() if r is Role.PROVIDER} == {"server", "network"}


@pytest.mark.parametrize("build, names", [
    (lambda: OutagePolicy(error_rate_open=0.3, error_rate_resolve=0.4), "error_rate_resolve"),
    (lambda: OutagePolicy(error_rate_open=1.5), "error_rate_open"),
    (lambda: OutagePolicy(open_after=0), "open_after"),
    (lambda: OutagePolicy(window_s=-1), "window_s"),
    (lambda: OutagePolicy(burst_resolve_errors=5, burst_min_errors=5), "burst_resolve_errors"),
    (lambda: OutagePolicy(flap_max_changes=1), "flap_max_changes"),
    (lambda: OutagePolicy(all_down_severity="fatal"), "all_down_severity"),
    (lambda: OutagePolicy(severity=(SeverityRule("error", 0.5), SeverityRule("critical", 0.9))),
     "severity"),
    (lambda: SeverityRule("urgent", 0.5), "severity"),
    (lambda: SurgePolicy(min_share=0.2, resolve_share=0.3), "resolve_share"),
    (lambda: SurgePolicy(min_errors=3, resolve_max_errors=3), "resolve_max_errors"),
    (lambda: Policies(surges={"server": SurgePolicy()}), "surges['server']"),
    (lambda: Policies(surges={"risk_contrl": SurgePolicy()}), "surges['risk_contrl']"),
    (lambda: OfficialPolicy(indicator_severity={"major_outage": "red"}), "indicator_severity"),
    (lambda: OutagePolicy(min_samples=True), "min_samples"),
    (lambda: OutagePolicy(sustain_after=0), "sustain_after"),
    (lambda: OutagePolicy(flap_stable_s=0), "flap_stable_s"),
    (lambda: SurgePolicy(sustain_after=-1), "sustain_after"),
    (lambda: OfficialPolicy(resolve_after_polls=0), "resolve_after_polls"),
])
def test_a_typo_fails_at_construction_with_one_line_naming_the_field(build, names) -> None:
    with pytest.raises(ConfigError) as info:
        build()
    message = str(info.value)
    assert names in message and "\n" not in message and message.startswith("monitor policy:")


def test_defaults_are_valid_and_frozen() -> None:
    assert DEFAULT_POLICIES.outage.open_after == 2 and DEFAULT_POLICIES.outage.resolve_after == 3
    with pytest.raises(dataclasses.FrozenInstanceError):
        DEFAULT_POLICIES.outage.open_after = 1  # type: ignore[misc]
    assert "server" not in DEFAULT_POLICIES.surges and "risk_control" in DEFAULT_POLICIES.surges


def test_probe_window_keeps_three_rounds_for_any_interval() -> None:
    fast = DEFAULT_POLICIES.for_probe_interval(2)
    assert fast.outage.window_s == pytest.approx(6)
    assert fast.evaluate_interval_s == 2
    slow = DEFAULT_POLICIES.for_probe_interval(300)
    assert slow.outage.window_s == pytest.approx(900)
    assert slow.outage.quiet_resolve_s >= slow.outage.window_s
    with pytest.raises(ConfigError):
        DEFAULT_POLICIES.for_probe_interval(0)


@pytest.mark.parametrize("metric, expected", [(1.0, "critical"), (0.9, "critical"),
                                              (0.89, "error"), (0.5, "error"), (0.49, "warning")])
def test_severity_rules_pick_the_first_threshold_reached(metric: float, expected: str) -> None:
    assert pick_severity(OutagePolicy().severity, metric, "warning") == expected


def test_flapping_stability_scales_with_the_probe_interval() -> None:
    assert DEFAULT_POLICIES.for_probe_interval(60).outage.flap_stable_s == 900
    assert DEFAULT_POLICIES.for_probe_interval(1).outage.flap_stable_s == pytest.approx(15)
