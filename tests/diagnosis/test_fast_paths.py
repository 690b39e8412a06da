"""The engine's shortcuts give what the plain way gives: named-secret patterns tried only at
the starts their names allow, conditional rules blocked by a per-table facts lookup, and the
facts themselves read from a table."""

from __future__ import annotations

import itertools
import random

from bot.diagnosis.engine import DEFAULT_ENGINE
from bot.diagnosis.extract import Extracted
from bot.diagnosis.knowledge import PREDICATES
from bot.diagnosis.redact import (
    _NAMED_STARTS,
    _VALUE_NAMES,
    _candidates,
    _spellings,
    _sub,
    _sub_at,
)

_PIECES = ["api_key", "API-KEY", "apikey", "x-api-key", "Subscription-Key", "key", "Key",
           "access_token", "refresh-token", "AuthToken", "id_token", "token", "client_secret",
           "secret_key", "Secret", "password", "PASSWD", "Authorization", "Bearer", "Basic",
           ": ", "=", '"', "'", "\\\"", " ", "\t", "\n", ",", "{", "}", "abcd1234efgh", "null",
           "None", "x", "9", "tokenizer", "monkey", "[REDACTED]", "-"]


def test_named_patterns_at_candidate_starts_match_a_full_scan() -> None:
    rnd = random.Random(5)
    for _ in range(3000):
        chunk = "".join(rnd.choice(_PIECES) for _ in range(rnd.randint(1, 30)))
        for pattern, starts in _NAMED_STARTS:
            slow: set[str] = set()
            fast: set[str] = set()
            assert _sub_at(pattern, chunk, _candidates(chunk.lower(), starts), fast) == _sub(
                pattern, chunk, slow), chunk
            assert fast == slow


def test_every_spelling_of_a_value_name_is_a_candidate_start() -> None:
    pattern, starts = _NAMED_STARTS[2]
    for name in _VALUE_NAMES:
        for spelling in _spellings(name):
            chunk = f"x {spelling}=abcd1234efgh"
            assert 2 in _candidates(chunk.lower(), starts), spelling
            assert _sub_at(pattern, chunk, [2], set()) == _sub(pattern, chunk, set())


def test_blocked_rules_per_facts_match_holds() -> None:
    matcher = DEFAULT_ENGINE.classifier.matcher
    rules = matcher.rules
    facts_all = sorted(PREDICATES)
    for n in range(len(facts_all) + 1):
        for combo in itertools.combinations(facts_all, n):
            facts = frozenset(combo)
            expected = {r.index for r in rules if not r.holds(facts)}
            assert matcher._blocked[facts] == expected


def _facts_reference(ex: Extracted) -> frozenset[str]:
    out = {"param_set" if ex.param else "param_null"}
    if ex.status is None:
        out.add("no_status")
    else:
        out.add("has_status")
        if 400 <= ex.status <= 499:
            out.add("status_4xx")
        elif 500 <= ex.status <= 599:
            out.add("status_5xx")
    for name in ("html", "job_failed", "has_payload", "wrapped"):
        if getattr(ex, name):
            out.add(name)
    if ex.exceptions:
        out.add("exception")
    return frozenset(out)


def test_facts_table_matches_the_definition() -> None:
    flags = (False, True)
    for param, status, html, job, payload, wrapped, exc in itertools.product(
            (None, "", "size"), (None, 200, 399, 400, 429, 499, 500, 599, 600), flags, flags,
            flags, flags, (frozenset(), frozenset({"RateLimitError"}))):
        ex = Extracted(param=param, status=status, html=html, job_failed=job,
                       has_payload=payload, wrapped=wrapped, exceptions=exc)
        assert ex.facts() == _facts_reference(ex)
        assert ex.facts() <= PREDICATES


def test_engine_result_has_every_field_in_order() -> None:
    import dataclasses

    from bot.diagnosis import diagnose
    from bot.diagnosis.model import Diagnosis

    names = [f.name for f in dataclasses.fields(Diagnosis)]
    for text in ("", "Error code: 429 - {'error': {'message': 'Rate limit', 'code': 'x'}}",
                 "openai.AuthenticationError: Incorrect API key provided"):
        assert list(vars(diagnose(text))) == names


def _corpus_lows() -> list[str]:
    import json
    from pathlib import Path

    from bot.diagnosis.extract import extract
    from bot.diagnosis.redact import redact

    out = []
    for path in sorted(Path(__file__).parent.glob("*.jsonl")):
        for line in path.open(encoding="utf-8"):
            text = json.loads(line).get("text") if line.strip() else None
            if text:
                out.append(extract(redact(text)).hay_lower)
    return out


def test_pattern_branches_match_where_the_whole_regex_does() -> None:
    from bot.diagnosis.knowledge import RULES
    from bot.diagnosis.matcher import Pattern

    rnd = random.Random(3)
    lows = _corpus_lows()
    patterns = [Pattern.build(src) for rule in RULES for src in rule.patterns]
    patterns.append(Pattern.build(r"\bapi_?key\b|\blimit:? 0\b|rate limit"))
    for p in patterns:
        if p.branches is None:
            continue
        texts = list(lows)
        for _ in range(200):  # the branch literals spliced into other text
            k = rnd.choice(p.branches)[0]
            base = rnd.choice(lows)
            at = rnd.randrange(len(base) + 1)
            texts.append(base[:at] + rnd.choice(["", " ", "x", "_"]) + k + base[at:at + 40])
        for low in texts:
            fast = any(k in low and rx.search(low) is not None for k, rx in p.branches)
            assert fast == (p.regex.search(low) is not None), (p.regex.pattern, low)


def test_rewritten_regexes_match_their_plain_forms() -> None:
    import re

    from bot.diagnosis.codewords import _CAMEL, _SNAKE_CODE, _WORD_CODE, _WRAPPED_LINE, join_wrapped

    plain = {
        _CAMEL: re.compile(r"(?<![\w.])[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]*)+(?![\w.])"),
        _SNAKE_CODE: re.compile(r"(?<![\w.])[a-z]+(?:_[a-z0-9]+)+(?![\w.])"),
        _WORD_CODE: re.compile(r"(?<![\w.])(?:[A-Z][A-Z0-9]+(?:[_.][A-Z0-9]+)+"
                               r"|[A-Z][a-z]+[A-Za-z]*(?:\.[A-Z][A-Za-z0-9]+)+)(?![\w.])"),
    }
    rnd = random.Random(4)
    alphabet = "aBcZ9._ é\n-\t\r,"
    for _ in range(20000):
        s = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 16)))
        for fast, slow in plain.items():
            assert fast.findall(s) == slow.findall(s), (fast.pattern, s)
        assert join_wrapped(s) == _WRAPPED_LINE.sub(" ", s), s
