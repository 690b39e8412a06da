"""Turn a verdict and the evidence into words: summary, ranked causes, ordered actions, and the
one piece of evidence to capture next.

All wording lives in the knowledge table; this module only chooses, fills and orders it, and
keeps the advice coherent with the verdict: a diagnosis that is not retryable never carries an
action or summary that tells the user to retry (auth, quota and permission do not even mention
retrying), and the retry-after step appears only when retrying is the advice.
"""

from __future__ import annotations

import re

from bot.diagnosis.extract import Extracted
from bot.diagnosis.knowledge import DEFAULT, Knowledge, Rule
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

# Words that tell the user to send the same request again.
RETRY_WORDS = re.compile(r"\b(?:retry(?!-after)|retries|retrying|retried|try again|resubmit|resend"
                         r"|submit a new job|send it again)\b", re.IGNORECASE)
NEVER_RETRY = frozenset({"auth", "quota", "permission"})

_SPACES = re.compile(r"[ \t]{2,}")
_SPACE_PUNCT = re.compile(r"\s+([.,:;])")

ASK_BODY = "the response body (the JSON error the API sent back)"
ASK_STATUS = "the HTTP status code of the failed response"
ASK_REQUEST_ID = "the request id (the x-request-id response header)"


def param_from_message(message: str | None, kb: Knowledge = DEFAULT) -> str | None:
    """The parameter a message names, for pastes whose payload has no ``param``."""
    if not message:
        return None
    text = message[:2000]
    for pattern in _PARAM_IN_MESSAGE:
        m = pattern.search(text)
        if m:
            return m.group(1)
    for rx, name in _aliases(kb):
        if rx.search(text):
            return name
    return None


_ALIAS_CACHE: dict[tuple[tuple[str, str], ...], tuple[tuple[re.Pattern[str], str], ...]] = {}


def _aliases(kb: Knowledge) -> tuple[tuple[re.Pattern[str], str], ...]:
    found = _ALIAS_CACHE.get(kb.param_aliases)
    if found is None:
        found = tuple((re.compile(rx, re.IGNORECASE), name) for rx, name in kb.param_aliases)
        _ALIAS_CACHE[kb.param_aliases] = found
    return found


class _Fields(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


def _fill(template: str, fields: _Fields) -> str:
    try:
        return template.format_map(fields)
    except (ValueError, IndexError, KeyError):
        return template


def suggests_retry(text: str) -> bool:
    """True when ``text`` tells the reader to retry (not when it says retrying will not help)."""
    for m in RETRY_WORDS.finditer(text):
        before = text[max(0, m.start() - 40):m.start()].lower()
        after = text[m.end():m.end() + 40].lower()
        if re.search(r"\b(?:not|no|never|don't|avoid|without|stop|instead of)\b[^.;:]*$", before):
            continue
        if re.match(r"[^.;]*\b(?:will not|won't|does not|doesn't|cannot) help", after):
            continue
        return True
    return False


_RETRY_TEXT: dict[tuple[str, bool], bool] = {}


def _retry_text(text: str, strict: bool) -> bool:
    """``suggests_retry`` (or any retry word when ``strict``), remembered per text: action
    texts come from the table, so the cache is bounded by it (templates filled with a
    parameter name or a request id are not kept)."""
    key = (text, strict)
    found = _RETRY_TEXT.get(key)
    if found is None:
        found = bool(RETRY_WORDS.search(text)) if strict else suggests_retry(text)
        if len(_RETRY_TEXT) < 4096:
            _RETRY_TEXT[key] = found
    return found


def ask_for(ex: Extracted, category: str) -> str | None:
    """The one missing piece of evidence that would settle the diagnosis, if any."""
    if category == "network":
        return None  # the request never completed: there is no response to capture
    if not (ex.has_payload and ex.message) and not ex.html:
        return ASK_BODY
    if ex.status is None:
        return ASK_STATUS
    if ex.request_id is None and category in ("server", "risk_control", "unknown"):
        return ASK_REQUEST_ID
    return None


def explain(rule: Rule | None, category: str, ex: Extracted, param: str | None,
            retryable: bool | None, kb: Knowledge = DEFAULT,
            ) -> tuple[str, tuple[Cause, ...], tuple[str, ...]]:
    """Summary sentence, causes (highest likelihood first) and actions for this diagnosis.

    The result depends only on the values in ``key`` (the rule, the verdict and the few fields
    the templates name), so it is made once per distinct key: most pastes are one of a few
    hundred error kinds. The request id is part of the key only where a step quotes it."""
    quoted_id = ex.request_id if category in ("server", "risk_control", "unknown") else None
    key = (rule.id if rule is not None else None, category, retryable, ex.provider, param,
           ex.error_code, ex.status, ex.retry_after_s, ex.has_payload, ex.html, quoted_id)
    found = kb.advice_cache.get(key)
    if found is None:
        found = _explain(rule, category, ex, param, retryable, kb)
        if len(kb.advice_cache) < ADVICE_CACHE_SIZE:
            kb.advice_cache[key] = found
    return found


ADVICE_CACHE_SIZE = 4096


def _explain(rule: Rule | None, category: str, ex: Extracted, param: str | None,
             retryable: bool | None, kb: Knowledge,
             ) -> tuple[str, tuple[Cause, ...], tuple[str, ...]]:
    default_summary, causes_spec, actions_spec = kb.categories[category]
    if ex.provider == "gateway" and category in kb.gateway_overrides:
        g_causes, g_actions = kb.gateway_overrides[category]
        causes_spec = g_causes or causes_spec
        actions_spec = g_actions or actions_spec
    if rule is not None and rule.causes:
        causes_spec = rule.causes
    if rule is not None and rule.actions:
        actions_spec = rule.actions

    hint = (kb.param_hints.get(f"{param}:{(ex.error_code or '').lower()}")
            or kb.param_hints.get(param or "", "")) if param else ""
    provider = kb.provider_names.get(ex.provider) or kb.provider_names.get("unknown", "the API")
    fields = _Fields(
        provider=provider,
        provider_name=provider[:1].upper() + provider[1:],
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
    if "  " in summary or " ." in summary or " ," in summary or " :" in summary:
        summary = _SPACE_PUNCT.sub(r"\1", _SPACES.sub(" ", summary)).strip()  # empty fields
    if category == "bad_request" and param and hint and param not in summary:
        summary = summary.rstrip(".") + f": `{param}` — {hint}"

    causes = _causes(kb, causes_spec)

    actions: list[str] = []
    if category == "bad_request" and param:
        actions.append(_fill(kb.actions["fix_param" if hint else "fix_param_generic"], fields))
    if ex.retry_after_s is not None and retryable:
        actions.append(_fill(kb.actions["retry_after_header"], fields))
    for template, templated in _steps(kb, actions_spec, category, retryable):
        actions.append(_fill(template, fields) if templated else template)
    if category not in ("unknown", "network") and not ex.has_payload and not ex.html:
        actions.append(kb.actions["capture_body"])
    if ex.request_id and category in ("server", "risk_control", "unknown"):
        actions.append(f"Quote request id {ex.request_id} when you contact support.")
    if retryable is not True and len(actions) > 0:
        # Coherent advice: no "retry" step on a diagnosis that is not retryable (the table's
        # own steps are checked once in _steps; here the ones filled in from the paste). The
        # one exception is Contract 1's seed error (risk control): its steps end with
        # waiting before retrying, after the checks, because its causes include temporary ones.
        strict = category in NEVER_RETRY
        keep = kb.actions.get("wait_retry_later") if category == "risk_control" else None
        actions = [a for a in actions if a == keep or not _retry_text(a, strict)]
    return summary, causes, tuple(dict.fromkeys(actions))


def _steps(kb: Knowledge, spec: tuple[str, ...], category: str,
           retryable: bool | None) -> tuple[tuple[str, bool], ...]:
    """The table's steps for ``spec`` as (template, needs filling), made once per table and
    category: steps that would tell a non-retryable diagnosis to retry are left out here."""
    key = (spec, category, retryable)
    found = kb.step_cache.get(key)
    if found is None:
        strict = category in NEVER_RETRY
        keep = kb.actions.get("wait_retry_later") if category == "risk_control" else None
        steps = []
        for action_id in spec:
            template = kb.actions[action_id]
            if (retryable is not True and template != keep
                    and _retry_text(template, strict)):
                continue
            steps.append((template, "{" in template))
        found = tuple(steps)
        kb.step_cache[key] = found  # bounded by the table: its action lists × categories
    return found


def _causes(kb: Knowledge, spec: tuple[tuple[str, float], ...]) -> tuple[Cause, ...]:
    """Cause objects for a table entry, highest likelihood first (made once per entry)."""
    found = kb.cause_cache.get(spec)
    if found is None:
        found = tuple(sorted(
            (Cause(id=cid, title=kb.causes[cid][0], likelihood=lk, why=kb.causes[cid][1])
             for cid, lk in spec),
            key=lambda c: -c.likelihood,
        ))
        kb.cause_cache[spec] = found
    return found


def _fmt_seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


__all__ = ["ASK_BODY", "ASK_REQUEST_ID", "ASK_STATUS", "NEVER_RETRY", "RETRY_WORDS", "ask_for",
           "explain", "param_from_message", "suggests_retry"]
