"""Pick the knowledge rule that explains the extracted evidence.

The first rule (by descending priority) whose predicates hold and one of whose triggers fires
wins; see ``knowledge.RULES`` for the precedence. No rule → ``unknown``.
"""

from __future__ import annotations

from bot.diagnosis.extract import Extracted
from bot.diagnosis.knowledge import RULES_BY_PRIORITY, Rule


def classify(ex: Extracted) -> Rule | None:
    """The winning rule for this paste, or None when nothing in the paste explains it."""
    facts = ex.facts()
    for rule in RULES_BY_PRIORITY:
        if rule.matches(ex.codes, ex.status, ex.exceptions, ex.hay_lower, facts):
            return rule
    return None


__all__ = ["classify"]
