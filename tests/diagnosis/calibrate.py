"""Fit the [calibration] of knowledge.toml on first looks at fresh pastes; print reliability.

    .venv/bin/python -m tests.diagnosis.calibrate [--write] [--report FILE]

A confidence must say how often a verdict is right on a paste nobody has written a rule for.
The learning pastes cannot tell: the rules were written from them, so nearly every verdict
there is right. tests/diagnosis/first_looks.jsonl holds, for each paste of a new learning
batch, what the engine said *before* anything was learnt from that batch (its evidence
features and whether the category was right), measured with the engine of the commit named
in each row. The fit, confidence = sigmoid(intercept + score·s + margin·m + support·u +
payload·p + worded·w), is made on those rows by gradient descent on the log loss with an L2
pull towards PRIOR; ``unknown`` (the confidence of an "unknown" verdict) is the share of the
first looks' "unknown" verdicts that were right (Laplace: one imagined hit and miss).
``--write`` puts the numbers into knowledge.toml. The script prints the reliability table
(accuracy per confidence bucket) for the first looks, the learning pastes (current table) and,
read-only, any file given with ``--report FILE``.

To add first looks for a new batch, before changing any rule for it:
``.venv/bin/python -m tests.diagnosis.calibrate --first-look BATCH FILE.jsonl`` appends them.
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

from bot.diagnosis import diagnose  # noqa: E402
from bot.diagnosis.engine import DEFAULT_ENGINE  # noqa: E402
from bot.diagnosis.extract import extract  # noqa: E402
from bot.diagnosis.knowledge import BUILTIN_PATH  # noqa: E402
from bot.diagnosis.redact import redact  # noqa: E402

# the learning pastes, never the held-out blind set
from tests.diagnosis.conftest import LEARNING  # noqa: E402

HERE = Path(__file__).resolve().parent
NAMES = ("intercept", "score", "margin", "support", "payload", "worded")
# The starting point and pull of the fit: a middling score alone is not certainty.
PRIOR = (-2.5, 4.0, 1.5, 0.5, 0.5, 1.5)
BUCKETS = ((0.0, 0.5), (0.5, 0.7), (0.7, 0.8), (0.8, 0.9), (0.9, 0.95), (0.95, 1.01))


FIRST_LOOKS = HERE / "first_looks.jsonl"


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


def first_look_rows(batch: str, path: Path) -> list[dict[str, object]]:
    """What the current engine says of a new batch's pastes, to store before learning."""
    import subprocess

    engine = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout.strip()
    out: list[dict[str, object]] = []
    for r in rows(path):
        x, _fired, category = features(str(r["text"]))
        # "verdict" is the table's alone (what calibration fits); "said" is the whole engine's,
        # the lexicon included (what a user would have been told)
        row: dict[str, object] = {"engine": engine, "batch": batch, "source": r["source"],
                                  "category": r["category"], "verdict": category,
                                  "said": diagnose(str(r["text"])).category}
        if x is not None:
            row["features"] = dict(zip(NAMES[1:], (round(v, 4) for v in x[1:]), strict=True))
        out.append(row)
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--report", action="append", default=[])
    ap.add_argument("--first-look", nargs=2, metavar=("BATCH", "FILE"))
    args = ap.parse_args()
    if args.first_look:
        new = first_look_rows(args.first_look[0], Path(args.first_look[1]))
        with FIRST_LOOKS.open("a", encoding="utf-8") as fh:
            fh.writelines(json.dumps(r) + "\n" for r in new)
        print(f"{len(new)} first looks appended to {FIRST_LOOKS}")
        return 0
    prior = list(PRIOR)
    data: list[tuple[list[float], float]] = []
    unknown_right = unknown_total = 0
    for r in rows(FIRST_LOOKS):
        right = r["verdict"] == r["category"]
        feats = r.get("features")
        if not isinstance(feats, dict):
            unknown_total += 1
            unknown_right += right
        else:
            data.append(([1.0, *(float(feats[n]) for n in NAMES[1:])], 1.0 if right else 0.0))
    w = fit(data, prior)
    unknown = (unknown_right + 1) / (unknown_total + 2)  # Laplace
    print("fitted:", dict(zip(NAMES, (round(x, 3) for x in w), strict=True)),
          f"unknown: {unknown:.3f} ({unknown_right}/{unknown_total} right)",
          f"({len(data)} + {unknown_total} first looks)")
    if args.write:
        text = BUILTIN_PATH.read_text(encoding="utf-8")
        for name, value in (*zip(NAMES, w, strict=True), ("unknown", unknown)):
            text = re.sub(rf"(?m)^{name} = [-0-9.]+$", f"{name} = {value:.3f}", text, count=1)
        BUILTIN_PATH.write_text(text, encoding="utf-8")
        print("written to", BUILTIN_PATH)
    else:
        learning = [r for name in LEARNING for r in rows(HERE / name)]
        print_table("learning pastes (current table)", reliability(learning))
        for path in args.report:
            print_table(path, reliability(rows(Path(path))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
