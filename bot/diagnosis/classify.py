"""Weigh the evidence of a paste and pick its category.

Every rule of the knowledge table whose trigger fires (``matcher``) is a piece of evidence for
its category, worth its ``weight``. A category scores its strongest piece plus a small bonus
for further pieces (of weight ≥ SUPPORT_MIN) that agree (a 401 status next to "Incorrect API key", a ``RateLimitError``
next to a 429), capped so that agreement never outweighs a clearly stronger signal:

    score(category) = strongest weight + min(SUPPORT_CAP, SUPPORT_RATE × other weights)

Strong, precise signals still decide: when any rule of weight ≥ DECISIVE fired (a payload code
such as ``insufficient_quota``, an unambiguous phrase), only categories with such a rule can
win. Ties go to the higher weight, then to the earlier rule in the table.

The winning category's strongest rule supplies the wording. ``confidence`` is the calibrated
probability that the category is right, from the score, the margin over the runner-up, whether
other rules agree, whether an error body was found and whether the winner rests on what the
error says (a code, a phrase) rather than only on its form (a status, an exception class):
``knowledge.CalibrationSpec``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from bot.diagnosis.extract import Extracted
from bot.diagnosis.knowledge import DEFAULT, CalibrationSpec, Knowledge, Rule
from bot.diagnosis.matcher import Evidence, Matcher

DECISIVE = 90
SUPPORT_RATE = 0.08
SUPPORT_CAP = 6.0
SUPPORT_MIN = 30  # rules below this weight are fallbacks, not corroboration


class Verdict(NamedTuple):
    rule: Rule | None            # the strongest rule of the winning category
    category: str
    retryable: bool | None
    score: float                 # 0 … 106
    margin: float                # score minus the runner-up category's score
    supported: bool              # another fired rule agrees with the winner
    worded: bool                 # the winner rests on what the error says, not only its form
    confidence: float            # calibrated, 0 … 1
    fired: tuple[Rule, ...]      # every rule whose trigger fired


def evidence_of(ex: Extracted) -> Evidence:
    return Evidence(ex.codes, ex.status, ex.exceptions, ex.hay_lower, ex.facts())


def confidence(cal: CalibrationSpec, score: float, margin: float, supported: bool,
               has_payload: bool, worded: bool) -> float:
    z = (cal.intercept + cal.score * score / 100.0 + cal.margin * min(margin, 40.0) / 40.0
         + (cal.support if supported else 0.0) + (cal.payload if has_payload else 0.0)
         + (cal.worded if worded else 0.0))
    return 1.0 / (1.0 + math.exp(-z))


class Classifier:
    """The matcher and the weighing for one knowledge table."""

    def __init__(self, kb: Knowledge) -> None:
        self.kb = kb
        self.matcher = Matcher(kb.rules)

    def weigh(self, ex: Extracted) -> Verdict:
        fired, worded = self.matcher.fired_worded(evidence_of(ex))
        return self.weigh_rules(fired, ex.has_payload, worded)

    def weigh_rules(self, fired: list[Rule], has_payload: bool,
                    worded: frozenset[int]) -> Verdict:
        if not fired:
            return Verdict(None, "unknown", None, 0.0, 0.0, False, False,
                           self.kb.calibration.unknown, ())
        if len(fired) == 1:  # the loop below for one rule: no support, no runner-up
            rule = fired[0]
            score = rule.weight + min(SUPPORT_CAP, SUPPORT_RATE * 0.0)
            by_words = rule.index in worded
            conf = confidence(self.kb.calibration, score, score - 0.0, False, has_payload,
                              by_words)
            return Verdict(rule, rule.category, rule.retryable, score, score - 0.0, False,
                           by_words, conf, (rule,))
        best: dict[str, Rule] = {}
        others: dict[str, float] = {}
        for rule in fired:  # table order: on equal weight the earlier rule stays best
            top = best.get(rule.category)
            if top is None:
                best[rule.category] = rule
                others[rule.category] = 0.0
                continue
            if rule.weight > top.weight:
                best[rule.category], rule = rule, top
            if rule.weight >= SUPPORT_MIN:  # weak fallbacks do not corroborate
                others[rule.category] += rule.weight
        scores = {c: r.weight + min(SUPPORT_CAP, SUPPORT_RATE * others[c]) for c, r in best.items()}
        if len(best) == 1:
            winner = next(iter(best))
            runner_up = 0.0
        else:
            pool = [c for c, r in best.items() if r.weight >= DECISIVE] or list(best)
            winner = max(pool, key=lambda c: (scores[c], best[c].weight, -best[c].index))
            runner_up = max(s for c, s in scores.items() if c != winner)
        rule = best[winner]
        score = scores[winner]
        margin = score - runner_up
        supported = others[winner] > 0
        by_words = False
        for r in fired:
            if r.category == winner and r.index in worded:
                by_words = True
                break
        conf = confidence(self.kb.calibration, score, margin, supported, has_payload, by_words)
        return Verdict(rule, winner, rule.retryable, score, margin, supported, by_words, conf,
                       tuple(fired))


_DEFAULT = Classifier(DEFAULT)


def classify(ex: Extracted) -> Rule | None:
    """The rule that explains this paste (default table), or None (``unknown``)."""
    return _DEFAULT.weigh(ex).rule


def classify_slow(ex: Extracted) -> Rule | None:
    """Same, through the matcher's reference implementation (tests compare the two)."""
    ev = evidence_of(ex)
    fired = _DEFAULT.matcher.fired_slow(ev)
    worded = frozenset(r.index for r in fired if _DEFAULT.matcher.by_words(r, ev))
    return _DEFAULT.weigh_rules(fired, ex.has_payload, worded).rule


__all__ = ["Classifier", "DECISIVE", "Verdict", "classify", "classify_slow", "confidence",
           "evidence_of"]
