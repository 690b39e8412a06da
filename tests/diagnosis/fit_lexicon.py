"""Fit bot/diagnosis/lexicon.json on the learning pastes; measure it on first looks.

    .venv/bin/python -m tests.diagnosis.fit_lexicon [--write]

The lexicon (bot/diagnosis/lexicon.py) counts, per category, the learning pastes
(tests/diagnosis/conftest.py: LEARNING, never the held-out blind set) that contain each word.
Whether its guesses may be said, and how sure they are, is measured where the table was not
written for the paste: tests/diagnosis/first_looks.jsonl names, per fresh batch, the pastes the
engine called ``unknown``, or read on form alone (a score below WEAK_SCORE), before anything
was learnt from that batch. For each batch the lexicon is fitted on every learning paste
*outside* it and asked about those pastes; the threshold is the one that makes the most of
them right while at least PRECISION of the verdicts it changes are right (ties: the higher
threshold), the confidence is the share of its changes that were right (Laplace). The script prints that
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
from bot.diagnosis.lexicon import LEXICON_PATH, MIN_WORDS, WEAK_SCORE, Lexicon, tokens  # noqa: E402
from bot.diagnosis.redact import redact  # noqa: E402
from tests.diagnosis.conftest import HERE, LEARNING, load_jsonl  # noqa: E402

# A word must be in this many learning pastes to be kept: rarer words are one paste's, not a
# family's, and would let the lexicon recite its training set.
MIN_PASTES = 3
THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999, 0.9999)
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


Trial = tuple[str, str, str, float]  # label, the table's verdict, the lexicon's best, posterior


def first_look_trials(rows: list[tuple[str, str, frozenset[str]]]) -> list[Trial]:
    """One trial for each first look the lexicon may speak on (the table said ``unknown``, or
    its verdict scored below WEAK_SCORE), the lexicon fitted without the paste's batch."""
    batch_of: dict[str, str] = {}
    asked: defaultdict[str, dict[str, str]] = defaultdict(dict)
    for r in load_jsonl(HERE / "first_looks.jsonl"):
        batch_of[r["source"]] = r["batch"]
        feats = r.get("features")
        if r["verdict"] == "unknown" or (
                isinstance(feats, dict) and 100.0 * feats["score"] < WEAK_SCORE):
            asked[r["batch"]][r["source"]] = r["verdict"]
    trials = []
    for batch, sources in sorted(asked.items()):
        docs, counts = fit([r for r in rows if batch_of.get(r[0]) != batch])
        lex = Lexicon(docs, counts, 0.5, 0.5)
        for source, category, feats in rows:
            if source in sources:
                if sources[source] != "unknown" and "status:5xx" in feats:
                    continue  # the engine keeps a 5xx verdict (engine.lexicon_may_speak)
                post = lex.posterior(feats)
                best = max(post, key=post.__getitem__)
                enough = lex.known(feats) >= MIN_WORDS
                trials.append((category, sources[source], best if enough else "unknown",
                               post[best]))
    return trials


def _at(trials: list[Trial], th: float) -> tuple[int, int, int]:
    """At threshold ``th``: how many verdicts the lexicon changes, how many of its changes are
    right, and how many first looks are right in all."""
    base = sum(label == table for label, table, _g, _p in trials)
    said = [(label, table, g) for label, table, g, p in trials
            if g != "unknown" and p >= th and g != table]
    hits = sum(label == g for label, _t, g in said)
    return len(said), hits, base + hits - sum(label == table for label, table, _g in said)


def choose(trials: list[Trial]) -> tuple[float, float, dict[str, int]]:
    """The threshold that gets the most first looks right while the verdicts it changes are
    right at least PRECISION of the time (a wrong category said is worse than a weak one or
    "unknown", which ask for the missing piece); its confidence and the counts. When no
    threshold is precise enough the highest is taken, and test_lexicon fails on it."""
    best: tuple[int, float] = (-1, THRESHOLDS[-1])
    for th in THRESHOLDS:
        changed, hits, right = _at(trials, th)
        if changed and hits >= PRECISION * changed and right >= best[0]:
            best = (right, th)
    th = best[1]
    changed, hits, right = _at(trials, th)
    base = sum(label == table for label, table, _g, _p in trials)
    confidence = round((hits + 1) / (changed + 2), 3)
    return th, confidence, {"first_looks": len(trials), "right_by_table": base,
                            "right_with_lexicon": right, "changed": changed,
                            "changed_right": hits}


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
    print(f"first looks the lexicon may speak on (table said unknown or scored < "
          f"{WEAK_SCORE:.0f}): {ev['first_looks']}; right by the table {ev['right_by_table']}, "
          f"with the lexicon {ev['right_with_lexicon']} (threshold {data['threshold']}: "
          f"{ev['changed']} verdicts changed, {ev['changed_right']} right, confidence "
          f"{data['confidence']}); {len(data['counts'])} words")  # type: ignore[arg-type]
    if args.write:
        LEXICON_PATH.write_text(dump(data), encoding="utf-8")
        print(f"written {LEXICON_PATH}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
