"""A stable id for the *kind* of an error.

Two pastes of the same error kind get the same fingerprint even when request ids, video ids,
organization ids, timestamps, numbers in limits or (masked) keys differ; the monitor counts and
deduplicates errors by it. The id is ``fp_`` + 16 hex characters of a SHA-1 over the rule that
matched, the category, the provider, type, code, param, the exception class (for pastes without
a body) and the normalised message.

Normalisation is one regex pass: URLs, masked secrets, prefixed ids (``req_…``, ``video_…``,
``org-…``, ``sk-…``) and every token that contains a digit (numbers, uuids, hex ids,
timestamps, ``1m30s``) become ``#``; then whitespace is collapsed and the text lower-cased.
"""

from __future__ import annotations

import hashlib
import re

_VARYING = re.compile(
    r"https?://[^\s\"'<>)]{1,300}"
    r"|\[REDACTED\]"
    r"|\b(?:sk|req|video|org|proj|file|user|task|resp|run|thread|asst|call|msg|batch|ft|chatcmpl"
    r"|cs|sess|gen|job|img|char)[_\-][A-Za-z0-9_\-*]{1,120}(?:\[REDACTED\])?"
    r"|\b[A-Za-z_\-*]{0,64}\d[A-Za-z0-9_\-*.:+]{0,64}"
)
_MAX = 600


def normalise(message: str) -> str:
    """The message with everything that varies between occurrences replaced by ``#``."""
    return " ".join(_VARYING.sub("#", message[:_MAX]).split()).lower()


def fingerprint(*, rule_id: str, category: str, provider: str, error_type: str | None,
                error_code: str | None, param: str | None, message: str | None,
                exception: str | None = None) -> str:
    """``fp_`` + 16 hex chars identifying the error kind."""
    parts = (rule_id, category, provider, error_type or "", (error_code or "").lower(),
             param or "", exception or "", normalise(message or ""))
    digest = hashlib.sha1("\x1f".join(parts).encode("utf-8", "replace")).hexdigest()
    return "fp_" + digest[:16]


__all__ = ["fingerprint", "normalise"]
