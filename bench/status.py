"""Benchmark of `sora-bot status --json` work from stored state (a script, not a test).

    .venv/bin/python bench/status.py [--rounds 2000] [--days 1]

Fills a temporary SQLite store with a realistic history (probe results every 60 s for three
kinds and two targets, a status snapshot a minute, a steady trickle of team errors), then times,
in the same process and run:

* baseline: a bare SQLAlchemy select of one probe-result row (one session, one query);
* status:   what `sora-bot status --json` does once evidence is fresh — CoreServices.status_report()
            (page snapshot, latest probe per target/kind, 15-minute error counts, verdict) and
            json.dumps of the Contract-3 object.

Prints p50 and mean of each and the ratio status/baseline. Target: ratio <= 3.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from bot.clock import utcnow  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.service import CoreServices  # noqa: E402
from bot.store import ProbeResult, open_store  # noqa: E402


def fill(store, days: float) -> dict[str, int]:
    now = utcnow()
    minutes = int(days * 24 * 60)
    probes, snaps, events = [], 0, []
    for m in range(minutes, 0, -1):
        at = now - timedelta(minutes=m)
        for target in ("openai", "relay"):
            for kind in ("reachability", "auth", "videos"):
                ok = m % 97 != 0
                probes.append(dict(target=target, kind=kind, ok=ok, http_status=200 if ok else 503,
                                   latency_ms=120.0 + m % 50, category=None if ok else "server",
                                   error_code=None, request_id=f"req_{m}", detail=None, at=at))
        if m % 3 == 0:
            events.append(dict(at=at, source="ingest", target="openai",
                               category=("rate_limit", "server", "bad_request")[m % 3 // 1 % 3],
                               fingerprint=f"fp_{m % 7}", http_status=429, error_code=None,
                               channel_key=None, redacted="Error code: 429"))
    store.add_probe_results(probes)
    store.add_error_events(events)
    comps = [{"name": "Sora", "status": "operational"}, {"name": "Video generation", "status": "operational"}]
    for m in range(min(minutes, 1440), 0, -1):
        store.add_status_snapshot(url="https://status.example/proxy/x", ok=True, format="incidentio",
                                  indicator="operational", components=comps, incidents=[],
                                  fetched_at=now - timedelta(minutes=m))
        snaps += 1
    return {"probe_results": len(probes), "status_snapshots": snaps, "error_events": len(events)}


def timeit(fn, rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=2000)
    ap.add_argument("--days", type=float, default=1.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        store = open_store(url)
        store.upgrade()
        sizes = fill(store, args.days)
        settings = load_settings(env_file=None, DATABASE_URL=url,
                                 SORA_GATEWAYS="relay=https://relay.example/v1")
        services = CoreServices(settings, store)

        def baseline() -> None:
            with Session(store.engine) as s:
                s.execute(select(ProbeResult).limit(1)).scalars().first()

        def status() -> None:
            json.dumps(loop.run_until_complete(services.status_report(refresh=False)).to_dict())

        loop = asyncio.new_event_loop()
        for fn in (baseline, status):  # warm caches, compile statements
            timeit(fn, 50)
        base, stat = [], []
        for _ in range(5):  # interleave so drift hits both alike
            base += timeit(baseline, args.rounds // 5)
            stat += timeit(status, args.rounds // 5)
        loop.close()
        b50, s50 = statistics.median(base) * 1e3, statistics.median(stat) * 1e3
        bm, sm = statistics.fmean(base) * 1e3, statistics.fmean(stat) * 1e3
        print(f"store: {sizes}")
        print(f"baseline select 1 row : p50 {b50:.3f} ms  mean {bm:.3f} ms")
        print(f"status --json work    : p50 {s50:.3f} ms  mean {sm:.3f} ms")
        print(f"ratio status/baseline : p50 {s50 / b50:.2f}x  mean {sm / bm:.2f}x  (target <= 3x)")
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
