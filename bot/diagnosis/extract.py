"""Find the error in whatever people paste.

Input is already redacted. Output is an ``Extracted``: the payload fields (``type``, ``code``,
``message``, ``param``), the HTTP status *only when the text shows it*, exception class names
(the last exception of a traceback counts), Node/undici error codes, HTML page facts, header
hints (``retry-after``, ``x-request-id``), the provider, and ``hay``: the short evidence text
the knowledge rules match on.

Linear and bounded by construction:

* Only a *window* of the paste is read: all of it up to 48 KiB, else the first and last 24 KiB
  (errors sit at the start of a response or at the end of a log/traceback).
* JSON objects are decoded in place by the C decoder (``raw_decode``); Python reprs by a token
  walk (whole string literals are single regex tokens) that translates them to JSON; escaped
  JSON by an iterative, string-aware bracket matcher. All three are iterative, with a depth
  limit, a per-object size limit, a candidate limit and a global step budget.
* Regexes use bounded repetition and start with a literal or a small character class (the
  regex engine then skips ahead at C speed); the case-insensitive work runs on short texts.
"""

from __future__ import annotations

import ast
import itertools
import json
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Any, NamedTuple

from bot.diagnosis.codewords import (
    CODE_MESSAGE,
    DEBUG_CODES,
    QUOTA_LIMIT_ZERO,
    join_wrapped,
    mentioned_exceptions,
    side_codes,
)
from bot.diagnosis.knowledge import PROVIDER_HINTS, PROVIDER_HINTS_CJK

HEAD = 24 * 1024
TAIL = 24 * 1024
MAX_DEPTH = 48            # deeper brackets are not an error body
MAX_OBJECT = 32 * 1024    # longest object we try to parse
MAX_CANDIDATES = 64       # '{' positions tried per text
STEP_BUDGET = 20_000      # bracket-matcher tokens per text
MAX_UNWRAP = 3            # errors wrapped in errors' message strings
FIELD_CAP = 2000          # longest field value kept


@dataclass(slots=True)
class Payload:
    """The fields of one error body."""

    message: str | None = None
    error_type: str | None = None
    error_code: str | None = None
    param: str | None = None
    status: int | None = None
    codes: set[str] = field(default_factory=set)
    messages: list[str] = field(default_factory=list)   # outer and inner messages
    job_failed: bool = False
    openai_shape: bool = False   # {"message","type","param","code"} or a Sora video object
    wrapped: bool = False        # found inside another error's message (a gateway relaying it)
    raw: str | None = None       # the upstream's own error as a relay quotes it (metadata.raw)


@dataclass(slots=True)
class Extracted:
    """Everything the classifier and the explainer need from one paste."""

    status: int | None = None
    error_type: str | None = None
    error_code: str | None = None
    message: str | None = None
    param: str | None = None
    codes: frozenset[str] = frozenset()
    exceptions: frozenset[str] = frozenset()
    exception_line: str | None = None
    exception_name: str | None = None
    html: bool = False
    html_title: str | None = None
    retry_after_s: float | None = None
    request_id: str | None = None
    provider: str = "unknown"
    hay: str = ""
    hay_lower: str = ""
    job_failed: bool = False
    has_payload: bool = False
    wrapped: bool = False

    def facts(self) -> frozenset[str]:
        """The facts of ``knowledge.PREDICATES`` that hold for this paste."""
        status = self.status
        band = (0 if status is None else 1 if 400 <= status <= 499 else 2
                if 500 <= status <= 599 else 3)
        return _FACTS[(bool(self.param), band, bool(self.html), bool(self.job_failed),
                       bool(self.has_payload), bool(self.wrapped), bool(self.exceptions))]


def _facts_table() -> dict[tuple[bool, int, bool, bool, bool, bool, bool], frozenset[str]]:
    """``Extracted.facts`` for every combination of what it looks at (made once)."""
    table = {}
    flags = (False, True)
    for param, band, html, job_failed, has_payload, wrapped, exception in itertools.product(
            flags, range(4), flags, flags, flags, flags, flags):
        out = {"param_set" if param else "param_null",
               "no_status" if band == 0 else "has_status"}
        if band == 1:
            out.add("status_4xx")
        elif band == 2:
            out.add("status_5xx")
        for name, on in (("html", html), ("job_failed", job_failed),
                         ("has_payload", has_payload), ("wrapped", wrapped),
                         ("exception", exception)):
            if on:
                out.add(name)
        table[(param, band, html, job_failed, has_payload, wrapped, exception)] = frozenset(out)
    return table


_FACTS = _facts_table()


# ---------------------------------------------------------------------------------------------
# window
# ---------------------------------------------------------------------------------------------
def window(text: str) -> str:
    """The part of the paste we read: all of a normal paste, head and tail of a huge one."""
    if len(text) <= HEAD + TAIL:
        return text
    return text[:HEAD] + "\n" + text[-TAIL:]


def _contains_any(text: str, needles: tuple[str, ...]) -> bool:
    for needle in needles:
        if needle in text:
            return True
    return False


def _head_tail(text: str, n: int) -> str:
    return text if len(text) <= 2 * n else text[:n] + "\n" + text[-n:]


# ---------------------------------------------------------------------------------------------
# objects: JSON, Python reprs, escaped JSON
# ---------------------------------------------------------------------------------------------
_TOKENS = re.compile(r"[{}\[\]\"'\\]")   # for escaped JSON: every quote and backslash counts


class _Budget:
    __slots__ = ("steps",)

    def __init__(self, steps: int) -> None:
        self.steps = steps


def _match_end(text: str, start: int, budget: _Budget) -> int | None:
    """Index just after the bracket that closes ``text[start]`` (a ``{``), or None.

    Iterative; skips brackets inside single- or double-quoted strings and escaped characters;
    gives up beyond ``MAX_DEPTH`` nesting, ``MAX_OBJECT`` characters or the step budget.
    """
    depth = 0
    quote = ""
    skip = -1
    end = min(len(text), start + MAX_OBJECT)
    for m in _TOKENS.finditer(text, start, end):
        budget.steps -= 1
        if budget.steps < 0:
            return None
        i = m.start()
        if i == skip:
            continue
        c = text[i]
        if c == "\\":
            skip = i + 1
        elif quote:
            if c == quote:
                quote = ""
        elif c == '"' or c == "'":
            quote = c
        elif c == "{" or c == "[":
            depth += 1
            if depth > MAX_DEPTH:
                return None
        else:
            depth -= 1
            if depth == 0:
                return i + 1
            if depth < 0:
                return None
    return None


_DECODER = json.JSONDecoder()
# ``raw_decode`` without its wrapper: no value at the index is a StopIteration here, not a
# JSONDecodeError (whose line and column cost a count of the text's newlines per failure).
_SCAN: Callable[[str, int], tuple[Any, int]] = _DECODER.scan_once  # type: ignore[attr-defined]
# Python repr tokens: whole single/double-quoted strings (one token each, at C speed), brackets.
_REPR_TOKENS = re.compile(r"'(?:[^'\\\n]|\\.)*'|\"(?:[^\"\\\n]|\\.)*\"|[{}\[\]()]")
_PY_HEX = re.compile(r"\\x([0-9a-fA-F]{2})")
_CLOSE = {"}": "}", "]": "]", ")": "]"}


def _py_str(token: str) -> str:
    """A Python string literal token as a JSON string literal."""
    if token[0] == '"':
        body = token[1:-1]
    else:
        body = token[1:-1]
        if "\\'" in body:
            body = body.replace("\\'", "'")
        if '"' in body:
            body = body.replace('"', '\\"')
    if "\\x" in body:
        body = _PY_HEX.sub(r"\\u00\1", body)
    return '"' + body + '"'


def _py_gap(gap: str) -> str:
    if "None" in gap:
        gap = gap.replace("None", "null")
    if "True" in gap:
        gap = gap.replace("True", "true")
    if "False" in gap:
        gap = gap.replace("False", "false")
    return gap


_SWAP_QUOTES = str.maketrans("'\"", "\"'")
_PY_WORDS = {"None": "null", "True": "true", "False": "false"}
_FAST_REPR = 4096  # (below MAX_OBJECT)


def _repr_as_json(text: str, start: int, budget: _Budget) -> tuple[Any, int] | None:
    """``parse_repr_at``'s result at C speed for the usual repr, or None (then the token walk
    decides). The usual repr quotes every string with ``'`` and holds no ``"``, ``\\'`` or
    ``\\x`` (the walk rewrites that escape wherever it sees one) and no tuples: swapping the
    two quote characters, and spelling None/True/False between the strings as JSON (each word
    as long as its JSON spelling), makes it the very JSON text the token walk would build, so
    the C decoder gives the same object and end. The walk's limits hold too: its tokens (the
    strings and the brackets between them) are counted off the budget, and at most
    ``MAX_DEPTH`` opening brackets, so no deeper nesting. Only the first ``_FAST_REPR``
    characters are read (a longer repr is left to the walk): each of a text's candidates
    costs little even when none of them decodes."""
    segment = text[start:start + _FAST_REPR]
    swapped = segment.translate(_SWAP_QUOTES)
    words = [w for w in _PY_WORDS if w in swapped]
    for word in words:
        swapped = swapped.replace(word, _PY_WORDS[word])
    try:
        obj, end = _SCAN(swapped, 0)
    except (StopIteration, ValueError, RecursionError):
        return None
    region = segment[:end]
    if '"' in region or "\\'" in region or "\\x" in region:
        return None
    parts = region.split("'")  # every ' starts or ends a string: the odd parts are strings
    if words:
        strings = "'".join(parts[1::2])
        if any(w in strings for w in words):
            return None  # the walk leaves a None/True/False inside a string as it is
    between = "".join(parts[::2])
    opening = between.count("{") + between.count("[")
    steps = (len(parts) - 1) // 2 + 2 * opening
    if opening > MAX_DEPTH or steps > budget.steps:
        return None
    budget.steps -= steps
    return obj, start + end


def parse_repr_at(text: str, start: int, budget: _Budget) -> tuple[Any, int] | None:
    """The Python repr (dict/list of str, numbers, None/True/False, tuples) starting at
    ``text[start]``, translated to JSON token by token and decoded by the C decoder;
    ``(object, end)`` or None. ``ast.literal_eval`` is the fallback for what JSON can't say."""
    fast = _repr_as_json(text, start, budget)
    if fast is not None:
        return fast
    depth = 0
    pieces: list[str] = []
    last = start
    end = min(len(text), start + MAX_OBJECT)
    for m in _REPR_TOKENS.finditer(text, start, end):
        budget.steps -= 1
        if budget.steps < 0:
            return None
        s, e = m.span()
        if s > last:
            pieces.append(_py_gap(text[last:s]))
        token = m.group()
        c = token[0]
        if c == "'" or c == '"':
            pieces.append(_py_str(token))
        elif c in "{[(":
            depth += 1
            if depth > MAX_DEPTH:
                return None
            pieces.append("[" if c == "(" else c)
        else:
            depth -= 1
            pieces.append(_CLOSE[c])
            if depth <= 0:
                if depth < 0:
                    return None
                try:
                    return json.loads("".join(pieces)), e
                except (ValueError, RecursionError):
                    pass
                if e - start > 8192:
                    return None
                try:
                    return ast.literal_eval(text[start:e]), e
                except Exception:  # noqa: BLE001 - literal_eval raises many kinds on junk
                    return None
        last = e
    return None


def _parse(segment: str) -> Any:
    """JSON escaped inside a string (\\" and \\n escapes); None when it is not."""
    try:
        return json.loads(json.loads('"' + segment + '"'))
    except (ValueError, RecursionError, TypeError):
        pass
    if '\\"' in segment:
        try:
            return json.loads(segment.replace('\\"', '"'))
        except (ValueError, RecursionError):
            pass
    return None


def parse_objects(text: str, budget: _Budget | None = None) -> list[Any]:
    """Every JSON/repr object in ``text``, in order (bounded work).

    JSON is decoded in place by the C decoder (``raw_decode``); only what it rejects goes
    through the bracket matcher and the repr / escaped-JSON parsers.
    """
    budget = budget or _Budget(STEP_BUDGET)
    found: list[Any] = []
    pos = 0
    for _ in range(MAX_CANDIDATES):
        start = text.find("{", pos)
        if start == -1 or budget.steps <= 0:
            break
        try:
            obj, end = _SCAN(text, start)
            found.append(obj)
            pos = end
            continue
        except (StopIteration, ValueError, RecursionError):
            pass
        # What the C decoder rejects is worth the (Python) token walk only when it looks like
        # a Python repr ({'…) or escaped JSON ({\"… or {\n…).
        head = text[start + 1:start + 12].lstrip()
        if head.startswith("'"):
            parsed = parse_repr_at(text, start, budget)
            if parsed is not None:
                found.append(parsed[0])
                pos = parsed[1]
                continue
        elif head.startswith("\\"):
            stop = _match_end(text, start, budget)
            if stop is not None:
                obj = _parse(text[start:stop])
                if obj is not None:
                    found.append(obj)
                    pos = stop
                    continue
        pos = start + 1
    return found


# ---------------------------------------------------------------------------------------------
# error payloads inside parsed objects
# ---------------------------------------------------------------------------------------------
_MSG_KEYS = ("message", "msg", "error_message", "errorMessage", "error_msg", "detail",
             "error_description", "description")
_STATUS_KEYS = ("status", "statusCode", "status_code", "http_status", "httpStatus",
                "raw_status_code", "upstream_status", "httpCode", "http_code")
_STATUS_KEY_SET = frozenset(_STATUS_KEYS)
_ERRORISH_KEYS = ("code", "type", "status", "statusCode", "status_code", "error_code",
                  "errorCode", "errno", "success", "error_type", "param")


def _s(value: Any) -> str | None:
    """A field as a short string; None for empty, null and containers."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        text: str = value.strip()
        if not text or (len(text) == 4 and text.lower() in ("null", "none")):
            return None
        return text[:FIELD_CAP]
    return None


def _status_of(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and 100 <= value <= 599:
        return value
    if isinstance(value, str) and len(value) == 3 and value.isdigit() and "1" <= value[0] <= "5":
        return int(value)
    return None


def _first_message(d: dict[str, Any]) -> str | None:
    for key in _MSG_KEYS:
        value = d.get(key)
        if value is not None:
            value = _s(value)
            if value:
                return value
    return None


_PER_PERIOD = re.compile(r"Per(?:Second|Minute|Hour|Day)")
_QUOTA_ID = re.compile(r"quotaId\\?[\"']?[ \t]{0,3}[:=][ \t]{0,3}\\?[\"']?[A-Za-z\-]{0,80}?"
                       r"Per(?:Second|Minute|Hour|Day)")


_GRPC_CODES = {1: "cancelled", 2: "unknown", 3: "invalid_argument", 4: "deadline_exceeded",
               5: "not_found", 6: "already_exists", 7: "permission_denied",
               8: "resource_exhausted", 9: "failed_precondition", 10: "aborted",
               11: "out_of_range", 12: "unimplemented", 13: "internal", 14: "unavailable",
               15: "data_loss", 16: "unauthenticated"}


def _from_error_dict(err: dict[str, Any], parent: dict[str, Any]) -> Payload:
    p = Payload()
    p.message = _first_message(err)
    p.error_type = _s(err.get("type")) or _s(err.get("error_type"))
    code = err.get("code", err.get("error_code", err.get("errorCode")))
    p.error_code = _s(code)
    p.param = _s(err.get("param"))
    meta = err.get("metadata")
    if isinstance(meta, dict) and isinstance(meta.get("raw"), str):
        # OpenRouter's "Provider returned error": the provider's own body is metadata.raw
        p.raw = meta["raw"][:FIELD_CAP] or None
    p.openai_shape = ("message" in err and "type" in err and "param" in err) or (
        parent.get("object") == "video")
    for container in (err, parent):
        if _STATUS_KEY_SET.isdisjoint(container):
            continue  # the usual case: no status field to read
        for key in _STATUS_KEYS:
            value = container.get(key)
            if type(value) is int and p.status is None:
                p.status = _status_of(value)
    if p.status is None and isinstance(code, int):
        p.status = _status_of(code)
    if type(code) is int and code in _GRPC_CODES and (
            "done" in parent or "operations/" in str(parent.get("name", ""))):
        # a Google long-running operation (Veo) failed: its error code is a gRPC status number
        p.codes.add(_GRPC_CODES[code])
    details = err.get("details")
    if isinstance(details, list):
        # Google-style errors: the decisive reason (PUBLIC_ERROR_UNSAFE_GENERATION,
        # USER_REQUESTS_THROTTLED …) sits in details[].reason, not in the message.
        for item in details[:4]:
            if isinstance(item, dict):
                reason = _s(item.get("reason"))
                if reason:
                    p.codes.add(reason.lower())
                    p.messages.append(reason)
                violations = item.get("violations")
                if isinstance(violations, list):
                    # google.rpc.QuotaFailure: quotaId "GenerateRequestsPerMinutePerProject…"
                    # names the period of the limit that was hit (a rate limit, not billing)
                    for v in violations[:8]:
                        quota_id = _s(v.get("quotaId")) if isinstance(v, dict) else None
                        if quota_id and _PER_PERIOD.search(quota_id):
                            p.codes.add("quota_failure:per_period")
    for key in ("status",):  # Google style: "status": "RESOURCE_EXHAUSTED"
        value = err.get(key)
        if isinstance(value, str) and not value.isdigit():
            p.codes.add(value.lower())
    inner = err.get("innererror") or err.get("inner_error")
    if isinstance(inner, dict):
        inner_code = _s(inner.get("code"))
        if inner_code:
            p.codes.add(inner_code.lower())
    parent_type = _s(parent.get("type")) if parent is not err else None
    if parent_type:
        p.codes.add(parent_type.lower())
    return p


_JOB_STATUS_KEYS = ("status", "state", "task_status", "taskStatus", "job_status", "jobStatus")
_JOB_STATUS_KEY_SET = frozenset(_JOB_STATUS_KEYS)
_JOB_FAILED = frozenset({"failed", "fail", "failure", "error", "errored", "生成失败", "失败"})
_JOB_REASON_KEYS = ("failure_reason", "failureReason", "fail_reason", "failReason", "task_status_msg",
                    "status_msg", "failure", "failure_message", "failureMessage", "error_message",
                    "errorMessage", "errorReason", "error_reason", "reason", "message", "msg")
_JOB_CODE_KEYS = ("failure_code", "failureCode", "fail_code", "error_code", "errorCode", "code")


def _job_failed(d: dict[str, Any]) -> bool:
    if _JOB_STATUS_KEY_SET.isdisjoint(d):
        return False
    for key in _JOB_STATUS_KEYS:
        value = d.get(key)
        if isinstance(value, str) and value.strip().lower() in _JOB_FAILED:
            return True
    return False


def _job_payload(d: dict[str, Any]) -> Payload | None:
    """A failed job / task object (Sora video, Kling, Luma, Runway, DashScope, MiniMax …): the
    reason sits in one of many differently named fields next to the status."""
    err = d.get("error")
    if isinstance(err, dict) and err:
        p = _from_error_dict(err, d)
    else:
        p = Payload(message=_s(err) if isinstance(err, str) else None)
    p.job_failed = True
    base = d.get("base_resp")
    if isinstance(base, dict) and isinstance(base.get("status_code"), int) and base["status_code"]:
        # MiniMax: the failed task's reason sits in base_resp
        p.codes.add(f"minimax:{base['status_code']}")
        if p.message is None:
            p.message = _s(base.get("status_msg"))
    for key in _JOB_REASON_KEYS:
        value = _s(d.get(key))
        if value and not value.isdigit():
            if p.message is None:
                p.message = value
            elif value != p.message:
                p.messages.append(value)
    for key in _JOB_CODE_KEYS:
        value = _s(d.get(key))
        if value and value not in ("0", "200"):
            p.codes.add(value.lower())
            if p.error_code is None:
                p.error_code = value
    if p.message is None and p.error_code is None and p.error_type is None:
        return None  # "status": "failed" and nothing else: the paste hides the reason
    return p


_SUCCESS_WORDS = frozenset({"succeed", "success", "succeeded", "ok", "成功"})


def _success_envelope(d: dict[str, Any]) -> bool:
    """An envelope that says the call itself succeeded (the error, if any, is deeper)."""
    message = d.get("message", d.get("msg"))
    return (d.get("code") in (0, "0", 200, "200") and isinstance(message, str)
            and message.strip().lower() in _SUCCESS_WORDS)


def _wraps_error_body(d: dict[str, Any]) -> bool:
    """True when a child of this dict is itself an error body ({"error": {…}}): the dict is
    an envelope a client or proxy put around the provider's answer, whose own message
    ("不合法的 OpenAI 响应", "Invalid OpenAI Response") says only that something failed."""
    for value in list(d.values())[:16]:
        if isinstance(value, dict):
            inner = value.get("error")
            if isinstance(inner, dict) and inner:
                return True
    return False


def _payload_from_dict(d: dict[str, Any]) -> Payload | None:
    """The error described by this dict itself, or None (its children are searched apart)."""
    job_failed = _job_failed(d)
    if job_failed:
        return _job_payload(d)
    base = d.get("base_resp")
    if isinstance(base, dict):
        # MiniMax: HTTP 200 with {"base_resp": {"status_code": 1008, "status_msg": "…"}}
        code = base.get("status_code")
        if isinstance(code, int) and code != 0:
            p = Payload(message=_s(base.get("status_msg")), error_code=str(code))
            p.codes.add(f"minimax:{code}")
            return p
    err = d.get("error")
    if isinstance(err, list) and err and isinstance(err[0], dict):
        err = err[0]  # {"success": false, "error": [{"code": 2005, "message": "…"}]}
    if _success_envelope(d):
        return None  # {"code": 0, "message": "SUCCEED", "data": {… the failed task …}}
    if isinstance(err, dict) and err:
        nested = err.get("error")
        if isinstance(nested, dict) and nested:
            d, err = err, nested
        p = _from_error_dict(err, d)
        p.job_failed = job_failed
        if p.message or p.error_code or p.error_type:
            return p
    if isinstance(err, str) and _s(err):
        message = _first_message(d)
        p = _from_error_dict(d, d)
        p.message = message or _s(err)
        if message and not p.error_type:
            p.error_type = _s(err)
        p.job_failed = job_failed
        return p
    errors = d.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return _payload_from_dict({"error": errors[0]})
    detail = d.get("detail")
    if isinstance(detail, list) and detail and isinstance(detail[0], dict):
        first = detail[0]
        p = Payload(message=_s(first.get("msg")), error_type=_s(first.get("type")))
        loc = first.get("loc")
        if isinstance(loc, list) and loc:
            p.param = _s(loc[-1])
        if p.message:
            return p
    message = _first_message(d)
    if message and (isinstance(detail, str) or any(k in d for k in _ERRORISH_KEYS)):
        if _wraps_error_body(d):
            return None  # a client's envelope ("Invalid OpenAI response", body: {error: …})
        p = _from_error_dict(d, d)
        p.message = message
        p.job_failed = job_failed
        return p
    return None


_CODE_LIKE = re.compile(r"[A-Z][A-Z0-9]*(?:[_.][A-Z0-9]+)+|[A-Z][a-z]+(?:[A-Z][a-z0-9]+)+")


def _codes_from_messages(p: Payload) -> None:
    """A message that is a bare code ("INSUFFICIENT_CREDITS", "TASK_NOT_FOUND",
    "InvalidParameter") is a code as well."""
    for value in (p.message, p.error_type):
        if value and len(value) <= 64 and _CODE_LIKE.fullmatch(value):
            p.codes.add(value.lower())
    message = p.message
    if message and len(message) <= 200 and ": " in message:
        # a wrapper's prefix before the code: "Gemini API error: IMAGE_SAFETY"
        tail = message.rsplit(": ", 1)[1].strip()
        if len(tail) <= 64 and _CODE_LIKE.fullmatch(tail):
            p.codes.add(tail.lower())


def find_payload(obj: Any) -> Payload | None:
    """Breadth-first search (bounded) for the first error-bearing dict in a parsed object."""
    queue: deque[tuple[Any, int]] = deque([(obj, 0)])
    seen = 0
    while queue and seen < 2000:
        node, depth = queue.popleft()
        seen += 1
        if isinstance(node, dict):
            payload = _payload_from_dict(node)
            if payload is not None:
                _codes_from_messages(payload)
                return payload
            children = list(node.values())
        elif isinstance(node, list):
            children = node[:64]
        else:
            continue
        if depth < 16:
            queue.extend((c, depth + 1) for c in children if isinstance(c, (dict, list)))
    return None


def _unwrap(payload: Payload, level: int, budget: _Budget) -> Payload:
    """Errors wrapped in another error's message (gateways): take the innermost real one."""
    payload.messages.append(payload.message or "")
    message = payload.message or ""
    raw = payload.raw
    if level >= MAX_UNWRAP or ("{" not in message and raw is None):
        return payload
    inner = None
    for source in (message, raw):
        if source and "{" in source:
            for obj in parse_objects(source, budget):
                found = find_payload(obj)
                if found is not None and (found.message or found.error_code):
                    inner = found
    if inner is None:
        if raw:
            payload.messages.append(raw)  # the upstream's words, not an object
        return payload
    inner = _unwrap(inner, level + 1, budget)
    inner.wrapped = True
    inner.messages = payload.messages + inner.messages
    inner.status = inner.status or payload.status
    inner.codes |= payload.codes
    for name in ("error_type", "error_code", "param"):
        if getattr(inner, name) is None and name != "param":
            setattr(inner, name, getattr(payload, name))
    inner.job_failed = inner.job_failed or payload.job_failed
    inner.openai_shape = inner.openai_shape or payload.openai_shape
    return inner


# Fields found by regex when no object parses (truncated JSON, JS inspect output, escaped).
# Each starts with a literal (fast scanning); the look-behind keeps "content-type" or
# "statusCode" from counting as "type" or "code".
_SEP_FIELD = r"\\?[\"']?[ \t]{0,3}[:=][ \t]{0,3}"
_F_MESSAGE = re.compile(r"m(?<![A-Za-z\-]m)(?:essage|sg)" + _SEP_FIELD +
                        r"\\?([\"'])([^\n]{1,2000}?|[\s\S]{1,2000}?)(?<!\\)\\?\1"
                        r"(?=[ \t]{0,3}[,}\n\r]|$)")  # a terminal may wrap the message
_F_CODE = re.compile(r"code(?<![A-Za-z_\-]code)" + _SEP_FIELD + r"\\?[\"']?([A-Za-z0-9_.\-]{1,80})")
_F_TYPE = re.compile(r"type(?<![A-Za-z_\-]type)" + _SEP_FIELD + r"\\?[\"']?([A-Za-z0-9_.\-]{1,80})")
_F_PARAM = re.compile(r"param(?<![A-Za-z_\-]param)" + _SEP_FIELD +
                      r"\\?[\"']?([A-Za-z0-9_.\[\]\-]{1,80})")


# a paste cut off inside the message string ('{"message":"Due to suspicious activity, we ar'):
# the quote never closes; the message runs to the end of the text
_F_MESSAGE_CUT = re.compile(r"m(?<![A-Za-z\-]m)(?:essage|sg)" + _SEP_FIELD +
                            r"\\?[\"']([^\"\r\n]{12,2000})\Z")
_BACKSLASH_RUN = re.compile(r"\\{2,}")


def _payload_from_fields(text: str) -> Payload | None:
    p = Payload()
    m = _F_MESSAGE.search(text)
    if m:
        p.message = _s(m.group(2).replace('\\"', '"'))
    else:
        cut = _F_MESSAGE_CUT.search(text.rstrip())
        if cut:
            p.message = _s(cut.group(1).replace('\\"', '"'))
    for regex, name in ((_F_CODE, "error_code"), (_F_TYPE, "error_type"), (_F_PARAM, "param")):
        m = regex.search(text)
        if m:
            setattr(p, name, _s(m.group(1)))
    if p.message is None and p.error_code is None:
        return None
    if p.message is not None and "\\" in text:
        # a truncated body that relays another (escaped once more at each level): the
        # messages of the deeper levels say what failed ("… was not found …")
        flat = _BACKSLASH_RUN.sub("\\\\", text).replace('\\"', '"')
        for m in _F_MESSAGE.finditer(flat):
            value = _s(m.group(2))
            if value and value != p.message and value not in p.messages:
                p.messages.append(value[:FIELD_CAP])
                if len(p.messages) >= 4:
                    break
    if p.error_code and p.error_code.isdigit():
        p.status = _status_of(p.error_code)
    return p


_FULLWIDTH_JSON = str.maketrans({"\u201c": '"', "\u201d": '"', "\uff1a": ":", "\uff0c": ","})


def extract_payload(text: str) -> Payload | None:
    """The last error body in the text (tracebacks: the last exception), unwrapped."""
    budget = _Budget(STEP_BUDGET)
    payload = None
    for obj in parse_objects(text, budget):
        found = find_payload(obj)
        if found is not None:
            payload = found
    if payload is None and ("\u201c" in text or "\u201d" in text):
        # a body whose quotes an input method or a translator made full-width
        # ({”code”：“AccessDenied”，…}): read it with ASCII punctuation
        text = text.translate(_FULLWIDTH_JSON)
        for obj in parse_objects(text, budget):
            found = find_payload(obj)
            if found is not None:
                payload = found
    if payload is None:
        if not ("message" in text or "msg" in text or "code" in text):
            return None
        payload = _payload_from_fields(_head_tail(text, 8192))
        if payload is None:
            return None
        _codes_from_messages(payload)
    return _unwrap(payload, 0, budget)


# ---------------------------------------------------------------------------------------------
# exception lines (Python, Node, SDKs)
# ---------------------------------------------------------------------------------------------
_EXC_TAIL = r"(?:[ \t]?\[[A-Za-z_]\w{0,40}\])?(?::|[ \t]*(?:\r?\n|$)|\)|'>|`)"
# Capitalised suffixes share a two-letter start set (E, T) the regex engine skips on fast;
# socket.gaierror / socket.timeout are looked for only when the plain text contains them.
# (group 1: the suffix word, the end of the class name)
_EXC_SUFFIX = re.compile(r"(E(?:rror|xception|xceeded)|Timeout)" + _EXC_TAIL)  # shared "E"
_EXC_SUFFIX_LOWER = re.compile(r"(gaierror|timeout)" + _EXC_TAIL)
_LEADING_STATUS = re.compile(r"^[1-5]\d\d\b[ \t]*")
_NAME_BACK = re.compile(r"[A-Za-z0-9_.]*")   # matched on the reversed text before a suffix


class ExceptionLine(NamedTuple):
    name: str        # qualified as written: openai.RateLimitError
    short: str       # RateLimitError
    line: str        # the whole line, trimmed
    message: str     # what follows "Name:", without a leading status code ("400 ")


def exception_lines(text: str, keep: int = 3) -> list[ExceptionLine]:
    """The last ``keep`` exception lines (``Name: message``) in the text, in order."""
    found: list[ExceptionLine] = []
    matches = list(_EXC_SUFFIX.finditer(text))
    if "gaierror" in text or ".timeout" in text:
        matches = sorted(matches + list(_EXC_SUFFIX_LOWER.finditer(text)), key=lambda m: m.start())
    for m in reversed(matches[-4 * keep:]):  # from the last one back, until ``keep`` found
        if len(found) >= keep:
            break
        start = m.start()
        b = start - _NAME_BACK.match(text[max(0, start - 200):start][::-1]).end()  # type: ignore[union-attr]
        name = text[b:m.end(1)]
        name = name.lstrip(".")
        short = name.rsplit(".", 1)[-1]
        if not short or not (short[0].isupper() or short in ("gaierror", "timeout")):
            continue
        if short == "timeout" and "." not in name:
            continue
        line_start = text.rfind("\n", max(0, b - 300), b) + 1
        line_end = text.find("\n", m.end() - 1 if m.group().endswith("\n") else m.end())
        if line_end == -1 or line_end - m.end() > 1000:
            line_end = min(len(text), m.end() + 1000)
        line = text[line_start:line_end].strip()
        message = text[m.end():line_end].strip() if m.group().endswith(":") else ""
        if message and "1" <= message[0] <= "5":
            message = _LEADING_STATUS.sub("", message)
        found.append(ExceptionLine(name, short, line[:FIELD_CAP], message[:FIELD_CAP]))
    found.reverse()
    return found


_NODE_CODES = re.compile(
    r"\b(E(?:CONNRESET|TIMEDOUT|CONNREFUSED|NOTFOUND|AI_AGAIN|PIPE|HOSTUNREACH|NETUNREACH"
    r"|CONNABORTED)|UND_ERR_[A-Z_]{2,30}|ERR_SOCKET_CONNECTION_TIMEOUT|CERT_HAS_EXPIRED"
    r"|UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT"
    r"|ERR_TLS_CERT_ALTNAME_INVALID)\b"
)


# ---------------------------------------------------------------------------------------------
# HTTP status: only when the text shows one
# ---------------------------------------------------------------------------------------------
_REASONS = (r"Too Many Requests|Bad Gateway|Service (?:Temporarily )?Unavailable|Gateway Time-?out"
            r"|Internal Server Error|Unauthori[sz]ed|Forbidden|Not Found|Bad Request"
            r"|Payment Required|Request Time-?out|Unprocessable Entity|Conflict"
            r"|Request Entity Too Large|Payload Too Large|Method Not Allowed|Client Error"
            r"|Server Error|Web server is returning an unknown error|Web server is down"
            r"|Connection timed out|Origin is unreachable|A timeout occurred"
            r"|SSL handshake failed|Site Overloaded")
# A status is a 3-digit number 1xx–5xx that one of these contexts announces. Candidates are found
# by one cheap scan for such numbers; each is then checked against the text right after it
# (reason phrase, anchored) and right before it. The "before" contexts are matched on the
# reversed preceding text, so that check is one anchored ``match`` too, not a search:
#   HTTP/1.1 429 · Error code: 429 · Error code 520 · Error 524 (Cloudflare) · HTTP 401 ·
#   HTTP Error 429 · status: 503 · Response code 503 · 状态码: 500 · Error reference number: 502 ·
#   status=429 · "statusCode": 500 · status code 500 · Error: 403 … · ERROR: 403 ·
#   Exception: (401) · <title>502 Bad Gateway · curl's "returned error: 404" ·
#   503 (Service Unavailable) · openai-node's "429 status code (no body)" ·
#   httpx's "Client error '400 ' for url …" (the reason phrase may be empty) ·
#   googleapiclient's "<HttpError 400 …" · "Remote Server Returned Code 500"
# (starts with a character class, not a look-behind, so the engine can skip ahead fast)
_STATUS_NUMBER = re.compile(r"[1-5](?<![\d.][1-5])\d\d(?!\d|[.,:]\d)")
STATUS_BEFORE_REVERSED = re.compile(
    r"[ \t]+(?:\d\.)?\d/PTTH"
    r"|[ \t]*:?edo[Cc] rorr[Ee]"
    r"|[ \t]+fo edo[Cc] sutat[Ss]"  # Dio: "the response has a status code of 404"
    r"|[ \t]+rorrE(?![A-Za-z])"
    r"|[ \t:]{1,3}(?:(?:rorr[Ee]|sutat[Ss]|edo[Cc])[ _]?)?PTTH"
    r"|[\"']?\\?[ \t]{0,3}[:=]?[ \t]{0,3}[\"']?\\?"
    r"(?:(?:edo[Cc][ _]?)?sutat[Ss]|SUTATS|edo[Cc][ _]esnopse[Rr])"
    r"|\(?[ \t]*:(?:\]\w{1,40}\[[ \t]?)?(?:rorrE|RORRE|noitpecxE)"
    r"|[^<\d]{0,80}?>eltit<"
    r"|[ \t]*:?rorre denruter"
    r"|[ \t]*:?rebmun ecnerefer"
    r"|[ \t]*[:：]?[ \t]*(?:码态状|码应响|码代|码误错)"
    r"|[ \t]+saw[ \t]+edoc[ \t]+esnopser"
    r"|[ \t]*:edoc\("
    r"|[ \t]+fo[ \t]+sutats a "
    r"|'[ \t]?rorre (?:tneil[Cc]|revre[Ss])"
    r"|[ \t]+rorrE(?:ptt[Hh]|PTTH)"
    r"|[ \t]+edo[Cc] denrute[Rr]"
)
STATUS_AFTER = re.compile(r"[ \t]*(?:[:\-][ \t]*|\()?(?:" + _REASONS + r")\b|[ \t]+status code\b")
# Weaker contexts, asked only when no context above (nor the body's own status field) names a
# status, and only for 4xx/5xx. Each is a pair that must agree on both sides of the number:
#   start of a line / quote / bracket + a message   "400 Your organization…", "（429 当前分组…"
#   "…: " + a body, a capitalised message or the end "failed: 400 - {…}", "image: 402"
#   "request " / "error " / "got " … + a message or a body
#                                                    "request 404 Your…", "ChatGPT error 404: {",
#                                                    "API error 525: <!DOCTYPE html>"
#   an access-log column on both sides               "| 429 |"
#   a Chinese verb (提示 / 返回 / 报错 / 出现 / 遇到) + a word break   "提示403 just a moment"
# (a code frame "  412 |  await …" has no pipe before the number; "余额: 500 元" has ": " before
# a CJK word, which only the first pair accepts.)
_BODY_AFTER = r"[ \t]{0,2}-?[ \t]{0,2}\{|:[ \t]{0,2}\{|[ \t]\([A-Z][A-Za-z ]{2,40}\)"
_WEAK_PAIRS: tuple[tuple[re.Pattern[str], re.Pattern[str]], ...] = (
    (re.compile(r"[ \t]{0,2}(?:\n|$)|[\"'(\[（]"),
     re.compile(_BODY_AFTER + r"|:?[ \t]{1,2}[A-Z][a-z]|:?[ \t]?[\u3000-\u9fff\uff00-\uffef]"
                r"|[: ][A-Z_a-z]{4,}\]|:[a-z_]{4,}|\)[ \t]{0,2}:")),
    (re.compile(r"[ \t]{1,2}:"), re.compile(_BODY_AFTER + r"|[ \t]{1,2}[A-Z][a-z]"
                                            r"|[ \t](?:GET|POST|PUT|PATCH|DELETE) |[ \t]*$")),
    (re.compile(r"[ \t]{1,3}(?:tseuqer|rorre|RORRE|gnitteg|tog|deviecer|denruter|htiw deilper)"
                r"(?![A-Za-z])"),
     re.compile(_BODY_AFTER + r"|:?[ \t]{1,2}[A-Z][a-z]|:[ \t]{0,2}<!?[A-Za-z]")),
    (re.compile(r"[ \t]{1,3}\|"), re.compile(r"[ \t]{1,3}\|")),
    (re.compile(r"[ \t]{0,2}(?:示提|回返|错报|现出|到遇)"),
     re.compile(r"[ \t]|$|[，。,.:：！!]")),
)
_BEFORE_SPAN = 96


# A status number the strong contexts did not confirm, kept for the weak pass:
# (text, start, end, the text before it reversed).
_Candidate = tuple[str, int, int, str]


def _scan_status(sources: list[str], rest: list[_Candidate] | None = None) -> int | None:
    """The first status number a strong context confirms. The 4xx/5xx numbers it looked at in
    vain go to ``rest`` (all of them when it returns None), for ``_scan_status_weak``."""
    for source in sources:
        for n, m in enumerate(_STATUS_NUMBER.finditer(source)):
            if n >= 64:
                break
            start, end = m.span()
            before = source[max(0, start - _BEFORE_SPAN):start][::-1]
            if STATUS_BEFORE_REVERSED.match(before) or STATUS_AFTER.match(source, end):
                return int(m.group())
            if rest is not None and source[start] in "45":
                rest.append((source, start, end, before))
    return None


def _scan_status_weak(candidates: list[_Candidate]) -> int | None:
    """The first of the 4xx/5xx numbers that a weak context pair (``_WEAK_PAIRS``) confirms."""
    for source, start, end, before in candidates:
        for before_rx, after_rx in _WEAK_PAIRS:
            if before_rx.match(before) and after_rx.match(source, end):
                return int(source[start:end])
    return None


def _status_sources(text: str, lines: list[ExceptionLine]) -> list[str]:
    return [lines[-1].line, text] if lines else [text]


def find_status(text: str, lines: list[ExceptionLine], low: str | None = None) -> int | None:
    """The HTTP status shown in the text (the earliest one: the response the client got, not
    an upstream status quoted inside it); the last exception line is asked first."""
    return _scan_status(_status_sources(text, lines))


def find_status_weak(text: str, lines: list[ExceptionLine]) -> int | None:
    """A 4xx/5xx status shown only by weaker contexts (``_WEAK_PAIRS``); asked last."""
    candidates: list[_Candidate] = []
    _scan_status(_status_sources(text, lines), candidates)
    return _scan_status_weak(candidates)


# ---------------------------------------------------------------------------------------------
# headers and hints
# ---------------------------------------------------------------------------------------------
_SEP = r"\\?[\"']?[ \t]{0,3}[:=][ \t]{0,3}\\?[\"']?"
_RETRY_MS = re.compile(r"[Rr]etry-[Aa]fter-[Mm][Ss]" + _SEP + r"(\d{1,9})")
_RETRY_S = re.compile(r"[Rr]etry-[Aa]fter(?!-)" + _SEP + r"(\d{1,7}(?:\.\d{1,3})?)\b")
_RESET = re.compile(r"x-ratelimit-reset-(?:requests|tokens)" + _SEP + r"([0-9hms.]{1,20})")
_TRY_AGAIN = re.compile(r"(?:try again|retry|retrying) (?:in|after) ((?:\d{1,6}(?:\.\d{1,3})?"
                        r" ?(?:ms|milliseconds?|seconds?|secs?|s|minutes?|mins?|m|hours?|h)"
                        r"(?![a-z]) ?){1,3})")
_DURATION = re.compile(r"(\d{1,6}(?:\.\d{1,3})?) ?(ms|milliseconds?|seconds?|secs?|s|minutes?"
                       r"|mins?|m|hours?|h)(?![A-Za-z])", re.IGNORECASE)


def parse_duration(text: str) -> float | None:
    """'7s', '20ms', '1m30s', '6m0s', '2 seconds' → seconds."""
    total = 0.0
    hit = False
    for value, unit in _DURATION.findall(text):
        unit = unit.lower()
        factor = (0.001 if unit.startswith(("ms", "milli")) else 60.0 if unit.startswith("m")
                  else 3600.0 if unit.startswith("h") else 1.0)
        total += float(value) * factor
        hit = True
    return round(total, 3) if hit else None


def find_retry_after(text: str, hay_lower: str, low: str | None = None) -> float | None:
    """Seconds to wait, from retry-after(-ms) headers, "try again in 7s", or rate-limit resets."""
    low = text.lower() if low is None else low
    if "retry-after" in low:
        m = _RETRY_MS.search(text)
        if m:
            return int(m.group(1)) / 1000.0
        m = _RETRY_S.search(text)
        if m:
            return float(m.group(1))
    if "try again" in hay_lower or "retry" in hay_lower:
        m = _TRY_AGAIN.search(hay_lower)
        if m:
            return parse_duration(m.group(1))
    if "x-ratelimit-reset" in low:
        m = _RESET.search(_head_tail(low, 4096))
        if m:
            return parse_duration(m.group(1))
    return None


_REQ_ID = re.compile(r"req_[A-Za-z0-9]{8,64}")
# request-id, x-request-id, apim-request-id, request id, request_id, requestId (literal first)
_REQ_HEADER = re.compile(r"equest(?<=[Rr]equest)[ _-]?[Ii][Dd]\\?[\"']?[ \t]{0,3}[:=]?[ \t]{0,3}"
                         r"\\?[\"']?([\w\-]{6,80})")
_RAY_ID = re.compile(r"Ray ID:?[ \t]*(?:<[^<>]{0,60}>)?[ \t]*([0-9a-f]{16})\b")


def find_request_id(text: str, low: str | None = None) -> str | None:
    """req_… ids, x-request-id / request id values, or a Cloudflare Ray ID."""
    low = text.lower() if low is None else low
    if "req_" in text:
        m = _REQ_ID.search(text)
        if m:
            return m.group()
    if "request" in low:
        for m in _REQ_HEADER.finditer(text):
            value = m.group(1)
            if any(ch.isdigit() for ch in value):
                return value
    if "Ray ID" in text:
        m = _RAY_ID.search(text)
        if m:
            return m.group(1)
    return None


# ---------------------------------------------------------------------------------------------
# HTML pages
# ---------------------------------------------------------------------------------------------
_HTML = re.compile(r"<(?:!doctype html|html|head|title|body)\b", re.IGNORECASE)
_TITLE = re.compile(r"<title[^>]{0,100}>([^<]{0,300})</title>", re.IGNORECASE)
_H1 = re.compile(r"<h1[^>]{0,200}>([^<]{1,300})<", re.IGNORECASE)
_SCRIPT = re.compile(r"<(script|style)\b[^>]{0,300}>.{0,20000}?</\1>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^<>]{0,2000}>")
_SPACE = re.compile(r"\s+")


def html_facts(text: str) -> tuple[str | None, str] | None:
    """(title or h1, visible text) when the paste is an HTML page, else None."""
    head = text[:8192]
    if "<" not in head or not _HTML.search(head):
        return None
    m = _TITLE.search(head) or _H1.search(head)
    title = _SPACE.sub(" ", m.group(1)).strip() if m else None
    visible = _SPACE.sub(" ", _TAG.sub(" ", _SCRIPT.sub(" ", head))).strip()[:3000]
    return title or None, visible


# ---------------------------------------------------------------------------------------------
# provider
# ---------------------------------------------------------------------------------------------
_HOST_AT = re.compile(r"([a-z0-9.\-]{1,253})(?::\d{1,5})?(/[^\s\"'<>)]{0,200})?")


def _hosts(low: str) -> list[tuple[str, str, bool]]:
    """(host, path, named) for URLs and host='…' / connect to host … in a lower-cased text;
    ``named`` when the text names it as the host it talks to (no path needed)."""
    out: list[tuple[str, str, bool]] = []
    for marker, named in (("://", False), ("host=", True), ("connect to host ", True)):
        i = low.find(marker)
        while i != -1 and len(out) < 32:
            j = i + len(marker)
            if named and j < len(low) and low[j] in "'\"":
                j += 1
            m = _HOST_AT.match(low, j)
            if m:
                out.append((m.group(1).rstrip("."), m.group(2) or "", named))
            i = low.find(marker, j)
    return out


_OPENAI_HOSTS = ("openai.com",)
_TITLE_HOST = re.compile(r"<title>([a-z0-9.\-]{1,200}\.[a-z]{2,24}) \| \d{3}")
_API_PATH = re.compile(r"/v1\b|/openai/|/videos|/chat/completions|/responses|/models")


def _hinted(probe: str, needles: tuple[str, ...]) -> bool:
    for needle in needles:
        if needle in probe:
            return True
    return False


def _gated(needles: tuple[str, ...]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """``needles`` as (gate, needles that contain it): needles that share a part of at least 4
    characters and half the shorter one are looked for only where that part is in the text
    ("ocp-apim" and "apim-request-id" under "apim"); a needle that shares none is its own
    gate."""
    groups: list[tuple[str, list[str]]] = []
    for n, needle in enumerate(needles):
        for gate, members in groups:
            if gate in needle:
                members.append(needle)
                break
        else:
            gate = needle
            for other in needles[n + 1:]:
                m = SequenceMatcher(None, needle, other, autojunk=False).find_longest_match(
                    0, len(needle), 0, len(other))
                if m.size >= 4 and 2 * m.size >= min(len(needle), len(other)):
                    gate = needle[m.a:m.a + m.size]
                    break
            groups.append((gate, [needle]))
    return tuple((gate, tuple(members)) for gate, members in groups)


# The hints of every provider but openai (asked last), gated, in table order: the first
# provider with a hint in the text wins.
_GATED_HINTS: tuple[tuple[str, tuple[tuple[str, tuple[str, ...]], ...]], ...] = tuple(
    (name, _gated(tuple(needles))) for name, needles in PROVIDER_HINTS if name != "openai")


def find_provider(text: str, hay: str, openai_shape: bool = False,
                  low: str | None = None) -> str:
    """azure, gateway, openai or unknown: hints in the text, the API host, the body's shape."""
    sample = _head_tail(text.lower() if low is None else low, 4096)
    probe = sample if len(text) <= 8192 else hay.lower() + "\n" + sample
    for name, groups in _GATED_HINTS:
        for gate, needles in groups:
            if gate in probe and (gate in needles or _hinted(probe, needles)):
                return name
    if not probe.isascii() and _hinted(probe, PROVIDER_HINTS_CJK):
        return "gateway"
    for host, path, named in _hosts(sample):
        if not (named or _API_PATH.search(path)):
            continue
        if host.endswith((".openai.azure.com", ".azure-api.net")):
            return "azure"
        if host == "api.openai.com":
            return "openai"
        if not host.endswith(_OPENAI_HOSTS) and "." in host:
            return "gateway"
    m = _TITLE_HOST.search(sample)  # Cloudflare pages: <title>host | 524: ...</title>
    if m and m.group(1) != "api.openai.com" and not m.group(1).endswith(_OPENAI_HOSTS):
        return "gateway"
    if openai_shape or _hinted(probe, PROVIDER_HINTS[-1][1]):
        return "openai"
    return "unknown"


_QUALIFIED_EXC = re.compile(r"(?:[Ee]xceptions|[Ee]rrors)(?:\.|::)([A-Z][A-Za-z0-9]{2,60})\b")
_NODE_NEEDLES = ("ECONN", "ETIMEDOUT", "ENOTFOUND", "EAI_AGAIN", "EPIPE", "UND_ERR", "EHOSTUNREACH",
                 "ENETUNREACH", "CERT_", "SELF_SIGNED", "UNABLE_TO_VERIFY", "DEPTH_ZERO", "ERR_")
# the needles as one alternation, the E… ones under one "E" (fewer branches tried per "E")
_NODE_HINT = re.compile("E(?:" + "|".join(n[1:] for n in _NODE_NEEDLES if n[0] == "E") + ")|"
                        + "|".join(n for n in _NODE_NEEDLES if n[0] != "E"))
_EXC_NEEDLES = ("Error", "Exception", "Timeout", "Exceeded", "gaierror", "timeout")
_ERRORINFO_REASON = re.compile(r'ErrorInfo\\?"[^{}]{0,200}?\\?"reason\\?"[ \t]*:[ \t]*\\?"'
                               r'([A-Z][A-Z0-9_]{2,60})')


_CODE_SEGMENT = re.compile(r"[a-z][a-z_]{2,60}")


def names_a_parameter(param: str) -> bool:
    """Whether a body's ``param`` is a parameter's name, not a sentence (a name has no
    spaces; gateways put the upstream's words there)."""
    return " " not in param


def _add_code_segments(codes: set[str]) -> None:
    """Dotted codes (Alibaba, Volcengine: "InvalidParameter.Duration",
    "InternalError.Algo.DataInspectionFailed") also count by their first and last segment."""
    for code in [c for c in codes if "." in c and "/" not in c and " " not in c][:8]:
        parts = code.split(".")
        for part in (parts[0], parts[-1]):
            if _CODE_SEGMENT.fullmatch(part):
                codes.add(part)


def extract(text: str) -> Extracted:
    """All evidence from one (redacted) paste."""
    win = window(text)
    low = win.lower()
    ex = Extracted()
    payload = extract_payload(win)
    lines = exception_lines(win) if _contains_any(win, _EXC_NEEDLES) else []
    ends = _head_tail(win, 8192)  # where the code and name patterns below look
    node_codes: set[str] = set()
    if _NODE_HINT.search(win):
        node_codes = {c.lower() for c in _NODE_CODES.findall(ends)}
    page = html_facts(win) if "<" in win else None

    hay_parts: list[str] = []
    codes: set[str] = set(node_codes)
    if payload is None and "ErrorInfo" in win:
        # a Google details list on its own ("… [{"@type": "…ErrorInfo", "reason": …}]"), the
        # error object around it cut away
        codes.update(r.lower() for r in _ERRORINFO_REASON.findall(ends))
    if 'Some("' in win or "ErrorCode:" in win:
        # Rust Debug structs (async-openai: ``code: Some("insufficient_quota")``) and .NET's
        # RequestFailedException lines (``ErrorCode: content_filter``)
        for a, b in DEBUG_CODES.findall(ends)[:8]:
            codes.add((a or b).lower())
    codes.update(side_codes(_head_tail(win, 4096), payload is not None))
    if "quota_limit_value" in win and QUOTA_LIMIT_ZERO.search(win):
        codes.add("quota_limit:zero")  # Google's QuotaFailure metadata: this limit is 0
    if "quotaId" in win and _QUOTA_ID.search(ends):
        codes.add("quota_failure:per_period")  # also when the body is cut off mid-object
    if payload is not None:
        ex.has_payload = True
        ex.message = payload.message
        ex.error_type = payload.error_type
        ex.error_code = payload.error_code
        ex.param = payload.param
        ex.job_failed = payload.job_failed
        ex.wrapped = payload.wrapped
        codes |= payload.codes
        for value in (payload.error_code, payload.error_type):
            if value:
                codes.add(value.lower())
        if payload.message and CODE_MESSAGE.fullmatch(payload.message):
            codes.add(payload.message.lower())  # "message": "model_not_found"
        hay_parts.extend(m[:FIELD_CAP] for m in payload.messages if m)
        if payload.param and not names_a_parameter(payload.param):
            # gateways put the upstream's sentence in "param" ("message": "Param Incorrect",
            # "param": "max_tokens is too large: …"): it is evidence, not a name
            hay_parts.append(payload.param[:FIELD_CAP])
    qualified: set[str] = set()
    if "xceptions" in win or "rrors" in win:
        # google.api_core.exceptions.PermissionDenied, OpenAI::Errors::RateLimitError: class
        # names without an Error suffix, known by their module
        qualified = set(_QUALIFIED_EXC.findall(ends))
    names = qualified | mentioned_exceptions(win, None if lines else _head_tail(win, 2048))
    if lines:
        names.update(x.name for x in lines)
        names.update(x.short for x in lines)
    if names:
        ex.exceptions = frozenset(names)
    if lines:
        ex.exception_line = lines[-1].line
        ex.exception_name = lines[-1].short
        if payload is not None:  # the body is in the hay already: keep "Name: Error code: 429 -"
            hay_parts.extend(x.line.split("{", 1)[0] for x in lines)
        else:
            hay_parts.extend(x.line for x in lines)
        if ex.message is None:
            ex.message = lines[-1].message or lines[-1].line
        if payload is None:
            # the evidence may be in the rest of the text: after a bare name ("Error" as a
            # heading), in a "Caused by:" chain (Rust anyhow), or in what was printed next
            # (``block_reason: SAFETY`` under a ValueError)
            hay_parts.append(_head_tail(win, 1024))
    if node_codes:
        hay_parts.append(" ".join(sorted(node_codes)))
        if ex.error_code is None:
            ex.error_code = sorted(node_codes)[0].upper()
    if page is not None:
        ex.html = True
        ex.html_title = page[0]
        hay_parts.append(page[1])
        if ex.message is None:
            ex.message = page[0]
    if not hay_parts:
        hay_parts.append(_head_tail(win, 1024))
    ex.hay = "\n".join(hay_parts)
    ex.hay_lower = low if ex.hay == win else ex.hay.lower()
    if "\n" in ex.hay_lower:
        ex.hay_lower = join_wrapped(ex.hay_lower)
    _add_code_segments(codes)
    ex.codes = frozenset(codes)
    # the weak pass reuses the numbers the strong one looked at (find_status_weak, once)
    unconfirmed: list[_Candidate] = []
    ex.status = (_scan_status(_status_sources(win, lines), unconfirmed)
                 or (payload.status if payload else None) or _scan_status_weak(unconfirmed))
    ex.retry_after_s = find_retry_after(win, ex.hay_lower, low)
    ex.request_id = find_request_id(win, low)
    ex.provider = find_provider(win, ex.hay, payload is not None and payload.openai_shape, low)
    return ex


__all__ = [
    "ExceptionLine", "Extracted", "Payload", "STATUS_AFTER", "STATUS_BEFORE_REVERSED",
    "exception_lines", "extract", "extract_payload", "find_payload", "find_provider",
    "find_request_id", "find_retry_after", "find_status", "find_status_weak", "html_facts",
    "names_a_parameter", "parse_duration", "parse_objects", "window",
]
