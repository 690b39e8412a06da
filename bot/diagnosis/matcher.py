"""The one matcher: which rules of a knowledge table does a paste's evidence trigger?

Compiled once per table. Running every rule's check on every paste would cost too much, so the
table is indexed by trigger:

* payload codes, exception class names and HTTP statuses: dictionary look-ups;
* plain-text phrases: by the first three letters of their first word. The evidence text is cut
  into words once; only phrases whose key starts one of those words are compared. A phrase
  matches where it starts a word (``"moderation"`` matches ``input_moderation`` and
  ``Moderation failed``, not ``premoderation``); phrases in Chinese (or any non-ASCII start)
  match anywhere;
* regex patterns: each keeps the literal words one of which every match contains, and runs only
  when one of them is in the text.

``fired_slow`` checks every rule directly; the tests compare the two.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from bot.diagnosis.knowledge import Rule

_WORD = re.compile(r"[a-z0-9]+")
_LEAD = re.compile(r"[^a-z0-9]*([a-z0-9]+)")
_META = set("\\.^$*+?{}[]()|")


def _branches(source: str) -> list[str]:
    """Split a regex at its top-level ``|`` (outside groups and character classes)."""
    out: list[str] = []
    depth, in_class, start, i = 0, False, 0, 0
    while i < len(source):
        c = source[i]
        if c == "\\":
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "|" and depth == 0:
            out.append(source[start:i])
            start = i + 1
        i += 1
    out.append(source[start:])
    return out


def _leading_literal(branch: str) -> str:
    """The literal text every match of ``branch`` starts with ('' when there is none)."""
    i = 0
    while branch.startswith("\\b", i):  # zero-width word boundaries
        i += 2
    lit: list[str] = []
    while i < len(branch):
        c = branch[i]
        if c == "\\" and i + 1 < len(branch) and not branch[i + 1].isalnum():
            lit.append(branch[i + 1])
            i += 2
            continue
        if c in _META:
            if c in "*?{" and lit:
                lit.pop()  # the last character is optional or repeated
            break
        lit.append(c)
        i += 1
    return "".join(lit)


@dataclass(frozen=True)
class Pattern:
    """A lower-case regex plus the literals one of which every match contains (None: no safe
    prefilter, always run)."""

    regex: re.Pattern[str]
    keywords: tuple[str, ...] | None

    @classmethod
    def build(cls, source: str) -> Pattern:
        literals = [_leading_literal(b) for b in _branches(source)]
        if any(len(x) < 2 for x in literals):
            return cls(re.compile(source), None)
        unique = list(dict.fromkeys(literals))
        minimal = tuple(k for k in unique if not any(o != k and o in k for o in unique))
        return cls(re.compile(source), minimal)

    def search(self, low: str) -> bool:
        if self.keywords is not None:
            for k in self.keywords:
                if k in low:
                    break
            else:
                return False
        return self.regex.search(low) is not None


def phrase_key(phrase: str) -> str | None:
    """The index key of an ASCII phrase: the first three letters of its first word."""
    if not phrase.isascii():
        return None
    m = _LEAD.match(phrase)
    return m.group(1)[:3] if m else None


def phrase_in(phrase: str, low: str) -> bool:
    """True when ``phrase`` occurs in ``low`` where it starts a word (ASCII phrases that start
    with a letter or digit); other phrases match anywhere."""
    if not (phrase[0].isascii() and phrase[0].isalnum()):
        return phrase in low
    i = low.find(phrase)
    while i != -1:
        if i == 0 or not (low[i - 1].isascii() and low[i - 1].isalnum()):
            return True
        i = low.find(phrase, i + 1)
    return False


@dataclass(frozen=True)
class Evidence:
    """What the matcher looks at (built by the extractor)."""

    codes: frozenset[str]
    status: int | None
    exceptions: frozenset[str]
    low: str                  # lower-cased evidence text
    facts: frozenset[str]


class Matcher:
    """All rules of one table, indexed by trigger."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        self.rules: tuple[Rule, ...] = tuple(rules)
        by_code: dict[str, set[int]] = {}
        by_status: dict[int, set[int]] = {}
        by_exception: dict[str, set[int]] = {}
        by_key: dict[str, list[tuple[str, int]]] = {}
        anywhere: list[tuple[str, int]] = []
        patterns: list[tuple[Pattern, int]] = []
        bare: list[int] = []
        for i, rule in enumerate(self.rules):
            for c in rule.codes:
                by_code.setdefault(c, set()).add(i)
            for s in rule.statuses:
                by_status.setdefault(s, set()).add(i)
            for e in rule.exceptions:
                by_exception.setdefault(e, set()).add(i)
            for p in rule.phrases:
                key = phrase_key(p)
                if key is None:
                    anywhere.append((p, i))
                else:
                    by_key.setdefault(key, []).append((p, i))
            for source in rule.patterns:
                patterns.append((Pattern.build(source), i))
            if not (rule.codes or rule.statuses or rule.exceptions or rule.phrases
                    or rule.patterns):
                bare.append(i)
        self._patterns_of: dict[int, tuple[Pattern, ...]] = {}
        for pattern, i in patterns:
            self._patterns_of[i] = self._patterns_of.get(i, ()) + (pattern,)
        self._by_code = {k: tuple(sorted(v)) for k, v in by_code.items()}
        self._by_status = {k: tuple(sorted(v)) for k, v in by_status.items()}
        self._by_exception = {k: tuple(sorted(v)) for k, v in by_exception.items()}
        self._by_key = {k: tuple(v) for k, v in by_key.items()}
        self._anywhere = tuple(anywhere)
        self._patterns = tuple(patterns)
        self._bare = tuple(bare)

    def fired(self, ev: Evidence) -> list[Rule]:
        """The rules whose facts hold and at least one trigger fires, in table order."""
        hit: set[int] = set(self._bare)
        for c in ev.codes:
            found = self._by_code.get(c)
            if found:
                hit.update(found)
        if ev.status is not None:
            found = self._by_status.get(ev.status)
            if found:
                hit.update(found)
        for e in ev.exceptions:
            found = self._by_exception.get(e)
            if found:
                hit.update(found)
        low = ev.low
        if low:
            by_key = self._by_key
            for key in {w[:3] for w in _WORD.findall(low)}:
                entries = by_key.get(key)
                if entries:
                    for phrase, i in entries:
                        if i not in hit and phrase_in(phrase, low):
                            hit.add(i)
            if not low.isascii():
                for phrase, i in self._anywhere:
                    if i not in hit and phrase in low:
                        hit.add(i)
            for pattern, i in self._patterns:
                if i not in hit and pattern.search(low):
                    hit.add(i)
        rules = self.rules
        facts = ev.facts
        return [rules[i] for i in sorted(hit) if rules[i].holds(facts)]

    def by_words(self, rule: Rule, ev: Evidence) -> bool:
        """True when ``rule`` fires on what the error says (a payload code, a phrase, a
        pattern), not only on its form (an HTTP status, an exception class, a fact)."""
        if not rule.codes.isdisjoint(ev.codes):
            return True
        if any(phrase_in(p, ev.low) for p in rule.phrases):
            return True
        return any(p.search(ev.low) for p in self._patterns_of.get(rule.index, ()))

    def fired_slow(self, ev: Evidence) -> list[Rule]:
        """Reference implementation: every rule checked directly."""
        out = []
        for rule in self.rules:
            if not rule.holds(ev.facts):
                continue
            bare = not (rule.codes or rule.statuses or rule.exceptions or rule.phrases
                        or rule.patterns)
            if (bare or not rule.codes.isdisjoint(ev.codes)
                    or (ev.status is not None and ev.status in rule.statuses)
                    or not rule.exceptions.isdisjoint(ev.exceptions)
                    or any(phrase_in(p, ev.low) for p in rule.phrases)
                    or any(re.search(p, ev.low) for p in rule.patterns)):
                out.append(rule)
        return out


__all__ = ["Evidence", "Matcher", "Pattern", "phrase_in", "phrase_key"]
