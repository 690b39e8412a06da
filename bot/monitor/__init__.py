"""Spike detection with hysteresis and flapping, and the incident lifecycle (pure, no I/O).

``Monitor`` turns observations (probe results, the team's errors, status-page changes) into
``Decision`` values, each with a reason; ``bot.monitor.service.MonitorService`` applies them
through the Store. Policies (thresholds) are data in ``bot.monitor.policy``.
"""

from bot.monitor.model import REASONS, Decision, Explanation, OfficialChange, Outcome, Verdict
from bot.monitor.monitor import Monitor
from bot.monitor.policy import (
    CATEGORY_ROLES,
    DEFAULT_POLICIES,
    OfficialPolicy,
    OutagePolicy,
    Policies,
    SeverityRule,
    SurgePolicy,
)

__all__ = [
    "CATEGORY_ROLES", "DEFAULT_POLICIES", "Decision", "Explanation", "Monitor", "OfficialChange",
    "OfficialPolicy", "OutagePolicy", "Outcome", "Policies", "REASONS", "SeverityRule",
    "SurgePolicy", "Verdict",
]
