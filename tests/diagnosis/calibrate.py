"""Fit the [calibration] of knowledge.toml on the real learning pastes, print a reliability table.

    .venv/bin/python -m tests.diagnosis.calibrate [--write]

Reads the learning pastes: realworld.jsonl, collected.jsonl and the retired blind sets (never
the held-out blind3.jsonl: it is only measured),
fits confidence = sigmoid(intercept + score·s + margin·m + support·u + payload·p + worded·w) by gradient
descent on the log loss with an L2 pull towards PRIOR (few mistakes on the
learning set must not turn into certainty). ``unknown`` (the confidence of an ``unknown``
verdict) is not fitted here: on the learning set every such verdict is right by construction,
so it is set by hand from first looks at fresh pastes (see the comment in knowledge.toml); the
script prints the learning-set share only for comparison. ``--write`` puts the numbers into
knowledge.toml. The script prints
the reliability table (accuracy per confidence bucket) for the learning pastes and, read-only,
for any file given with ``--report FILE``.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bot.diagnosis.engine import DEFAULT_ENGINE  # noqa: E402
from bot.diagnosis.extract import extract  # noqa: E402
from bot.diagnosis.knowledge import BUILTIN_PATH  # noqa: E402
from bot.diagnosis.redact import redact  # noqa: E402

HERE = Path(__file__).resolve().parent
# the learning pastes (tests/diagnosis/conftest.py: LEARNING), never the held-out blind set
LEARNING = ("realworld.jsonl", "collected.jsonl", "blind.jsonl", "blind2.jsonl")
NAMES = ("intercept", "score", "margin", "support", "payload", "worded")
# The starting point and pull of the fit: a middling score alone is not certainty.
PRIOR = (-2.5, 4.0, 1.5, 0.5, 0.5, 1.5)
BUCKETS = ((0.0, 0.5), (0.5, 0.7), (0.7, 0.8), (0.8, 0.9), (0.9, 0.95), (0.95, 1.01))


def rows(path: Path) -> list[dict[str, object]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def features(text: str) -> tuple[list[float] | None, bool, str]:
    ex = extract(redact(text))
    v = DEFAULT_ENGINE.classifier.weigh(ex)
    if v.rule is None:
        return None, False, v.category
    x = [1.0, v.score / 100.0, min(v.margin, 40.0) / 40.0, 1.0 if v.supported else 0.0,
         1.0 if ex.has_payload else 0.0, 1.0 if v.worded else 0.0]
    return x, True, v.category


def fit(data: list[tuple[list[float], float]], prior: list[float], l2: float = 10.0,
        steps: int = 4000, lr: float = 0.5) -> list[float]:
    w = list(prior)
    n = len(data)
    for _ in range(steps):
        grad = [l2 * (wi - pi) / n for wi, pi in zip(w, prior, strict=True)]
        for x, y in data:
            p = 1.0 / (1.0 + math.exp(-sum(wi * xi for wi, xi in zip(w, x, strict=True))))
            for i, xi in enumerate(x):
                grad[i] += (p - y) * xi / n
        w = [wi - lr * gi for wi, gi in zip(w, grad, strict=True)]
    return w


def reliability(path_rows: list[dict[str, object]]) -> list[tuple[str, int, float, float]]:
    from bot.diagnosis import diagnose

    table = []
    pairs = []
    for r in path_rows:
        d = diagnose(str(r["text"]))
        pairs.append((d.confidence, d.category == r["category"]))
    for lo, hi in BUCKETS:
        got = [ok for c, ok in pairs if lo <= c < hi]
        conf = [c for c, _ in pairs if lo <= c < hi]
        if got:
            table.append((f"{lo:.2f}–{min(hi, 1.0):.2f}", len(got), sum(conf) / len(conf),
                          sum(got) / len(got)))
    return table


def print_table(title: str, table: list[tuple[str, int, float, float]]) -> None:
    print(f"\n{title}\n| confidence | n | mean confidence | accuracy |\n|---|---|---|---|")
    for bucket, n, conf, acc in table:
        print(f"| {bucket} | {n} | {conf:.3f} | {acc:.3f} |")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--report", action="append", default=[])
    args = ap.parse_args()
    cal = DEFAULT_ENGINE.kb.calibration
    prior = list(PRIOR)
    data: list[tuple[list[float], float]] = []
    unknown_right = unknown_total = 0
    learning: list[dict[str, object]] = []
    for name in LEARNING:
        for r in rows(HERE / name):
            learning.append(r)
            x, fired, category = features(str(r["text"]))
            if x is None:
                unknown_total += 1
                unknown_right += category == r["category"]
            else:
                data.append((x, 1.0 if category == r["category"] else 0.0))
    w = fit(data, prior)
    # Laplace: one imagined miss among the unknown verdicts
    unknown = (unknown_right + 1) / (unknown_total + 2) if unknown_total else cal.unknown
    print("fitted:", dict(zip(NAMES, (round(x, 3) for x in w), strict=True)),
          "unknown (learning set, not written):", round(unknown, 3),
          f"({len(data)} + {unknown_total} pastes)")
    if args.write:
        text = BUILTIN_PATH.read_text(encoding="utf-8")
        for name, value in zip(NAMES, w, strict=True):
            text = re.sub(rf"(?m)^{name} = [-0-9.]+$", f"{name} = {value:.3f}", text, count=1)
        BUILTIN_PATH.write_text(text, encoding="utf-8")
        print("written to", BUILTIN_PATH)
    else:
        print_table("learning pastes (current table)", reliability(learning))
        for path in args.report:
            print_table(path, reliability(rows(Path(path))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
