"""Mask secrets in pasted text before anything else reads it.

People paste errors together with the request that caused them: API keys, bearer headers,
Slack tokens, query strings with ``api_key=``. The engine redacts the whole input first and
extracts from the redacted text, so no output field can echo a secret back.

Cost is linear and small even on a megabyte of junk. Python's regex engine is fast only when a
pattern starts with a literal, so secrets come in two kinds:

* *prefixed* secrets (``sk-``, ``xoxb-``, ``AKIA``…) whose regex starts with that literal and
  runs over the whole text when a plain ``in`` check finds the literal;
* *named* secrets (``api_key=…``, ``Authorization: …``, ``Bearer …``) whose name may be in any
  case: we find the names with ``str.find`` and run the case-insensitive regexes only in small
  windows around them. In an ASCII window (the usual case) each regex is tried only at the
  positions its names allow a match to start (``_NAMED_STARTS``), not at every position.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

MASK = "[REDACTED]"

# Characters that make up a token value (keys, bearer tokens). No quotes, spaces, brackets.
_TOKEN = r"[A-Za-z0-9_\-*~+/=.]"


def _keep_group_1(m: re.Match[str]) -> str:
    return m.group(1) + MASK


def _mask_openai_key(m: re.Match[str]) -> str:
    return "sk-" + (m.group(1) or "") + MASK


@dataclass(frozen=True)
class SecretPattern:
    """One kind of secret: literal ``triggers`` (exact case) that must occur for the regex to
    run, the regex, and how to rebuild a match with the secret part masked."""

    name: str
    triggers: tuple[str, ...]
    regex: re.Pattern[str]
    replace: Callable[[re.Match[str]], str] = _keep_group_1


PREFIXED: tuple[SecretPattern, ...] = (
    # OpenAI (and look-alike) keys: sk-…, sk-proj-…, sk-svcacct-…, sk-live-…, also provider-masked
    # ones like sk-proj-AbCd****wXyZ. The look-behind after the literal keeps "risk-…" intact.
    SecretPattern(
        "openai_key", ("sk-",),
        re.compile(r"sk-(?<![A-Za-z0-9_\-]sk-)((?:proj|svcacct|admin|live|test|ant)-)?"
                   r"[A-Za-z0-9_\-*]{12,}"),
        _mask_openai_key,
    ),
    SecretPattern("slack", ("xox", "xapp-"),
                  re.compile(r"(xox[abprse]-|xapp-)[A-Za-z0-9\-]{8,}")),
    SecretPattern("slack_webhook", ("hooks.slack.com",),
                  re.compile(r"(hooks\.slack\.com/services/)[A-Za-z0-9/_\-]{8,}")),
    SecretPattern("discord_webhook", ("/api/webhooks/",),
                  re.compile(r"(/api/webhooks/\d{5,25}/)[A-Za-z0-9_\-]{20,}")),
    SecretPattern("aws_access_key", ("AKIA", "ASIA"),
                  re.compile(r"()(?:AKIA|ASIA)(?<![A-Za-z0-9]....)[0-9A-Z]{16}(?![0-9A-Za-z])")),
    SecretPattern("google_key", ("AIza",), re.compile(r"()AIza[0-9A-Za-z_\-]{30,}")),
    SecretPattern("jwt", ("eyJ",),
                  re.compile(r"()eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}")),
    SecretPattern("url_password", ("://",),
                  re.compile(r"(://[^/\s:@]{1,64}:)[^/\s@]{1,128}(?=@)")),
)

# Names that announce a secret value; found case-insensitively by ``_name_hits``.
NAME_ANCHORS: tuple[str, ...] = ("key", "token", "secret", "passw", "authorization", "bearer")

# The names of ``named_value`` (regex alternatives, case-insensitive).
_VALUE_NAMES: tuple[str, ...] = (
    r"api[_\-]?key", "apikey", "x-api-key", "subscription-key", "key", r"access[_\-]?token",
    r"refresh[_\-]?token", r"auth[_\-]?token", r"id[_\-]?token", "token", r"client[_\-]?secret",
    r"secret[_\-]?key", "secret", "password", "passwd")

NAMED: tuple[SecretPattern, ...] = (
    # Authorization header values, whatever the scheme.
    SecretPattern(
        "authorization", (),
        re.compile(r"((?i:authorization)\\?[\"']?[ \t]{0,5}[:=][ \t]{0,5}\\?[\"']?"
                   r"(?:(?i:bearer|basic|token|bot)[ \t]{1,5})?)(?!(?i:bearer|basic|token|bot)[ \t])"
                   + _TOKEN + r"{4,}+(?!\[)"),
    ),
    SecretPattern("bearer", (),
                  re.compile(r"((?i:bearer)[ \t]{1,10})" + _TOKEN + r"{8,}+(?!\[)")),
    # Named values in headers, JSON, reprs, env lines and query strings:
    # api-key: …, "api_key": "…", OPENAI_API_KEY=…, ?key=…&, token=…, Ocp-Apim-Subscription-Key: …
    SecretPattern(
        "named_value", (),
        re.compile(
            r"((?<![A-Za-z0-9])(?i:" + "|".join(_VALUE_NAMES) + ")"
            r"\\?[\"']?[ \t]{0,5}[:=][ \t]{0,5}\\?[\"']?)"
            # not a protobuf map entry's name (google.rpc metadata: key: "quota_limit_value"
            # value: "0"): the name is an identifier, the secret-free data follows as value
            r"(?!null\b|None\b|true\b|false\b|[a-z][a-z_]{1,40}\\?[\"'][ \t]+value\b)"
            r"[^\s\"'&,;<>\\(){}\[\]]{4,}+"
        ),
    ),
)

def _spellings(name: str) -> list[str]:
    """The texts one ``_VALUE_NAMES`` alternative matches (lower case)."""
    optional_sep = r"[_\-]?"
    out = [""]
    i = 0
    while i < len(name):
        if name.startswith(optional_sep, i):
            out = [o + sep for o in out for sep in ("", "_", "-")]
            i += len(optional_sep)
        else:
            out = [o + name[i] for o in out]
            i += 1
    if any(not re.fullmatch(r"[a-z_\-]+", o) for o in out):
        raise ValueError(f"redact: cannot spell out {name!r}")
    return out


def _starts_of(names: list[str], needles: tuple[str, ...]) -> tuple[tuple[str, tuple[int, ...]], ...]:
    """Per needle, how far before it a match of one of ``names`` can start."""
    offsets: dict[str, set[int]] = {n: set() for n in needles}
    for name in names:
        hits = [(n, i) for n in needles for i in range(len(name)) if name.startswith(n, i)]
        if not hits:
            raise ValueError(f"redact: {name!r} contains none of {needles}")
        for n, i in hits[:1]:  # one needle per name suffices: it is found wherever it occurs
            offsets[n].add(i)
    return tuple((n, tuple(sorted(v))) for n, v in offsets.items() if v)


# Where a match of each NAMED pattern can start, relative to the names (lower case) that
# every match contains: in an ASCII window the patterns are tried only there.
_NAMED_STARTS: tuple[tuple[SecretPattern, tuple[tuple[str, tuple[int, ...]], ...]], ...] = (
    (NAMED[0], (("authorization", (0,)),)),
    (NAMED[1], (("bearer", (0,)),)),
    (NAMED[2], _starts_of([s for n in _VALUE_NAMES for s in _spellings(n)],
                          ("key", "token", "secret", "passw"))),
)

_BEFORE = 64      # a named match starts at most this far before its anchor
_AFTER = 1024     # and ends at most this far after it (secret values are short)
_VARIANTS: tuple[str, ...] = tuple(
    v for a in NAME_ANCHORS for v in dict.fromkeys((a, a.capitalize(), a.upper()))
)


def _name_hits(text: str) -> list[int]:
    """Positions of secret names, found at C speed with ``str.find``.

    ASCII text (the usual paste) is lowered once and searched for each name; other text is
    searched for the usual casings (key, Key, KEY) because lowering it costs more than that.
    """
    if text.isascii():
        haystack, needles = text.lower(), NAME_ANCHORS
    else:
        haystack, needles = text, _VARIANTS
    hits: list[int] = []
    for v in needles:
        i = haystack.find(v)
        while i != -1:
            hits.append(i)
            i = haystack.find(v, i + 1)
    hits.sort()
    return hits


def _masker(pattern: SecretPattern, found: set[str]) -> Callable[[re.Match[str]], str]:
    """The replacement for one pattern's matches, remembering each masked value (to mask its
    other occurrences)."""

    def repl(m: re.Match[str]) -> str:
        out = pattern.replace(m)
        secret = m.group(0)[len(out) - len(MASK):]
        if len(secret) >= MIN_REMEMBERED:
            found.add(secret)
        return out

    return repl


def _sub(pattern: SecretPattern, text: str, found: set[str]) -> str:
    """Apply one pattern, remembering each masked value."""
    return pattern.regex.sub(_masker(pattern, found), text)


def _sub_at(pattern: SecretPattern, text: str, starts: list[int], found: set[str]) -> str:
    """``_sub`` when every match starts at one of ``starts`` (ascending): the same leftmost,
    non-overlapping matches, tried only there instead of at every position."""
    regex = pattern.regex
    repl = _masker(pattern, found)
    out: list[str] = []
    last = 0
    for p in starts:
        if p < last:
            continue
        m = regex.match(text, p)
        if m is not None:
            out.append(text[last:p])
            out.append(repl(m))
            last = m.end()
    if not out:
        return text
    out.append(text[last:])
    return "".join(out)


def _candidates(low: str, starts: tuple[tuple[str, tuple[int, ...]], ...]) -> list[int]:
    """Positions (ascending) where a match may start: each needle's offsets before it."""
    found: set[int] = set()
    for needle, offsets in starts:
        i = low.find(needle)
        while i != -1:
            for d in offsets:
                if d <= i:
                    found.add(i - d)
            i = low.find(needle, i + 1)
    return sorted(found)


def _redact_named(text: str, found: set[str]) -> str:
    hits = _name_hits(text)
    if not hits:
        return text
    windows: list[list[int]] = []
    for p in hits:
        lo, hi = max(0, p - _BEFORE), min(len(text), p + _AFTER)
        if windows and lo <= windows[-1][1]:
            windows[-1][1] = max(windows[-1][1], hi)
        else:
            windows.append([lo, hi])
    out: list[str] = []
    last = 0
    for lo, hi in windows:
        chunk = text[lo:hi]
        if chunk.isascii():
            # case-insensitive matching is plain lower-casing here: each pattern is tried
            # only where its names put the start of a match
            low = chunk.lower()
            for pattern, starts in _NAMED_STARTS:
                candidates = _candidates(low, starts)
                if candidates:
                    masked = _sub_at(pattern, chunk, candidates, found)
                    if masked is not chunk:
                        chunk, low = masked, masked.lower()
        else:  # re's case folding also equates "ſ" with "s", "K" (Kelvin) with "k"…
            for pattern in NAMED:
                chunk = _sub(pattern, chunk, found)
        out.append(text[last:lo])
        out.append(chunk)
        last = hi
    out.append(text[last:])
    return "".join(out)


# (the ones most pastes have first: a text that holds one stops the look there)
_ALL_TRIGGERS_LOWER: tuple[str, ...] = tuple(dict.fromkeys(
    ["://", *NAME_ANCHORS] + [t.lower() for p in PREFIXED for t in p.triggers]))
MIN_REMEMBERED = 8  # masked values at least this long are masked wherever else they occur


_FEW = 8  # up to this many known values: one str.replace each (linear: a bounded count)
# Where another occurrence of a known value may start: not inside a longer word.
_VALUE_START = re.compile(r"(?<![A-Za-z0-9])[^\s\[]")
_KEY = 8   # values are indexed by their first (up to) _KEY characters


def mask_values(text: str, secrets: set[str] | frozenset[str]) -> str:
    """Mask every occurrence of already-known secret values (longest first).

    Linear in ``text`` whatever the number of values. A few values are replaced with
    ``str.replace`` (anywhere, even inside a word). Many values (a paste full of distinct
    keys) are found in one pass: at each position where a value can start (not inside a
    longer word), an index on the first characters gives the values to compare.
    """
    live = {s for s in secrets if s}
    if not live or not text:
        return text
    if len(live) <= _FEW:
        for secret in sorted(live, key=len, reverse=True):
            if secret in text:
                text = text.replace(secret, MASK)
        return text
    # key length -> first characters -> value length -> values
    index: dict[int, dict[str, dict[int, set[str]]]] = {}
    for secret in live:
        k = min(_KEY, len(secret))
        index.setdefault(k, {}).setdefault(secret[:k], {}).setdefault(len(secret), set()).add(secret)
    plan = [(k, {p: (sorted(v, reverse=True), v) for p, v in table.items()})
            for k, table in sorted(index.items(), reverse=True)]   # at most _KEY key lengths
    out: list[str] = []
    last = 0
    for m in _VALUE_START.finditer(text):
        start = m.start()
        if start < last:
            continue
        end = 0
        for k, table in plan:
            entry = table.get(text[start:start + k])
            if entry is None:
                continue
            for n in entry[0]:
                if text[start:start + n] in entry[1][n]:
                    end = start + n
                    break
            if end:
                break
        if end:
            out.append(text[last:start])
            out.append(MASK)
            last = end
    out.append(text[last:])
    return "".join(out)


def might_hold_secret(text: str) -> bool:
    """Cheap test: False means ``redact(text) == text`` for sure."""
    if not text:
        return False
    if not text.isascii():
        return True
    low = text.lower()
    for t in _ALL_TRIGGERS_LOWER:
        if t in low:
            return True
    return False


def redact_collect(text: str) -> tuple[str, set[str]]:
    """Redact ``text``; also return the secret values that were masked.

    A value recognised once (``Bearer abc…``) is masked wherever else it occurs in the text
    (``token abc… expired``), and the caller can mask it in other texts too.
    """
    found: set[str] = set()
    if not text:
        return text, found
    if len(text) < 4096 and not might_hold_secret(text):
        return text, found  # nothing that can start a secret: the common case
    for pattern in PREFIXED:
        for trigger in pattern.triggers:
            if trigger in text:
                text = _sub(pattern, text, found)
                break
    text = _redact_named(text, found)
    if found:
        text = mask_values(text, found)
    return text, found


def redact(text: str) -> str:
    """Return ``text`` with every secret we recognise replaced by ``[REDACTED]``.

    Idempotent: redacting twice gives the same result. Never raises on str input.
    """
    return redact_collect(text)[0]


__all__ = ["MASK", "NAMED", "PREFIXED", "SecretPattern", "mask_values", "might_hold_secret",
           "redact", "redact_collect"]
