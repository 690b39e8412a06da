"""Turn a matched rule and the evidence into words: summary, ranked causes, ordered actions.

All wording lives in ``knowledge``; this module only chooses, fills and orders it.
"""

from __future__ import annotations

import re

from bot.diagnosis.extract import Extracted
from bot.diagnosis.knowledge import (
    ACTIONS,
    CATEGORY_DEFAULTS,
    CAUSES,
    GATEWAY_OVERRIDES,
    PARAM_ALIASES,
    PARAM_HINTS,
    PROVIDER_NAMES,
    RULE_DETAILS,
    Rule,
)
from bot.diagnosis.model import Cause

# Parameter names people's error messages mention when the payload's ``param`` is empty.
_PARAM_IN_MESSAGE = (
    re.compile(r"[Ii]nvalid (?:value|type) for [`'\"]?([A-Za-z_][\w.\[\]]{0,60})"),
    re.compile(r"(?:parameter|argument|field|property)[: ]{1,3}[`'\"]([A-Za-z_][\w.\[\]]{0,60})"),
    re.compile(r"[`'\"]([A-Za-z_][\w.]{0,60})[`'\"] is (?:a )?required"),
    re.compile(r"[Uu]nrecognized request argument supplied: ([A-Za-z_]\w{0,60})"),
    re.compile(r"[Ii]nvalid [`'\"]([A-Za-z_][\w.]{0,60})[`'\"]"),
    re.compile(r"\b(seconds|size|model|prompt|input_reference)\b"),
)
_ALIASES = tuple((re.compile(rx, re.IGNORECASE), name) for rx, name in PARAM_ALIASES)


def param_from_message(message: str | None) -> str | None:
    """The parameter a message names, for pastes whose payload has no ``param``."""
    if not message:
        return None
    text = message[:2000]
    for pattern in _PARAM_IN_MESSAGE:
        m = pattern.search(text)
        if m:
            return m.group(1)
    for pattern, name in _ALIASES:
        if pattern.search(text):
            return name
    return None


class _Fields(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


def _fill(template: str, fields: _Fields) -> str:
    try:
        return template.format_map(fields)
    except (ValueError, IndexError, KeyError):
        return template


def explain(rule: Rule | None, category: str, ex: Extracted, param: str | None,
            retryable: bool | None) -> tuple[str, tuple[Cause, ...], tuple[str, ...]]:
    """Summary sentence, causes (highest likelihood first) and actions for this diagnosis."""
    default_summary, default_causes, default_actions = CATEGORY_DEFAULTS[category]
    causes_spec, actions_spec = default_causes, default_actions
    if rule is not None and rule.id in RULE_DETAILS:
        causes_spec, actions_spec = RULE_DETAILS[rule.id]
    if ex.provider == "gateway" and category in GATEWAY_OVERRIDES:
        causes_spec, actions_spec = GATEWAY_OVERRIDES[category]
    if rule is not None and rule.causes:
        causes_spec = rule.causes
    if rule is not None and rule.actions:
        actions_spec = rule.actions

    hint = (PARAM_HINTS.get(f"{param}:{(ex.error_code or '').lower()}")
            or PARAM_HINTS.get(param or "", "")) if param else ""
    fields = _Fields(
        provider=PROVIDER_NAMES.get(ex.provider, "the API"),
        provider_name=_capitalise(PROVIDER_NAMES.get(ex.provider, "the API")),
        status=str(ex.status) if ex.status else "",
        param=param or "",
        hint=hint or "see the error message for the allowed values.",
        param_part=f" `{param}`" if param else "",
        hint_part=f": {hint}" if param and hint else ".",
        retry_after=_fmt_seconds(ex.retry_after_s) if ex.retry_after_s is not None else "",
        code=ex.error_code or "",
    )
    summary = _fill(rule.summary if rule is not None and rule.summary else default_summary,
                    fields)
    if category == "bad_request" and param and hint and param not in summary:
        summary = summary.rstrip(".") + f": `{param}` — {hint}"

    causes = _causes(causes_spec)

    actions: list[str] = []
    if category == "bad_request" and param:
        actions.append(_fill(ACTIONS["fix_param" if hint else "fix_param_generic"], fields))
    if ex.retry_after_s is not None and retryable:
        actions.append(_fill(ACTIONS["retry_after_header"], fields))
    for action_id in actions_spec:
        template = ACTIONS[action_id]
        actions.append(_fill(template, fields) if action_id in _TEMPLATED else template)
    if category not in ("unknown", "network") and not ex.has_payload and not ex.html:
        actions.append(ACTIONS["capture_body"])
    if ex.request_id and category in ("server", "risk_control", "unknown"):
        actions.append(f"Quote request id {ex.request_id} when you contact support.")
    return summary, causes, tuple(dict.fromkeys(actions))


# The tables are constant: each distinct list of (cause id, likelihood) becomes Cause objects
# once. The key set is bounded by the tables, not by the input.
_CAUSE_TUPLES: dict[tuple[tuple[str, float], ...], tuple[Cause, ...]] = {}
_TEMPLATED = frozenset(k for k, v in ACTIONS.items() if "{" in v)


def _causes(spec: tuple[tuple[str, float], ...]) -> tuple[Cause, ...]:
    """Cause objects for a table entry, highest likelihood first."""
    found = _CAUSE_TUPLES.get(spec)
    if found is None:
        found = tuple(sorted(
            (Cause(id=cid, title=CAUSES[cid][0], likelihood=lk, why=CAUSES[cid][1])
             for cid, lk in spec),
            key=lambda c: -c.likelihood,
        ))
        _CAUSE_TUPLES[spec] = found
    return found


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


def _fmt_seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


__all__ = ["explain", "param_from_message"]
