"""`/sora help errors [category]`: the error reference, generated from the knowledge table.

Generated, not written by hand, so the reference can never disagree with what `diagnose` does.
The overview has one row per error type (a rule of the table that is ``listed``), grouped by
category, short enough for one screen: the type, its best-known codes, the category and
whether to retry. `/sora help errors <category>` shows one category in full: every type with
all its codes, the other evidence that points to it (HTTP statuses, exception classes,
wording), what it means and the first step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from bot.diagnosis import knowledge as kb
from bot.diagnosis.model import CATEGORIES

RETRY_WORD = {True: "retry with backoff", False: "do not retry unchanged", None: "unclear"}
SHOWN_CODES = 2

_FILL = {"provider_name": "The API", "provider": "the API", "param": "a parameter",
         "param_part": "", "hint_part": ".", "hint": "", "retry_after": "a while",
         "code": "this code"}


@dataclass(frozen=True)
class ErrorType:
    """One row of the reference: a knowledge rule, in words."""

    rule_id: str
    title: str
    category: str
    retry: str
    codes: tuple[str, ...]        # payload codes, as written in the table
    evidence: tuple[str, ...]     # other things that point to it: statuses, exceptions, words
    meaning: str
    first_step: str


def _meaning(rule: kb.Rule) -> str:
    template = rule.summary or kb.CATEGORY_DEFAULTS[rule.category][0]
    fill = dict(_FILL, status="/".join(str(s) for s in _statuses(rule)) or "an error status")
    text = re.sub(r"\{([a-z_]*)\}", lambda m: fill.get(m.group(1), ""), template)
    return re.sub(r"\s+([.,:;])", r"\1", re.sub(r"\s{2,}", " ", text)).strip()


def _first_step(rule: kb.Rule) -> str:
    for action_id in rule.actions or kb.CATEGORY_DEFAULTS[rule.category][2]:
        text = kb.ACTIONS.get(action_id)
        if text and "{" not in text:
            return text
    return RETRY_WORD[rule.retryable].capitalize() + "."


def _statuses(rule: kb.Rule) -> list[str]:
    """HTTP statuses, with ranges written as 5xx."""
    out: list[str] = []
    statuses = set(rule.statuses)
    for hundred in range(1, 6):
        block = set(range(hundred * 100, hundred * 100 + 100))
        if block <= statuses:
            out.append(f"{hundred}xx")
            statuses -= block
    return out + [str(s) for s in sorted(statuses)]


def _evidence(rule: kb.Rule) -> tuple[str, ...]:
    bits: list[str] = []
    statuses = _statuses(rule)
    if statuses:
        bits.append("HTTP " + "/".join(statuses))
    bits += sorted(e for e in rule.exceptions if "." not in e)[:4]
    bits += [f'"{p}"' for p in rule.phrases[:3]]
    return tuple(bits)


def _row(rule: kb.Rule) -> ErrorType:
    return ErrorType(rule.id, rule.title, rule.category, RETRY_WORD[rule.retryable],
                     rule.display_codes, _evidence(rule), _meaning(rule), _first_step(rule))


@lru_cache(maxsize=1)
def error_types() -> tuple[ErrorType, ...]:
    """Every rule of the table as a reference row, grouped by category (table order)."""
    order = {c: i for i, c in enumerate(CATEGORIES)}
    rules = sorted(kb.RULES, key=lambda r: (order.get(r.category, 99), r.index))
    return tuple(_row(r) for r in rules)


def overview() -> tuple[ErrorType, ...]:
    """One row per listed error type, all categories."""
    listed = {r.id for r in kb.RULES if r.listed}
    return tuple(t for t in error_types() if t.rule_id in listed)


def for_category(category: str) -> tuple[ErrorType, ...]:
    """Every type of one category: the listed ones first, then the extra evidence."""
    listed = {r.id for r in kb.RULES if r.listed}
    rows = [t for t in error_types() if t.category == category]
    return tuple(sorted(rows, key=lambda t: t.rule_id not in listed))


def category_meaning(category: str) -> str:
    return kb.CATEGORY_DEFAULTS[category][0]


def short_codes(t: ErrorType) -> str:
    """The best-known codes of a type (or its first other evidence), for the overview."""
    codes = [c for c in t.codes if ":" not in c]  # provider-qualified codes: category view only
    if not codes:
        return t.evidence[0] if t.evidence else ""
    more = len(codes) - SHOWN_CODES
    return ", ".join(f"`{c}`" for c in codes[:SHOWN_CODES]) + (f" +{more}" if more > 0 else "")


def overview_row(t: ErrorType) -> str:
    """`Title: codes → category (retry)`, one line."""
    codes = short_codes(t)
    return f"{t.title}{': ' + codes if codes else ''} → {t.category} ({t.retry})"


# The older name (one row per rule as a dict), kept for callers outside this module.
def quick_reference() -> tuple[dict[str, str], ...]:
    return tuple({"match": short_codes(t), "category": t.category, "retryable": t.retry,
                  "meaning": t.meaning, "action": t.first_step} for t in overview())


__all__ = ["ErrorType", "RETRY_WORD", "category_meaning", "error_types", "for_category",
           "overview", "overview_row", "quick_reference", "short_codes"]
