"""A team's correction, applied to a diagnosis: the corrected category with its own summary,
causes, actions and retryability.

Outside the diagnosis engine on purpose: the engine is a pure function of the paste, and a
correction is the team's knowledge, not the paste's. The wording comes from the engine's own
knowledge table (each category's defaults), so a corrected reply reads like any other of that
category; what came from the paste (codes, message, parameter, provider, fingerprint, redacted
text) is kept as it was.
"""

from __future__ import annotations

from dataclasses import replace
from types import MappingProxyType

from bot.diagnosis.knowledge import ACTIONS, CATEGORY_DEFAULTS, CAUSES
from bot.diagnosis.model import CATEGORIES, Cause, Diagnosis

# Categories a team may correct to: every real one ("unknown" says nothing).
CORRECTABLE: tuple[str, ...] = tuple(c for c in CATEGORIES if c != "unknown")

# Contract 1's meaning of each category for ``retryable``: can the same request succeed
# unchanged after waiting? Only the transient ones.
RETRYABLE: MappingProxyType[str, bool] = MappingProxyType({
    "auth": False, "permission": False, "not_found": False, "bad_request": False,
    "content_policy": False, "risk_control": False, "rate_limit": True, "quota": False,
    "server": True, "network": True,
})
if set(RETRYABLE) != set(CORRECTABLE):  # pragma: no cover - a category added to the contract
    raise ValueError("bot.memory.recategorize.RETRYABLE must name every correctable category")


def recategorize(d: Diagnosis, category: str) -> Diagnosis:
    """``d`` as if the engine had said ``category``; unchanged when it already did."""
    if category == d.category or category not in RETRYABLE:
        return d
    summary, causes, actions = CATEGORY_DEFAULTS[category]
    ranked = sorted((Cause(cid, CAUSES[cid][0], lk, CAUSES[cid][1]) for cid, lk in causes),
                    key=lambda c: -c.likelihood)
    steps = [ACTIONS[a] for a in actions]
    if d.request_id and category in ("server", "risk_control"):
        steps.append(f"Quote request id {d.request_id} when you contact support.")
    return replace(d, category=category, retryable=RETRYABLE[category], summary=summary,
                   causes=tuple(ranked), actions=tuple(steps),
                   retry_after_s=d.retry_after_s if RETRYABLE[category] else None)


__all__ = ["CORRECTABLE", "RETRYABLE", "recategorize"]
