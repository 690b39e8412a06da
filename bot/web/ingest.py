"""The ingest API's body rules: which shapes are accepted and how each becomes error events.

Pure functions (no I/O) so the rules are tested by table and the HTTP layer stays thin.

Accepted bodies (after the HTTP layer checked the token and the size):

* a raw error payload: any JSON object that is not one of our shapes (e.g. the OpenAI body
  ``{"error": {"message": ..., "code": ...}}``), a JSON string, or plain text (an SDK exception
  line, a traceback tail, an HTML 502 page) -> one event, diagnosed as sent;
* an envelope ``{"error": <payload or string>, "target": "openai", "at": "<ISO 8601>"}``
  (``target`` and ``at`` optional; an object is an envelope when it has ``error`` and at least
  one of ``target``/``at``, and then it may hold no other key);
* a batch ``{"events": [envelope, ...]}`` or a JSON array of envelopes, at most ``MAX_BATCH``.

A batch is all-or-nothing: one bad item rejects the whole body with a message naming its index,
so a client can fix it and resend without creating duplicates.

Error messages never echo the values that were sent (they could hold a key); they name fields,
indexes and types only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.diagnosis.model import Diagnosis

MAX_BATCH = 500
# Clocks of the sending apps drift; an event stamped a little ahead of us is still accepted.
MAX_FUTURE_SKEW = timedelta(minutes=5)
# Older than this is a wrong clock or a placeholder date (0001-01-01), not an error we saw.
MIN_AT = datetime(2000, 1, 1, tzinfo=UTC)
# No error payload nests this deep; the JSON decoder (and json.dumps) recurse per level and
# raise RecursionError near 1,000, so depth is checked before decoding, in one linear scan.
MAX_JSON_DEPTH = 64
ENVELOPE_FIELDS = frozenset({"error", "target", "at"})
_TARGET_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_JSON_TYPES = ("application/json",)


class IngestError(ValueError):
    """The body cannot be accepted; ``status`` is the HTTP status to answer with (422 or 413)."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class IngestItem:
    """One event to diagnose: its text exactly as it will be diagnosed, its target and time."""

    text: str
    target: str
    at: datetime


def _type_name(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", int: "number",
            float: "number", type(None): "null"}.get(type(value), type(value).__name__)


def is_json_content_type(content_type: str | None) -> bool:
    """``application/json`` and ``application/<x>+json``, with any parameters."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media in _JSON_TYPES or (media.startswith("application/") and media.endswith("+json"))


_JSON_SPECIAL = re.compile(r'[\\"\[\]{}]')


def json_depth_exceeds(text: str, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when ``text`` nests arrays/objects deeper than ``limit`` (brackets inside JSON
    strings do not count). One linear pass over the special characters only, no recursion:
    safe on any input, malformed JSON included."""
    if text.count("[") + text.count("{") <= limit:  # the common case, at C speed
        return False
    depth, in_string, escaped_at = 0, False, -1
    for match in _JSON_SPECIAL.finditer(text):
        pos, ch = match.start(), match.group()
        if pos == escaped_at:
            continue
        if in_string:
            if ch == "\\":
                escaped_at = pos + 1
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > limit:
                return True
        elif ch in "]}":
            depth -= 1
    return False


def _too_deep() -> IngestError:
    return IngestError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels; send the error "
                       "payload as it came from the API")


def parse_time(value: Any, where: str, now: datetime) -> datetime:
    """An ISO 8601 string to aware UTC (naive means UTC), between MIN_AT and
    MAX_FUTURE_SKEW ahead of ``now``."""
    if not isinstance(value, str):
        raise IngestError(f"{where}: 'at' must be an ISO 8601 string, got {_type_name(value)}")
    try:
        parsed = datetime.fromisoformat(value.strip())
        # 0001-01-01T00:00:00+14:00 is a valid string whose UTC time is before year 1.
        parsed = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None \
            else parsed.astimezone(UTC)
    except ValueError:
        raise IngestError(f"{where}: 'at' is not an ISO 8601 date-time "
                          "(e.g. 2026-01-01T12:00:00Z)") from None
    except OverflowError:  # e.g. 9999-12-31T23:59:59-23:59 is after year 9999 in UTC
        raise IngestError(f"{where}: 'at' is out of range; check the sender's clock") from None
    if parsed < MIN_AT:
        raise IngestError(f"{where}: 'at' is before {MIN_AT.year}; check the sender's clock")
    if parsed - now > MAX_FUTURE_SKEW:
        raise IngestError(f"{where}: 'at' is more than {int(MAX_FUTURE_SKEW.total_seconds())} s "
                          "in the future; check the sender's clock")
    return parsed


def payload_text(payload: Any) -> str:
    """The text to diagnose for an envelope's ``error`` value.

    A string is used as is. An object is diagnosed as the OpenAI body it came from: when it is
    the inner error object (``{"message": ..., "code": ...}``) it is wrapped back into
    ``{"error": ...}``, which is the shape the provider sends and the diagnosis knows best.
    """
    if isinstance(payload, str):
        return payload
    if isinstance(payload, dict) and "error" not in payload:
        payload = {"error": payload}
    return json.dumps(payload, ensure_ascii=False)


def _check_payload(payload: Any, where: str) -> None:
    if isinstance(payload, str):
        if not payload.strip():
            raise IngestError(f"{where}: 'error' is empty")
    elif isinstance(payload, (dict, list)):
        if not payload:
            raise IngestError(f"{where}: 'error' is empty")
    else:
        raise IngestError(f"{where}: 'error' must be a string, object or array, "
                          f"got {_type_name(payload)}")


def _check_target(value: Any, where: str, targets: frozenset[str] | None) -> str:
    if not isinstance(value, str):
        raise IngestError(f"{where}: 'target' must be a string, got {_type_name(value)}")
    if not _TARGET_RE.match(value):
        raise IngestError(f"{where}: 'target' must be a target name (letters, digits, '.', '_', "
                          "'-'; at most 100 characters)")
    if targets is not None and value not in targets:
        raise IngestError(f"{where}: 'target' is not a configured target; configured: "
                          f"{', '.join(sorted(targets))}")
    return value


def is_envelope(obj: dict[str, Any]) -> bool:
    """Our envelope, as opposed to a raw provider payload that merely has an ``error`` key."""
    return "error" in obj and ("target" in obj or "at" in obj)


def envelope_item(obj: Any, where: str, *, default_target: str, now: datetime,
                  targets: frozenset[str] | None, strict: bool) -> IngestItem:
    """Validate one envelope. ``strict`` (batch items): ``error`` is required even alone."""
    if not isinstance(obj, dict):
        raise IngestError(f"{where}: an event must be an object with 'error', "
                          f"got {_type_name(obj)}")
    if "error" not in obj:
        raise IngestError(f"{where}: missing 'error'")
    unknown = sorted(set(obj) - ENVELOPE_FIELDS)
    if unknown and (strict or is_envelope(obj)):
        shown = ", ".join(repr(k[:40]) for k in unknown[:5])
        raise IngestError(f"{where}: unknown field(s) {shown}; allowed: at, error, target")
    _check_payload(obj["error"], where)
    target = default_target if obj.get("target") is None \
        else _check_target(obj["target"], where, targets)
    at = now if obj.get("at") is None else parse_time(obj["at"], where, now)
    return IngestItem(text=payload_text(obj["error"]), target=target, at=at)


def _batch(items: Any, *, default_target: str, now: datetime,
           targets: frozenset[str] | None) -> list[IngestItem]:
    if not isinstance(items, list):
        raise IngestError(f"'events' must be an array, got {_type_name(items)}")
    if not items:
        raise IngestError("empty batch: 'events' has no items")
    if len(items) > MAX_BATCH:
        raise IngestError(f"batch too large: {len(items)} events, at most {MAX_BATCH} per request; "
                          "split it", status=413)
    return [envelope_item(item, f"events[{i}]", default_target=default_target, now=now,
                          targets=targets, strict=True) for i, item in enumerate(items)]


def parse_body(body: bytes, content_type: str | None, *, now: datetime,
               default_target: str = "openai",
               targets: frozenset[str] | None = None) -> list[IngestItem]:
    """Turn a request body into the events it carries, or raise IngestError (nothing partial).

    JSON is required when the content type says JSON; otherwise a body that parses as JSON is
    read as JSON (``curl -d`` sends form content types) and anything else is plain text.
    """
    text = body.decode("utf-8", errors="replace")
    if not text.strip():
        raise IngestError("empty body: send an error payload, an envelope or a batch")
    data: Any
    stripped = text.lstrip()
    looks_json = stripped[:1] in ("{", "[", '"')
    if is_json_content_type(content_type):
        if json_depth_exceeds(text):
            raise _too_deep()
        try:
            data = json.loads(text)
        except ValueError as exc:
            line = getattr(exc, "lineno", None)
            col = getattr(exc, "colno", None)
            at = f" at line {line} column {col}" if line is not None else ""
            raise IngestError(f"invalid JSON{at}") from None
    else:
        data = text
        if looks_json:
            if json_depth_exceeds(text):
                raise _too_deep()
            try:
                data = json.loads(text)
            except ValueError:
                data = text  # plain text that happens to start like JSON (a log line)
            else:
                if not isinstance(data, (dict, list)):
                    data = text
    common: dict[str, Any] = {"default_target": default_target, "now": now, "targets": targets}
    if isinstance(data, str):
        if not data.strip():
            raise IngestError("empty body: the error text is empty")
        return [IngestItem(text=data, target=default_target, at=now)]
    if isinstance(data, list):
        return _batch(data, **common)
    if isinstance(data, dict):
        if not data:
            raise IngestError("empty body: the JSON object has no fields")
        if "events" in data and "error" not in data:
            if len(data) > 1:
                extra = sorted(k for k in data if k != "events")
                shown = ", ".join(repr(k[:40]) for k in extra[:5])
                raise IngestError(f"unknown field(s) {shown} next to 'events'; "
                                  "a batch is {\"events\": [...]}")
            return _batch(data["events"], **common)
        if is_envelope(data):
            return [envelope_item(data, "event", strict=False, **common)]
        # A raw provider payload: diagnose the body exactly as it was sent.
        return [IngestItem(text=text, target=default_target, at=now)]
    raise IngestError(f"body must be a JSON object, array or string, got {_type_name(data)}")


def to_event(item: IngestItem, diagnosis: Diagnosis) -> dict[str, Any]:
    """The error-event record (the same dict shape the chat path stores and feeds the monitor)."""
    return {"at": item.at, "source": "ingest", "target": item.target,
            "category": diagnosis.category, "fingerprint": diagnosis.fingerprint,
            "http_status": diagnosis.http_status, "error_code": diagnosis.error_code,
            "channel_key": None, "redacted": diagnosis.redacted}


def diagnose_items(items: list[IngestItem],
                   diagnose: Callable[[str], Diagnosis]) -> list[tuple[dict[str, Any], Diagnosis]]:
    """Diagnose every item (which also redacts it); CPU work, run it off the event loop."""
    out = []
    for item in items:
        diagnosis = diagnose(item.text)
        out.append((to_event(item, diagnosis), diagnosis))
    return out


__all__ = ["IngestError", "IngestItem", "MAX_BATCH", "MAX_FUTURE_SKEW", "parse_body", "to_event",
           "diagnose_items", "is_json_content_type", "payload_text", "parse_time", "json_depth_exceeds",
           "MAX_JSON_DEPTH", "MIN_AT"]
