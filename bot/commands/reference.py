"""`/sora help errors`: the quick reference, generated from the diagnosis knowledge table.

Generated, not written by hand, so the reference can never disagree with what `diagnose` does.
"""

from __future__ import annotations

import re
from functools import lru_cache

from bot.diagnosis import knowledge as kb

_RETRY_WORD = {True: "retry with backoff", False: "do not retry unchanged", None: "unclear"}


_FILL = {"provider_name": "The API", "provider": "the API", "param": "a parameter",
         "param_part": "", "hint_part": "", "hint": "", "retry_after": "a while", "code": "this code"}


def _meaning(rule: kb.Rule) -> str:
    template = rule.summary or kb.CATEGORY_DEFAULTS[rule.category][0]
    fill = dict(_FILL, status="/".join(str(s) for s in sorted(rule.statuses)) or "an error status")
    text = re.sub(r"\{([a-z_]*)\}", lambda m: fill.get(m.group(1), ""), template)
    return re.sub(r"\s+([.,:;])", r"\1", re.sub(r"\s{2,}", " ", text)).strip()


def _first_action(rule: kb.Rule) -> str:
    actions = rule.actions or kb.RULE_DETAILS.get(rule.id, ((), ()))[1] \
        or kb.CATEGORY_DEFAULTS[rule.category][2]
    for action_id in actions:
        text = kb.ACTIONS.get(action_id)
        if text and "{" not in text:
            return text
    return _RETRY_WORD[rule.retryable]


def _match(rule: kb.Rule) -> str:
    bits = sorted(rule.codes)[:3]
    if rule.statuses:
        bits.append("HTTP " + "/".join(str(s) for s in sorted(rule.statuses)[:3]))
    if not bits and rule.exceptions:
        bits = sorted(rule.exceptions)[:2]
    return ", ".join(f"`{b}`" for b in bits) if bits else rule.id.replace("_", " ")


@lru_cache(maxsize=1)
def quick_reference() -> tuple[dict[str, str], ...]:
    """One row per knowledge rule: what it matches, category, meaning, first step."""
    rows = []
    order = {c: i for i, c in enumerate(kb.CATEGORY_DEFAULTS)}
    for rule in sorted(kb.RULES, key=lambda r: (order.get(r.category, 99), -r.priority)):
        rows.append({"match": _match(rule), "category": rule.category,
                     "retryable": _RETRY_WORD[rule.retryable], "meaning": _meaning(rule),
                     "action": _first_action(rule)})
    return tuple(rows)
