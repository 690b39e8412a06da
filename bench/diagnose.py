"""Benchmark of the diagnosis engine (a script, not a test).

    .venv/bin/python bench/diagnose.py [--seconds 3] [--strict]

Prints, each with a ratio against ``json.loads`` of the same text in the same run:

* throughput on the full corpus (every paste of tests/diagnosis: corpus, realworld, collected,
  blind … blind4, plus ../shared/fixtures/errors.jsonl), single thread (texts only: no
  verdict is printed);
* the time for a 1 MiB junk paste (random bytes decoded with errors="replace"); json.loads on
  junk fails at once, so the ratio is also given against decoding the same junk as a 1 MiB
  JSON string;
* times for 256 KiB … 2 MiB of junk, to show the cost is linear in the input size;
* redaction of 100 kB and 1 MB of distinct secrets (sk- keys, api_key= values, bearer
  tokens): linear in the number of secrets (10x the text ≈ 10x the time).

Targets: >= 10,000 pastes/s, 1 MiB junk <= 50 ms, linear. ``--strict`` exits 1 on a miss.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.diagnosis import diagnose  # noqa: E402
from bot.diagnosis.redact import redact  # noqa: E402

DIAGNOSIS_TESTS = ROOT / "tests" / "diagnosis"
CORPORA = tuple(DIAGNOSIS_TESTS / name for name in (
    "corpus.jsonl", "realworld.jsonl", "collected.jsonl", "blind.jsonl", "blind2.jsonl",
    "blind3.jsonl", "blind4.jsonl"))
FIXTURES = ROOT.parent / "shared" / "fixtures" / "errors.jsonl"
TARGET_RATE = 10_000
TARGET_JUNK_MS = 50.0


def load_texts() -> list[str]:
    texts: list[str] = []
    for path in (*CORPORA, FIXTURES):
        if path.exists():
            with path.open(encoding="utf-8") as fh:
                texts.extend(json.loads(line)["text"] for line in fh if line.strip())
    return texts


def try_json(text: str) -> None:
    try:
        json.loads(text)
    except ValueError:
        pass


def rate(fn, texts: list[str], seconds: float) -> tuple[float, float]:
    """Items per second of ``fn`` over ``texts`` (repeated for about ``seconds``): per second
    of CPU time of this process (one core, unaffected by other load) and per wall second."""
    for text in texts:  # warm-up
        fn(text)
    done = 0
    start, cpu_start = time.perf_counter(), time.process_time()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        for text in texts:
            fn(text)
        done += len(texts)
    return done / (time.process_time() - cpu_start), done / (time.perf_counter() - start)


def best_ms(fn, arg, repeat: int = 5) -> float:
    """Best of ``repeat`` runs, in CPU milliseconds of this process."""
    times = []
    for _ in range(repeat):
        start = time.process_time()
        fn(arg)
        times.append(time.process_time() - start)
    return min(times) * 1000.0


def junk(size: int, seed: int = 0) -> str:
    return random.Random(seed).randbytes(size).decode("utf-8", errors="replace")


def distinct_secrets(size: int, seed: int = 0) -> str:
    """``size`` characters of distinct secrets of three kinds, one per line."""
    rnd = random.Random(seed)
    chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    parts, total = [], 0
    while total < size:
        body = "".join(rnd.choice(chars) for _ in range(40))
        part = ("sk-proj-" + body, f'"api_key": "{body}"', f"Authorization: Bearer {body}")[
            len(parts) % 3]
        parts.append(part)
        total += len(part) + 1
    return "\n".join(parts)[:size]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="time per throughput run")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)

    texts = load_texts()
    if not texts:
        print("no corpus found", file=sys.stderr)
        return 2
    sizes = [len(t) for t in texts]
    print(f"full corpus: {len(texts)} pastes, median {statistics.median(sizes):.0f} chars, "
          f"max {max(sizes)} chars")

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"machine: {os.cpu_count()} CPUs, load average {load:.2f} (wall-clock figures "
          f"suffer when it exceeds the CPU count)")
    diag_cpu, diag_wall = rate(diagnose, texts, args.seconds)
    json_cpu, json_wall = rate(try_json, texts, args.seconds / 3)
    ok_rate = diag_cpu >= TARGET_RATE
    print(f"throughput: {diag_cpu:,.0f} pastes per CPU-second on one core (target >= "
          f"{TARGET_RATE:,}) {'OK' if ok_rate else 'MISS'}; {diag_wall:,.0f} per wall second")
    print(f"  json.loads of the same pastes: {json_cpu:,.0f}/CPU-s; diagnose costs "
          f"{json_cpu / diag_cpu:.1f}x json.loads")

    one_mib = junk(1 << 20)
    junk_ms = best_ms(diagnose, one_mib)
    json_junk_ms = best_ms(try_json, one_mib)
    as_json_string = json.dumps(one_mib)
    json_string_ms = best_ms(json.loads, as_json_string)
    ok_junk = junk_ms <= TARGET_JUNK_MS
    print(f"1 MiB junk: {junk_ms:.1f} ms (target <= {TARGET_JUNK_MS:.0f} ms) "
          f"{'OK' if ok_junk else 'MISS'}; json.loads attempt {json_junk_ms * 1000:.1f} us "
          f"(fails at once, ratio {junk_ms / max(json_junk_ms, 1e-6):,.0f}x); json.loads of the "
          f"same junk as a JSON string {json_string_ms:.1f} ms (ratio "
          f"{junk_ms / json_string_ms:.1f}x)")

    print("linearity (junk):")
    per_mib = []
    for kib in (256, 512, 1024, 2048):
        ms = best_ms(diagnose, junk(kib * 1024, seed=kib))
        per_mib.append(ms / (kib / 1024))
        print(f"  {kib:>5} KiB: {ms:7.1f} ms  ({ms / (kib / 1024):6.1f} ms/MiB)")
    spread = max(per_mib) / min(per_mib)
    ok_linear = spread < 2.0
    print(f"  ms/MiB spread {spread:.2f} (linear when close to 1) {'OK' if ok_linear else 'MISS'}")

    small, big = distinct_secrets(100_000, 1), distinct_secrets(1_000_000, 2)
    small_ms, big_ms = best_ms(redact, small, 3), best_ms(redact, big, 3)
    json_big_ms = best_ms(json.loads, json.dumps(big), 3)
    ratio = big_ms / max(small_ms, 1e-3)
    ok_redact = ratio < 30
    print(f"redaction of distinct secrets: 100 kB {small_ms:.1f} ms, 1 MB {big_ms:.1f} ms "
          f"(10x the text: {ratio:.1f}x the time, linear is ~10x) {'OK' if ok_redact else 'MISS'};"
          f" json.loads of the 1 MB as a JSON string {json_big_ms:.1f} ms (ratio "
          f"{big_ms / max(json_big_ms, 1e-3):.1f}x)")

    missed = not (ok_rate and ok_junk and ok_linear and ok_redact)
    return 1 if (missed and args.strict) else 0


if __name__ == "__main__":
    sys.exit(main())
