"""A stable id for the *kind* of an error.

Two pastes of the same error kind get the same fingerprint even when request ids, video ids,
organization ids, timestamps, numbers in limits or (masked) keys differ; the monitor counts and
deduplicates errors by it. The id is ``fp_`` + 16 hex characters of a SHA-1 over the rule that
matched, the category, the provider, type, code, param and the normalised message.
"""

from __future__ import annotations

import hashlib
import re

# (needle, needs a digit, regex, placeholder): the regex runs only when the needle (and a
# digit, if needed) is in the text. Order matters: whole ids first, then what is left of numbers.
_NORMALISERS: tuple[tuple[str, bool, re.Pattern[str], str], ...] = (
    ("sk-", False, re.compile(r"\bsk-[A-Za-z0-9_\-*]*(?:\[REDACTED\])?"), "<key>"),
    ("[REDACTED]", False, re.compile(r"\[REDACTED\]"), "<secret>"),
    ("://", False, re.compile(r"https?://[^\s\"'<>)]{1,300}"), "<url>"),
    ("-", True, re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                     r"[0-9a-fA-F]{12}"), "<uuid>"),
    ("", False, re.compile(r"\b(?:req|video|org|proj|file|user|task|resp|run|thread|asst|call|msg|batch"
                    r"|ft|chatcmpl|cs|sess|gen|job|img|char)[_\-][A-Za-z0-9_\-]{1,120}"), "<id>"),
    (":", True, re.compile(r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?"
                     r"(?:Z|[+\-]\d{2}:?\d{2})?"), "<ts>"),
    ("", True, re.compile(r"\b[0-9a-fA-F]{8,}\b"), "<hex>"),
    ("", True, re.compile(r"\b(?=[A-Za-z_\-]{0,80}\d)[A-Za-z0-9_\-]{10,}\b"), "<id>"),
    ("", True, re.compile(r"\d+(?:\.\d+)?"), "#"),
    ("", False, re.compile(r"\s+"), " "),
)
_DIGITS = frozenset("0123456789")
_MAX = 600


def normalise(message: str) -> str:
    """The message with everything that varies between occurrences replaced by placeholders."""
    text = message[:_MAX]
    has_digit = not _DIGITS.isdisjoint(text)
    for needle, needs_digit, pattern, placeholder in _NORMALISERS:
        if (needle and needle not in text) or (needs_digit and not has_digit):
            continue
        text = pattern.sub(placeholder, text)
    return text.strip().lower()


def fingerprint(*, rule_id: str, category: str, provider: str, error_type: str | None,
                error_code: str | None, param: str | None, message: str | None,
                exception: str | None = None) -> str:
    """``fp_`` + 16 hex chars identifying the error kind."""
    parts = (rule_id, category, provider, error_type or "", (error_code or "").lower(),
             param or "", exception or "", normalise(message or ""))
    digest = hashlib.sha1("\x1f".join(parts).encode("utf-8", "replace")).hexdigest()
    return "fp_" + digest[:16]


__all__ = ["fingerprint", "normalise"]
