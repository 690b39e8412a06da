"""Measure the engine on a labelled file of real pastes (issue 10's report numbers).

    .venv/bin/python -m tests.diagnosis.measure tests/diagnosis/blind.jsonl [more.jsonl ...]

Per category: pastes, category accuracy, retryable accuracy; overall; how many pastes labelled
auth / quota / permission got advice that suggests retrying (the target is zero); and a
reliability table (accuracy per confidence bucket). It prints no individual paste: the blind
set is measured, never looked at to tune the table.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bot.diagnosis import diagnose  # noqa: E402
from bot.diagnosis.explain import suggests_retry  # noqa: E402

BUCKETS = ((0.0, 0.7), (0.7, 0.85), (0.85, 0.95), (0.95, 1.01))


def measure(path: Path) -> None:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]
    per: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    retry_advice = 0
    pairs: list[tuple[float, bool]] = []
    for r in rows:
        d = diagnose(r["text"])
        counts = per[r["category"]]
        counts[0] += 1
        counts[1] += d.category == r["category"]
        counts[2] += d.retryable == r["retryable"]
        pairs.append((d.confidence, d.category == r["category"]))
        if r["category"] in ("auth", "quota", "permission"):
            said = " ".join([d.summary, *d.actions])
            retry_advice += suggests_retry(said)
    n = len(rows)
    cat = sum(v[1] for v in per.values()) / n
    ret = sum(v[2] for v in per.values()) / n
    print(f"\n{path.name}: {n} pastes, category {cat:.3f}, retryable {ret:.3f}, "
          f"retry advice on auth/quota/permission: {retry_advice}")
    print("| category | n | category acc | retryable acc |\n|---|---|---|---|")
    for name in sorted(per):
        total, a, b = per[name]
        print(f"| {name} | {total} | {a / total:.2f} | {b / total:.2f} |")
    print("| confidence | n | mean confidence | accuracy |\n|---|---|---|---|")
    for lo, hi in BUCKETS:
        got = [(c, ok) for c, ok in pairs if lo <= c < hi]
        if got:
            mean = sum(c for c, _ in got) / len(got)
            acc = sum(ok for _, ok in got) / len(got)
            print(f"| {lo:.2f}–{min(hi, 1.0):.2f} | {len(got)} | {mean:.3f} | {acc:.3f} |")
    brier = sum((c - ok) ** 2 for c, ok in pairs) / n
    print(f"Brier score {brier:.3f}")


def main(argv: list[str]) -> int:
    for name in argv or ["tests/diagnosis/blind.jsonl"]:
        measure(Path(name))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
