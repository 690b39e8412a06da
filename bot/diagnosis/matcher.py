"""The one matcher: which rules of a knowledge table does a paste's evidence trigger?

Compiled once per table. Running every rule's check on every paste would cost too much, so the
table is indexed by trigger:

* payload codes, exception class names and HTTP statuses: dictionary look-ups;
* plain-text phrases: a one-word phrase matches that whole word (``forbidden``, ``throttled``)
  and is a set look-up; a longer phrase matches where it starts a word (its last word may go
  on: "rate limit" matches "rate limited"; "moderation failed" matches ``input_moderation
  failed``, not ``premoderation failed``) and is indexed by its longest complete word: the
  evidence text is cut into words once, and only phrases whose key word is among them are
  compared. Phrases in Chinese (any non-ASCII start) match anywhere;
* regex patterns: each is split at its top-level ``|``; a branch keeps the literal every match
  of it starts with, and runs only when that literal is in the text (each distinct literal is
  looked for once);
* ``when`` / ``unless`` facts: the rules they block are worked out per table for every set of
  facts, so a paste's facts are one dictionary look-up.

``fired_slow`` checks every rule directly; the tests compare the two.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from bot.diagnosis.knowledge import PREDICATES, Rule

_WORD = re.compile(r"[a-z0-9]+")
# The same words at C speed: every byte but a-z 0-9 becomes a space (non-ASCII: "?" first).
_TOKEN_TABLE = bytes(c if (48 <= c <= 57 or 97 <= c <= 122) else 32 for c in range(256))


def words_of(low: str) -> set[bytes]:
    """The words ([a-z0-9]+) of a lower-cased text, as ASCII bytes."""
    return set(low.encode("ascii", "replace").translate(_TOKEN_TABLE).split())
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


_WORD_LITERAL = re.compile(r"[a-z0-9_]+")
# what splitting a regex at its top-level ``|`` could change: global inline flags, back
# references and conditionals (they refer across branches)
_UNSPLITTABLE = re.compile(r"^\(\?[a-zA-Z]+\)|\\[1-9]|\(\?P=|\(\?\(")


def _branch_regex(branch: str, literal: str) -> re.Pattern[str]:
    """One branch compiled on its own. A branch that starts with ``\\b`` and a word is written
    with the word first (``\\bapi_?key`` as ``api(?<=\\bapi)_?key``: the same matches), so the
    regex engine looks for the word at C speed instead of trying ``\\b`` at every position."""
    if (branch.startswith("\\b") and len(literal) >= 2 and _WORD_LITERAL.fullmatch(literal)
            and branch.startswith(literal, 2)):
        rewritten = literal + "(?<=\\b" + literal + ")" + branch[2 + len(literal):]
        try:
            return re.compile(rewritten)
        except re.error:
            pass
    return re.compile(branch)


@dataclass(frozen=True)
class Pattern:
    """A lower-case regex plus the literals one of which every match contains (None: no safe
    prefilter, always run), and the same regex as ``branches``: (literal, regex) per top-level
    alternative, the literal every match of that alternative starts with. The regex matches
    somewhere exactly when one of its branches does, so the matcher runs only the branches
    whose literal is in the text."""

    regex: re.Pattern[str]
    keywords: tuple[str, ...] | None
    branches: tuple[tuple[str, re.Pattern[str]], ...] | None = None

    @classmethod
    def build(cls, source: str) -> Pattern:
        regex = re.compile(source)
        parts = _branches(source)
        literals = [_leading_literal(b) for b in parts]
        if any(len(x) < 2 for x in literals):
            return cls(regex, None)
        unique = list(dict.fromkeys(literals))
        minimal = tuple(k for k in unique if not any(o != k and o in k for o in unique))
        if _UNSPLITTABLE.search(source):
            branches = tuple((k, regex) for k in minimal)
        else:
            try:
                branches = tuple((k, _branch_regex(b, k)) for b, k in zip(parts, literals, strict=True))
            except re.error:
                branches = tuple((k, regex) for k in minimal)
        return cls(regex, minimal, branches)

    def search(self, low: str) -> bool:
        if self.keywords is not None:
            for k in self.keywords:
                if k in low:
                    break
            else:
                return False
        return self.regex.search(low) is not None


def single_word(phrase: str) -> bool:
    """A phrase of one ASCII word (letters and digits only): matched as a whole word."""
    return phrase.isascii() and phrase.isalnum()


_FEW_PHRASES = 3  # up to this many phrases of a rule under one key: one ``in`` each

# Words in nearly every error paste make poor index keys (every paste would be a candidate).
_COMMON = frozenset("""a an and api are be by can code could error for from has have in is it
key message model not of on or please request server than that the this to type was with you
your""".split())


def complete_words(phrase: str) -> list[str]:
    """The words of a phrase that it goes on after (the text must contain them whole)."""
    return [m.group() for m in _WORD.finditer(phrase) if m.end() < len(phrase)]


def phrase_key(phrase: str, uses: dict[str, int] | None = None) -> str | None:
    """The index key of a longer ASCII phrase: one of its complete words (one the phrase goes
    on after, so the text must contain it whole), preferring words that are not in every
    paste, then (given ``uses``: in how many of the table's phrases each word is complete) the
    word the fewest phrases share, then the longest. None: look for it anywhere."""
    if not phrase.isascii():
        return None
    complete = complete_words(phrase)
    if not complete:
        return None
    rare = [w for w in complete if w not in _COMMON]
    counts = uses or {}
    return min(rare or complete, key=lambda w: (counts.get(w, 0), -len(w)))


def phrase_in(phrase: str, low: str) -> bool:
    """True when ``phrase`` occurs in ``low`` as the matcher defines it (see the module)."""
    if single_word(phrase):
        return phrase in _WORD.findall(low)
    if not (phrase[0].isascii() and phrase[0].isalnum()):
        return phrase in low
    return _starts_a_word(phrase, low)


def _starts_a_word(phrase: str, low: str) -> bool:
    """Whether ``phrase`` occurs in ``low`` where a word starts (not right after a letter or
    digit: "rate limit" is not in "x-rate limit"'s "xrate limit")."""
    i = low.find(phrase)
    while i > 0 and low[i - 1].isascii() and low[i - 1].isalnum():
        i = low.find(phrase, i + 1)
    return i != -1


def _blocked_by_facts(rules: tuple[Rule, ...],
                      conditional: frozenset[int]) -> dict[frozenset[str], frozenset[int]]:
    """For every subset of ``knowledge.PREDICATES``: the conditional rules whose ``when`` /
    ``unless`` facts do not hold (made once per table; the subsets that differ only in facts
    no rule names share one computation)."""
    named = sorted({f for i in conditional for f in rules[i].when | rules[i].unless})
    other = sorted(PREDICATES - set(named))
    by_named: dict[frozenset[str], frozenset[int]] = {}
    for bits in range(1 << len(named)):
        facts = frozenset(f for n, f in enumerate(named) if bits >> n & 1)
        by_named[facts] = frozenset(i for i in conditional if not rules[i].holds(facts))
    out: dict[frozenset[str], frozenset[int]] = {}
    for facts, blocked in by_named.items():
        for bits in range(1 << len(other)):
            out[facts | {f for n, f in enumerate(other) if bits >> n & 1}] = blocked
    return out


class Evidence(NamedTuple):
    """What the matcher looks at (built from the extractor's output)."""

    codes: frozenset[str]
    status: int | None
    exceptions: frozenset[str]
    low: str                  # lower-cased evidence text
    facts: frozenset[str]


class Matcher:
    """All rules of one table, indexed by trigger."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        self.rules: tuple[Rule, ...] = tuple(rules)
        if any(r.index != i for i, r in enumerate(self.rules)):
            raise ValueError("matcher: rules must be a whole table, in order (index = position)")
        by_code: dict[str, set[int]] = {}
        by_status: dict[int, set[int]] = {}
        by_exception: dict[str, set[int]] = {}
        by_single: dict[str, set[int]] = {}
        by_key: dict[str, list[tuple[str, bool, int]]] = {}
        anywhere: list[tuple[str, int]] = []
        patterns: list[tuple[Pattern, int]] = []
        bare: list[int] = []
        # a word that many phrases share is in many pastes too: a poor key
        uses: dict[str, int] = {}
        for rule in self.rules:
            for p in rule.phrases:
                if not single_word(p) and p.isascii():
                    for w in set(complete_words(p)):
                        uses[w] = uses.get(w, 0) + 1
        for i, rule in enumerate(self.rules):
            for c in rule.codes:
                by_code.setdefault(c, set()).add(i)
            for st in rule.statuses:
                by_status.setdefault(st, set()).add(i)
            for e in rule.exceptions:
                by_exception.setdefault(e, set()).add(i)
            for p in rule.phrases:
                key = None if single_word(p) else phrase_key(p, uses)
                if single_word(p):
                    by_single.setdefault(p, set()).add(i)
                elif key is None:
                    anywhere.append((p, i))
                else:
                    # True: the phrase must start a word (it starts with a letter or digit)
                    by_key.setdefault(key, []).append((p, p[0].isalnum(), i))
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
        single_index = {k.encode(): tuple(sorted(v)) for k, v in by_single.items()}
        # per key word, per rule: the rule's phrases with that key as one alternation (the
        # regex engine finds a literal alternation much faster than one find per phrase)
        # (a rule with a few phrases for that key looks for each with ``in``, cheaper still)
        key_index: dict[bytes, tuple[tuple[tuple[str, bool, int], ...],
                                     tuple[tuple[re.Pattern[str], bool, int], ...]]] = {}
        for k, entries in by_key.items():
            per_rule: dict[tuple[int, bool], list[str]] = {}
            for phrase, at_word, i in entries:
                per_rule.setdefault((i, at_word), []).append(phrase)
            key_index[k.encode()] = (
                tuple((p, at_word, i) for (i, at_word), ps in per_rule.items()
                      if len(ps) <= _FEW_PHRASES for p in ps),
                tuple((re.compile("|".join(re.escape(p)
                                           for p in sorted(ps, key=len, reverse=True))),
                       at_word, i) for (i, at_word), ps in per_rule.items()
                      if len(ps) > _FEW_PHRASES))
        # both indexes under one key set: one intersection with the text's words
        self._by_word = {
            k: (single_index.get(k, ()), *key_index.get(k, ((), ())))
            for k in single_index.keys() | key_index.keys()}
        # phrases in other scripts, by their first character (a set look-up per character)
        by_first: dict[str, list[tuple[str, int]]] = {}
        for phrase, i in anywhere:
            by_first.setdefault(phrase[0], []).append((phrase, i))
        self._by_first = {k: tuple(v) for k, v in by_first.items()}
        self._firsts = frozenset(by_first)
        self._patterns = tuple(patterns)
        # pattern branches by literal: each distinct literal is looked for once (``in``), and
        # only the branches whose literal is in the text run (patterns without one always run)
        branch_rx: list[tuple[re.Pattern[str], int]] = []
        by_literal: dict[str, list[int]] = {}
        always: list[int] = []
        for pattern, i in patterns:
            if pattern.branches is None:
                always.append(len(branch_rx))
                branch_rx.append((pattern.regex, i))
                continue
            for k, rx in pattern.branches:
                by_literal.setdefault(k, []).append(len(branch_rx))
                branch_rx.append((rx, i))
        # a literal that contains another is looked for only where that one is in the text
        # (under the longest such literal that contains none itself)
        outer = [k for k in by_literal if not any(o != k and o in k for o in by_literal)]
        inner: dict[str, list[str]] = {k: [] for k in outer}
        for k in by_literal:
            if k not in inner:
                inner[max((o for o in outer if o in k), key=len)].append(k)
        self._pattern_literals = tuple(
            (k, tuple(branch_rx[n] for n in by_literal[k]),
             tuple((o, tuple(branch_rx[n] for n in by_literal[o])) for o in inner[k]))
            for k in outer)
        self._pattern_always = tuple(branch_rx[n] for n in always)
        self._bare = tuple(bare)
        self._conditional = frozenset(i for i, r in enumerate(self.rules) if r.when or r.unless)
        # the conditional rules whose facts do not hold, for every set of known facts
        self._blocked = _blocked_by_facts(self.rules, self._conditional)

    def fired(self, ev: Evidence) -> list[Rule]:
        """The rules whose facts hold and at least one trigger fires, in table order."""
        return self.fired_worded(ev)[0]

    def fired_worded(self, ev: Evidence) -> tuple[list[Rule], frozenset[int]]:
        """``fired`` plus the indexes of the rules that fired on what the error says (a code,
        a phrase, a pattern), not only on its form (a status, an exception class, a fact)."""
        words: set[int] = set()
        for c in ev.codes:
            found = self._by_code.get(c)
            if found:
                words.update(found)
        low = ev.low
        if low:
            tokens = words_of(low)
            for k in self._by_word.keys() & tokens:
                single, plain, regexes = self._by_word[k]
                if single:
                    words.update(single)
                for phrase, at_word, i in plain:
                    # the set look-up is the cheaper; then where it starts a word (phrase_in)
                    if (i not in words and phrase in low
                            and (not at_word or _starts_a_word(phrase, low))):
                        words.add(i)
                for phrases, at_word, i in regexes:
                    if i in words:
                        continue
                    hit_at = phrases.search(low)
                    if at_word:  # where it starts a word (phrase_in)
                        while (hit_at is not None and hit_at.start() > 0
                               and low[hit_at.start() - 1].isascii()
                               and low[hit_at.start() - 1].isalnum()):
                            hit_at = phrases.search(low, hit_at.start() + 1)
                    if hit_at is not None:
                        words.add(i)
            if not low.isascii():
                for first in self._firsts.intersection(low):
                    for phrase, i in self._by_first[first]:
                        if i not in words and phrase in low:
                            words.add(i)
            # (a branch whose rule fired already is not run; the order of the runs does not
            # change which rules fire)
            for rx, i in self._pattern_always:
                if i not in words and rx.search(low) is not None:
                    words.add(i)
            for needle, branches, longer in self._pattern_literals:
                if needle in low:
                    for rx, i in branches:
                        if i not in words and rx.search(low) is not None:
                            words.add(i)
                    for longer_needle, longer_branches in longer:
                        if longer_needle in low:
                            for rx, i in longer_branches:
                                if i not in words and rx.search(low) is not None:
                                    words.add(i)
        hit = set(words)
        hit.update(self._bare)
        if ev.status is not None:
            found = self._by_status.get(ev.status)
            if found:
                hit.update(found)
        for e in ev.exceptions:
            found = self._by_exception.get(e)
            if found:
                hit.update(found)
        rules = self.rules
        blocked = self._blocked.get(ev.facts)
        if blocked is None:  # facts outside knowledge.PREDICATES (a hand-made Evidence)
            facts = ev.facts
            blocked = frozenset(i for i in self._conditional if not rules[i].holds(facts))
        out = [rules[i] for i in sorted(hit - blocked)]
        return out, frozenset(words)

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
                    or any(p.regex.search(ev.low) for p in self._patterns_of.get(rule.index, ()))):
                out.append(rule)
        return out


__all__ = ["Evidence", "Matcher", "Pattern", "phrase_in", "phrase_key"]
