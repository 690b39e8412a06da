"""Benchmark of team memory on a big database (a script, not a test).

    .venv/bin/python bench/memory.py [--events 1000000] [--kinds 10000] [--rounds 2000]
                                     [--backend sqlite|postgresql|both]

Builds a database holding ``--events`` error events of ``--kinds`` kinds for one team (the
worst case: every query is that team's), spread over the last 14 days (RETENTION_DAYS) with a
Zipf popularity (s = 1.1), notes on the 200 most frequent kinds, corrections on 50, and an hour
of probe results and status-page snapshots. The counters (kinds, time buckets, rolling windows)
are computed from the same events with the bot's own bucket functions and checked against the
store's ``top`` for a few kinds. Then, in the same process and run, requests interleaved one by
one so drift hits all alike, it times what a chat surface gets from the real Router over real
CoreServices:

* paste, no memory: a reply as before team memory — paste settings, stored evidence, the
  diagnosis, the team error event stored, the neutral renderer;
* paste, memory:    ``Router.handle_chat``: the same, plus the event's memory, its kind's count,
  first and last seen, correction and newest notes (one write transaction, side by side with
  the evidence read), the correction applied, the memory lines rendered;
* /sora status:     ``handle_command("status")`` (with the team's 15-minute trend);
* /sora top 7d:     ``handle_command("top 7d")``.

The pasted texts are real error texts of the stored kinds (the engine's fingerprints), chosen by
the same Zipf popularity. Prints p50, p99 and mean of each, and the two ratios the issue asks
for: paste memory / paste without at p99 (target <= 1.2) and top 7d / status at p99 (target
<= 2). PostgreSQL runs against 127.0.0.1:5432 (SORA_TEST_PG_URL) and is skipped with the reason
when no server answers.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import random
import statistics
import string
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import Table, text  # noqa: E402

from bot.clock import utcnow  # noqa: E402
from bot.commands import views  # noqa: E402
from bot.commands.model import Caller, ChannelRef  # noqa: E402
from bot.commands.router import Router  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.diagnosis import diagnose  # noqa: E402
from bot.memory import WINDOWS, team_of  # noqa: E402
from bot.memory.buckets import SPANS, TEAM_TOTAL, TREND, bucket_start, epoch, window_low  # noqa: E402
from bot.service import CoreServices  # noqa: E402
from bot.store import Store, open_store  # noqa: E402
from bot.store.models import (  # noqa: E402
    ErrorEvent,
    MemoryBucket,
    MemoryCorrection,
    MemoryEvent,
    MemoryKind,
    MemoryNote,
    MemoryRoll,
    MemoryWindow,
)
from bot.store.testing import PostgresUnavailable, temp_postgres_url  # noqa: E402

CHANNEL = ChannelRef("slack", "TBENCH", "CBENCH")
TEAM = team_of(CHANNEL)
CALLER = Caller("UBENCH", "bench")
DAYS = 14
ZIPF_S = 1.1
TEMPLATES = (
    '{{"error":{{"code":"invalid_request","message":"Unable to process request: {w}",'
    '"param":null,"type":"invalid_request_error"}}}}',
    "openai.RateLimitError: Error code: 429 - {{'error': {{'message': 'Rate limit reached for "
    "{w} on requests per min', 'type': 'requests', 'param': None, 'code': 'rate_limit_exceeded'}}}}",
    '{{"error":{{"message":"Invalid value for size: {w}","type":"invalid_request_error",'
    '"param":"size","code":"invalid_value"}}}}',
    'openai.InternalServerError: Error code: 500 - {{"error": {{"message": "The server had an '
    'error while processing your request: {w}", "type": "server_error"}}}}',
)


def word(i: int) -> str:
    """A digit-free word per index (the fingerprint ignores digits, so kinds must differ in
    letters)."""
    out = ""
    i += 26 * 26
    while i:
        i, r = divmod(i, 26)
        out += string.ascii_lowercase[r]
    return out


def kinds_texts(n: int) -> list[tuple[str, str, str, str]]:
    """``n`` error texts of distinct kinds: (text, fingerprint, category, redacted)."""
    out, seen, i = [], set(), 0
    while len(out) < n:
        paste = TEMPLATES[i % len(TEMPLATES)].format(w=word(i))
        i += 1
        d = diagnose(paste)
        if d.fingerprint in seen:
            continue
        seen.add(d.fingerprint)
        out.append((paste, d.fingerprint, d.category, d.redacted))
    return out


class Zipf:
    def __init__(self, n: int, s: float, rng: random.Random) -> None:
        weights = [1 / (k ** s) for k in range(1, n + 1)]
        total = sum(weights)
        acc, self.cdf = 0.0, []
        for w in weights:
            acc += w / total
            self.cdf.append(acc)
        self.rng = rng

    def __call__(self) -> int:
        return min(bisect.bisect_left(self.cdf, self.rng.random()), len(self.cdf) - 1)


# Loading ----------------------------------------------------------------------------------------

@contextmanager
def bulk(store: Store) -> Iterator[Callable[[Table, list[str], list[tuple[Any, ...]]], None]]:
    """Insert rows fast: COPY on PostgreSQL, executemany in one transaction on SQLite."""
    raw = store.engine.raw_connection()
    try:
        cur = raw.cursor()
        if store.dialect == "sqlite":
            cur.execute("BEGIN")

        def put(table: Table, cols: list[str], rows: list[tuple[Any, ...]]) -> None:
            if not rows:
                return
            quoted = ", ".join(f'"{c}"' for c in cols)
            if store.dialect == "postgresql":
                with cur.copy(f'COPY {table.name} ({quoted}) FROM STDIN') as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                marks = ", ".join("?" for _ in cols)
                cur.executemany(f"INSERT INTO {table.name} ({quoted}) VALUES ({marks})",
                                [tuple(v.isoformat(sep=" ") if isinstance(v, datetime) else v
                                       for v in r) for r in rows])

        yield put
        raw.commit()
    finally:
        raw.close()


def load(store: Store, n_events: int, n_kinds: int, rng: random.Random
         ) -> tuple[list[tuple[str, str, str, str]], Zipf, dict[str, int]]:
    now = utcnow()
    now_s = epoch(now)
    t0 = time.perf_counter()
    kinds = kinds_texts(n_kinds)
    pick = Zipf(n_kinds, ZIPF_S, rng)
    users = [f"U{word(i).upper()}" for i in range(200)]
    kind_rows: dict[int, list[Any]] = {}
    buckets: dict[tuple[str, str, int], int] = defaultdict(int)
    keep = {name: (now_s - s.keep_s if s.keep_s else 0) for name, s in SPANS.items()}
    lows = {name: window_low(now_s, w) for name, w in WINDOWS.items()}
    windows: dict[tuple[str, str], int] = defaultdict(int)
    e_cols = ["id", "at", "source", "target", "category", "fingerprint", "http_status",
              "error_code", "channel_key", "redacted"]
    m_cols = ["event_id", "team", "fingerprint", "author"]
    chunk = 100_000
    with bulk(store) as put:
        for start in range(0, n_events, chunk):
            events, mem = [], []
            for eid in range(start + 1, min(n_events, start + chunk) + 1):
                k = pick()
                paste, fp, category, redacted = kinds[k]
                at_s = now_s - rng.randrange(DAYS * 86_400)
                at = datetime.fromtimestamp(at_s, now.tzinfo)
                events.append((eid, at, "chat", None, category, fp, None, None,
                               CHANNEL.key, redacted))
                mem.append((eid, TEAM, fp, rng.choice(users)))
                row = kind_rows.get(k)
                if row is None:
                    kind_rows[k] = [TEAM, fp, category, 1, at_s, at_s, redacted]
                else:
                    row[3] += 1
                    row[4] = min(row[4], at_s)
                    row[5] = max(row[5], at_s)
                for span in SPANS:
                    b = bucket_start(at_s, span)
                    if b >= keep[span]:
                        buckets[(fp, span, b)] += 1
                if bucket_start(at_s, TREND.spark) >= keep[TREND.spark]:
                    buckets[(TEAM_TOTAL, TREND.spark, bucket_start(at_s, TREND.spark))] += 1
                for name, w in WINDOWS.items():
                    if bucket_start(at_s, w.roll) >= lows[name]:
                        windows[(name, fp)] += 1
            put(ErrorEvent.__table__, e_cols, events)
            put(MemoryEvent.__table__, m_cols, mem)
        ranked = sorted(kind_rows, key=lambda k: -kind_rows[k][3])
        noted = set(ranked[:200])
        put(MemoryKind.__table__, ["team", "fingerprint", "category", "count", "first_seen",
                                   "last_seen", "sample", "notes"],
            [(*r, 3 if k in noted else 0) for k, r in kind_rows.items()])
        put(MemoryBucket.__table__, ["team", "fingerprint", "span", "start", "count"],
            [(TEAM, fp, span, b, n) for (fp, span, b), n in buckets.items()])
        put(MemoryWindow.__table__, ["team", "window", "fingerprint", "count"],
            [(TEAM, name, fp, n) for (name, fp), n in windows.items()])
        put(MemoryRoll.__table__, ["team", "window", "low"],
            [(TEAM, name, low) for name, low in lows.items()])
        notes = [(TEAM, kinds[k][1], users[i % 200], f"user {i}", f"note {j} on kind {word(k)}",
                  now - timedelta(hours=j + 1)) for i, k in enumerate(ranked[:200]) for j in range(3)]
        put(MemoryNote.__table__, ["team", "fingerprint", "author_id", "author", "text", "at"], notes)
        put(MemoryCorrection.__table__, ["team", "fingerprint", "category", "was", "by_id", "by",
                                         "at"],
            [(TEAM, kinds[k][1], "server", kinds[k][2], "UADMIN", "admin", now)
             for k in ranked[:100:2]])
    if store.dialect == "postgresql":
        with store.engine.begin() as conn:
            conn.execute(text("SELECT setval(pg_get_serial_sequence('error_events', 'id'), "
                              "(SELECT max(id) FROM error_events))"))
            conn.execute(text("ANALYZE"))
    else:
        with store.engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    fill_evidence(store)
    sizes = {"error_events": n_events, "kinds": len(kind_rows), "buckets": len(buckets),
             "window_rows": len(windows), "load_s": round(time.perf_counter() - t0, 1)}
    return kinds, pick, sizes


def fill_evidence(store: Store) -> None:
    """An hour of probes and page snapshots: what the scheduler keeps fresh."""
    now = utcnow()
    probes = []
    for m in range(60, 0, -1):
        at = now - timedelta(minutes=m)
        for target in ("openai", "relay"):
            for kind in ("reachability", "auth", "videos"):
                probes.append(dict(target=target, kind=kind, ok=True, http_status=200,
                                   latency_ms=120.0, category=None, at=at))
        store.add_status_snapshot(url="https://status.example/proxy/x", ok=True,
                                  format="incidentio", indicator="operational",
                                  components=[{"name": "Sora", "status": "operational"}],
                                  incidents=[], fetched_at=at)
    store.add_probe_results(probes)


def check(store: Store, kinds: list[tuple[str, str, str, str]]) -> None:
    """The loaded counters agree with the events (a brute-force count for the top kinds)."""
    report = store.top(TEAM, WINDOWS["7d"], limit=3)
    low = window_low(epoch(utcnow()), WINDOWS["7d"])
    with store.engine.connect() as conn:
        for e in report.entries:
            n = conn.execute(text(
                "SELECT count(*) FROM error_events e JOIN memory_events m ON m.event_id = e.id "
                "WHERE m.team = :t AND m.fingerprint = :f AND e.at >= :lo"),
                {"t": TEAM, "f": e.fingerprint,
                 "lo": datetime.fromtimestamp(low, utcnow().tzinfo)}).scalar()
            assert n == e.count, (e.fingerprint, n, e.count)


# Timing -----------------------------------------------------------------------------------------

def stats(samples: list[float]) -> tuple[float, float, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return statistics.median(ordered) * 1e3, p99 * 1e3, statistics.fmean(ordered) * 1e3


def measure(url: str, args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(13)
    store = open_store(url)
    store.upgrade()
    kinds, pick, sizes = load(store, args.events, args.kinds, rng)
    check(store, kinds)
    settings = load_settings(env_file=None, DATABASE_URL=url,
                             SORA_GATEWAYS="relay=https://relay.example/v1")
    services = CoreServices(settings, store)
    router = Router(services)

    async def paste_without_memory(paste: str) -> None:
        """The reply path as before team memory (main at fa7e146)."""
        await services.paste_settings(CHANNEL)
        evidence = await services.fresh_evidence()
        d = diagnose(paste, evidence)
        await services._db(store.add_error_events, [{
            "at": utcnow(), "source": "chat", "target": None, "category": d.category,
            "fingerprint": d.fingerprint, "http_status": d.http_status,
            "error_code": d.error_code, "channel_key": CHANNEL.key, "redacted": d.redacted}])
        views.diagnosis_reply(d)

    async def paste_with_memory(paste: str) -> None:
        reply = await router.handle_chat(paste, CHANNEL, CALLER)
        assert reply is not None and reply.actions

    async def status(_: str) -> None:
        await router.handle_command("status", CHANNEL, CALLER)

    async def top(_: str) -> None:
        reply = await router.handle_command("top 7d", CHANNEL, CALLER)
        assert reply.sections, reply.title

    ops: dict[str, Callable[[str], Coroutine[Any, Any, None]]] = {
        "paste, no memory": paste_without_memory, "paste, memory": paste_with_memory,
        "/sora status": status, "/sora top 7d": top}
    times: dict[str, list[float]] = {name: [] for name in ops}
    loop = asyncio.new_event_loop()
    try:
        for i in range(args.rounds + 100):  # the first 100 warm caches, not counted
            paste = kinds[pick()][0]
            names = list(ops)
            rng.shuffle(names)
            for name in names:
                t0 = time.perf_counter()
                loop.run_until_complete(ops[name](paste))
                if i >= 100:
                    times[name].append(time.perf_counter() - t0)
    finally:
        loop.close()
        store.close()
    return {"sizes": sizes, "times": {name: stats(t) for name, t in times.items()}}


def report(backend: str, result: dict[str, Any]) -> None:
    t = result["times"]
    print(f"== {backend}: {result['sizes']}")
    for name, (p50, p99, mean) in t.items():
        print(f"  {name:18s} p50 {p50:7.3f} ms  p99 {p99:7.3f} ms  mean {mean:7.3f} ms")
    memory = t["paste, memory"][1] / t["paste, no memory"][1]
    top = t["/sora top 7d"][1] / t["/sora status"][1]
    print(f"  ratio paste memory/no memory at p99: {memory:.2f}x (target <= 1.2x)")
    print(f"  ratio top 7d/status at p99:          {top:.2f}x (target <= 2x)")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--kinds", type=int, default=10_000)
    ap.add_argument("--rounds", type=int, default=2000)
    ap.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    args = ap.parse_args()
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            report("sqlite", measure(f"sqlite:///{tmp}/bench.db", args))
    if args.backend in ("postgresql", "both"):
        try:
            with temp_postgres_url(prefix="sora_bench") as url:
                report("postgresql", measure(url, args))
        except PostgresUnavailable as exc:
            print(f"== postgresql: skipped ({exc})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
