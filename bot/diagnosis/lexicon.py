"""The last word before ``unknown``: the vocabulary of the real pastes, learnt.

The knowledge table decides whenever one of its rules fires. When none does, the paste is not
always empty of evidence: it is worded in a way no rule was written for ("Network connection
lost.", "不支持的路径", "A Virtual Network is configured for this resource"). Most of the
table's misses on fresh pastes are of that kind (first looks: 60 % of the misses were an
``unknown`` verdict on a paste with a known cause). Words still carry the category: "lost",
"connection" and "timeout" are network words whoever prints them.

``lexicon.json`` holds, for each word seen in at least a few of the labelled real pastes
(tests/diagnosis: realworld, collected and the retired blind sets), how many pastes of each
category contain it. The guess is a naive Bayes over word presence, with an ``unknown`` class
of its own (pastes that really hide the cause have their own words: "something went wrong").
It speaks only when

* no rule fired, or only weak ones: the verdict scores below ``WEAK_SCORE``, i.e. it rests on
  the paste's form alone (a bare status, an exception class, "Forbidden"), never on a code or
  a phrase that names the cause: precise evidence always decides (nor over a 5xx status: the
  server said it failed); and
* its posterior for a category other than ``unknown`` reaches ``threshold``;

its verdict then carries ``confidence`` (the share of such guesses that were right on first
looks at fresh batches, measured by ``tests/diagnosis/fit_lexicon.py``), which is low enough
that the reply says so and asks for the missing piece. The file is made by that script
(``--write``) and a test checks it matches a fresh fit of the learning files.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from bot.diagnosis.extract import Extracted
from bot.diagnosis.model import CATEGORIES

LEXICON_PATH = Path(__file__).with_name("lexicon.json")

# How much of a paste is read: the error is at its head or tail; a 1 MiB log is not read whole.
HEAD = 4000
# Laplace smoothing of the per-category presence counts.
ALPHA = 0.5
# A guess needs this many words the lexicon knows: one or two words are not evidence.
MIN_WORDS = 3
# A verdict scoring below this rests on form alone (the table's status and class-name
# fallbacks weigh 31-45, "Forbidden" 45): the lexicon may replace it. Rules that name a cause
# weigh 50 and more.
WEAK_SCORE = 50.0

_WORD = re.compile(r"[a-z][a-z_]{2,30}|[\u4e00-\u9fff]{2,40}")
# Words every kind of paste has: they carry no category and only cost time.
STOP = frozenset(
    "the and for you your this that with are was not from have has can will please http "
    "https www com api error errors".split())


def tokens(ex: Extracted) -> frozenset[str]:
    """The features of one paste: its words (Chinese as character pairs), the status and its
    class, the exception class names and the codes found."""
    out: set[str] = set()
    for word in _WORD.findall(ex.hay_lower[:HEAD]):
        if word[0] >= "\u4e00":
            out.update(word[i:i + 2] for i in range(len(word) - 1))
        elif word not in STOP:
            out.add(word)
    if ex.status is not None:
        out.add(f"status:{ex.status}")
        out.add(f"status:{ex.status // 100}xx")
    out.update("exc:" + name.lower() for name in ex.exceptions)
    out.update("code:" + code for code in ex.codes)
    return frozenset(out)


@dataclass(frozen=True, slots=True)
class Guess:
    category: str
    posterior: float


class LexiconError(ValueError):
    """lexicon.json does not hold what the guess needs (named in one line)."""


class Lexicon:
    """Word-presence counts per category, and when a guess from them may be said."""

    def __init__(self, docs: Mapping[str, int], counts: Mapping[str, Mapping[str, int]],
                 threshold: float, confidence: float) -> None:
        bad = sorted(set(docs) - set(CATEGORIES))
        if bad or not docs:
            raise LexiconError(f"lexicon: unknown or no categories {bad}")
        if not (0.0 < threshold < 1.0 and 0.0 < confidence < 1.0):
            raise LexiconError("lexicon: threshold and confidence must lie between 0 and 1")
        self.categories = tuple(sorted(docs))
        self.threshold = threshold
        self.confidence = confidence
        total = sum(docs.values())
        if any(n <= 0 for n in docs.values()):
            raise LexiconError("lexicon: every category needs at least one paste")
        self.prior = tuple(math.log(docs[c] / total) for c in self.categories)
        # weight of a word for a category: log P(word | category) - log P(word)
        self.weights: dict[str, tuple[float, ...]] = {}
        for word, per in counts.items():
            if not set(per) <= set(docs):
                raise LexiconError(f"lexicon: word {word!r} counts an unknown category")
            seen = sum(per.values())
            if any(n < 0 or n > docs[c] for c, n in per.items()):
                raise LexiconError(f"lexicon: word {word!r} has an impossible count")
            base = math.log((seen + ALPHA) / (total + 2 * ALPHA))
            self.weights[word] = tuple(
                math.log((per.get(c, 0) + ALPHA) / (docs[c] + 2 * ALPHA)) - base
                for c in self.categories)

    @classmethod
    def load(cls, path: Path = LEXICON_PATH) -> Lexicon:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(data["docs"], data["counts"], float(data["threshold"]),
                       float(data["confidence"]))
        except (OSError, KeyError, TypeError, ValueError) as exc:
            raise LexiconError(f"{path.name}: {exc}") from exc

    def known(self, features: Iterable[str]) -> int:
        return sum(1 for f in features if f in self.weights)

    def posterior(self, features: Iterable[str]) -> dict[str, float]:
        """P(category | words) for every category (words the lexicon lacks are ignored)."""
        weights = self.weights
        return self._posterior([weights[f] for f in features if f in weights])

    def _posterior(self, rows: list[tuple[float, ...]]) -> dict[str, float]:
        scores = list(self.prior)
        if rows:  # one column per category: summed in C
            columns = zip(*rows, strict=True)
            scores = [p + sum(col) for p, col in zip(scores, columns, strict=True)]
        top = max(scores)
        exp = [math.exp(s - top) for s in scores]
        z = sum(exp)
        return {c: e / z for c, e in zip(self.categories, exp, strict=True)}

    def guess(self, ex: Extracted) -> Guess | None:
        """A category other than ``unknown`` when the words say it clearly enough, else None."""
        weights = self.weights
        rows = [weights[f] for f in tokens(ex) if f in weights]
        if len(rows) < MIN_WORDS:
            return None
        post = self._posterior(rows)
        best = max(post, key=post.__getitem__)
        if best == "unknown" or post[best] < self.threshold:
            return None
        return Guess(best, post[best])


DEFAULT_LEXICON = Lexicon.load()
