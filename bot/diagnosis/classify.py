"""Pick the knowledge rule that explains the extracted evidence.

The first rule (by descending priority) whose predicates hold and one of whose triggers fires
wins; see ``knowledge.RULES`` for the precedence. No rule → ``unknown``.

This is the hot loop of the engine, so the rules are flattened once into tuples and the
trigger checks inlined (same semantics as ``Rule.matches``).
"""

from __future__ import annotations

from bot.diagnosis.extract import Extracted
from bot.diagnosis.knowledge import RULES_BY_PRIORITY, Rule

_FLAT = tuple(
    (rule, rule.when, rule.codes, rule.statuses, rule.exceptions,
     rule.matcher.keywords if rule.matcher else None,
     rule.matcher.regex if rule.matcher else None,
     not (rule.codes or rule.statuses or rule.exceptions or rule.matcher))
    for rule in RULES_BY_PRIORITY
)


def classify(ex: Extracted) -> Rule | None:
    """The winning rule for this paste, or None when nothing in the paste explains it."""
    facts = ex.facts()
    codes, status, exceptions, low = ex.codes, ex.status, ex.exceptions, ex.hay_lower
    for rule, when, r_codes, r_statuses, r_exceptions, keywords, regex, bare in _FLAT:
        if when and not when <= facts:
            continue
        if bare:
            return rule
        if r_codes and not r_codes.isdisjoint(codes):
            return rule
        if r_statuses and status in r_statuses:
            return rule
        if r_exceptions and not r_exceptions.isdisjoint(exceptions):
            return rule
        if regex is None:
            continue
        if keywords is not None:
            for keyword in keywords:
                if keyword in low:
                    break
            else:
                continue
        if regex.search(low) is not None:
            return rule
    return None


def classify_slow(ex: Extracted) -> Rule | None:
    """Reference implementation through ``Rule.matches`` (tests compare the two)."""
    facts = ex.facts()
    for rule in RULES_BY_PRIORITY:
        if rule.matches(ex.codes, ex.status, ex.exceptions, ex.hay_lower, facts):
            return rule
    return None


__all__ = ["classify", "classify_slow"]
