"""Fit bot/diagnosis/lexicon.json on the learning pastes; measure it on first looks.

    .venv/bin/python -m tests.diagnosis.fit_lexicon [--write]

The lexicon (bot/diagnosis/lexicon.py) counts, per category, the learning pastes
(tests/diagnosis/conftest.py: LEARNING, never the held-out blind set) that contain each word.
Whether its guesses may be said, and how sure they are, is measured where the table was not
written for the paste: tests/diagnosis/first_looks.jsonl names, per fresh batch, the pastes the
engine called ``unknown`` before anything was learnt from that batch. For each batch the
lexicon is fitted on every learning paste *outside* it and asked about those pastes; the
threshold is the one that makes the most of them right while at least PRECISION of its guesses
are right (ties: the higher threshold), the
confidence is the share of its guesses that were right (Laplace). The script prints that
measurement; ``--write`` stores the fit. The test (test_lexicon.py) refits and compares.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bot.diagnosis.extract import extract  # noqa: E402
from bot.diagnosis.lexicon import LEXICON_PATH, MIN_WORDS, Lexicon, tokens  # noqa: E402
from bot.diagnosis.redact import redact  # noqa: E402
from tests.diagnosis.conftest import HERE, LEARNING, load_jsonl  # noqa: E402

# A word must be in this many learning pastes to be kept: rarer words are one paste's, not a
# family's, and would let the lexicon recite its training set.
MIN_PASTES = 3
THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99)
PRECISION = 0.75
Counts = dict[str, dict[str, int]]


def learning() -> list[tuple[str, str, frozenset[str]]]:
    """(source, category, features) of every learning paste."""
    out = []
    for name in LEARNING:
        for r in load_jsonl(HERE / name):
            out.append((str(r["source"]), str(r["category"]), tokens(extract(redact(r["text"])))))
    return out


def fit(rows: list[tuple[str, str, frozenset[str]]]) -> tuple[dict[str, int], Counts]:
    docs: Counter[str] = Counter()
    per: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for _source, category, feats in rows:
        docs[category] += 1
        for f in feats:
            per[f][category] += 1
    counts = {w: dict(sorted(c.items())) for w, c in sorted(per.items())
              if sum(c.values()) >= MIN_PASTES}
    return dict(sorted(docs.items())), counts


def first_look_trials(rows: list[tuple[str, str, frozenset[str]]]
                      ) -> list[tuple[str, str, float]]:
    """(label, best category, its posterior) for each first look that said ``unknown``, the
    lexicon fitted without the paste's batch."""
    batch_of: dict[str, str] = {}
    asked: defaultdict[str, set[str]] = defaultdict(set)
    for r in load_jsonl(HERE / "first_looks.jsonl"):
        batch_of[r["source"]] = r["batch"]
        if r["verdict"] == "unknown":
            asked[r["batch"]].add(r["source"])
    trials = []
    for batch, sources in sorted(asked.items()):
        docs, counts = fit([r for r in rows if batch_of.get(r[0]) != batch])
        lex = Lexicon(docs, counts, 0.5, 0.5)
        for source, category, feats in rows:
            if source in sources:
                post = lex.posterior(feats)
                best = max(post, key=post.__getitem__)
                enough = lex.known(feats) >= MIN_WORDS
                trials.append((category, best if enough else "unknown", post[best]))
    return trials


def choose(trials: list[tuple[str, str, float]]) -> tuple[float, float, dict[str, int]]:
    """The threshold that gets the most first looks right while its guesses are right at least
    PRECISION of the time (a wrong category said is worse than "unknown", which asks for the
    missing piece); its confidence and the counts."""
    base = sum(label == "unknown" for label, _g, _p in trials)
    best: tuple[int, float] = (-1, THRESHOLDS[-1])
    for th in THRESHOLDS:
        said = [label == g for label, g, p in trials if g != "unknown" and p >= th]
        if not said or sum(said) < PRECISION * len(said):
            continue
        right = sum((g if g != "unknown" and p >= th else "unknown") == label
                    for label, g, p in trials)
        if right >= best[0]:
            best = (right, th)
    right, th = best
    right = sum((g if g != "unknown" and p >= th else "unknown") == label
                for label, g, p in trials)
    said = [(label, g) for label, g, p in trials if g != "unknown" and p >= th]
    hits = sum(label == g for label, g in said)
    confidence = round((hits + 1) / (len(said) + 2), 3)
    return th, confidence, {"first_looks": len(trials), "right_as_unknown": base,
                            "right_with_lexicon": right, "guesses": len(said),
                            "guesses_right": hits}


def build() -> dict[str, object]:
    rows = learning()
    trials = first_look_trials(rows)
    threshold, confidence, evaluation = choose(trials)
    docs, counts = fit(rows)
    return {"threshold": threshold, "confidence": confidence, "evaluation": evaluation,
            "min_pastes": MIN_PASTES, "docs": docs, "counts": counts}


def dump(data: dict[str, object]) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    data = build()
    ev = data["evaluation"]
    assert isinstance(ev, dict)
    print(f"first looks called unknown: {ev['first_looks']}; right as unknown "
          f"{ev['right_as_unknown']}, right with the lexicon {ev['right_with_lexicon']} "
          f"(threshold {data['threshold']}: {ev['guesses']} guesses, {ev['guesses_right']} "
          f"right, confidence {data['confidence']}); {len(data['counts'])} words")  # type: ignore[arg-type]
    if args.write:
        LEXICON_PATH.write_text(dump(data), encoding="utf-8")
        print(f"written {LEXICON_PATH}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
