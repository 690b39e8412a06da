"""A stable id for the *kind* of an error.

Two pastes of the same error kind get the same fingerprint even when request ids, video ids,
organization ids, timestamps, numbers in limits or (masked) keys differ; the monitor counts and
deduplicates errors by it. The id is ``fp_`` + 16 hex characters of a SHA-1 over the rule that
matched, the category, the provider, type, code, param, the exception class (for pastes without
a body) and the normalised message.

Normalisation: URLs and masked secrets become ``#``; so does every token that contains a
digit (numbers, ids such as ``req_…``/``video_…``/``org-…``, uuids, hex ids, timestamps,
``1m30s``). Both passes start with a literal or a small character class, so the regex engine
skips ahead fast: the first replaces a digit and the rest of its token, the second (on the
reversed text) the letters before it. Then whitespace is collapsed and the text lower-cased.
"""

from __future__ import annotations

import hashlib
import re

_URL_OR_SECRET = re.compile(r"https?://[^\s\"'<>)]{1,300}|\[REDACTED\]")
_DIGIT_AND_AFTER = re.compile(r"[0-9][A-Za-z0-9_\-*.:+]*")
_BEFORE_MARK_REVERSED = re.compile(r"#[A-Za-z_\-*#]*")
_MAX = 600


def normalise(message: str) -> str:
    """The message with everything that varies between occurrences replaced by ``#``."""
    text = message[:_MAX]
    if "://" in text or "[" in text:
        text = _URL_OR_SECRET.sub("#", text)
    text = _DIGIT_AND_AFTER.sub("#", text)
    if "#" in text:
        text = _BEFORE_MARK_REVERSED.sub("#", text[::-1])[::-1]
    return " ".join(text.split()).lower()


def fingerprint(*, rule_id: str, category: str, provider: str, error_type: str | None,
                error_code: str | None, param: str | None, message: str | None,
                exception: str | None = None) -> str:
    """``fp_`` + 16 hex chars identifying the error kind."""
    parts = (rule_id, category, provider, error_type or "", (error_code or "").lower(),
             param or "", exception or "", normalise(message or ""))
    digest = hashlib.sha1("\x1f".join(parts).encode("utf-8", "replace")).hexdigest()
    return "fp_" + digest[:16]


__all__ = ["fingerprint", "normalise"]
