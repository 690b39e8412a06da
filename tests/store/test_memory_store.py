"""Team memory's store on SQLite and PostgreSQL (the ``store`` fixture runs both).

The precomputed counts are checked against a brute-force count of the same events: rolling
windows after the clock jumps (minutes, hours, days, back-dated ingest events), sparkline bins,
the status trend; the counts survive pruning of the events; teams never see each other; two
writers at once neither lose nor double a count."""

from __future__ import annotations

import random
import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.clock import FakeClock
from bot.memory import TREND, WINDOWS
from bot.memory.buckets import SPANS, binned, bucket_start, epoch, spark_range, window_low
from bot.store import Store
from bot.store.models import ErrorEvent, MemoryBucket, MemoryEvent, MemoryKind

T1, T2 = "slack:T1", "discord:42"


def _event(fp: str, category: str = "risk_control", at: datetime | None = None,
           source: str = "chat") -> dict[str, object]:
    return {"source": source, "category": category, "fingerprint": fp, "at": at,
            "redacted": f"error {fp} Bearer [REDACTED]", "channel_key": "slack:T1:C1"}


def _brute_top(events: list[tuple[str, int]], now: int) -> dict[str, dict[str, int]]:
    """Per window: fingerprint → events whose roll bucket is inside the window at ``now``."""
    out: dict[str, dict[str, int]] = {}
    for name, window in WINDOWS.items():
        low = window_low(now, window)
        counts: dict[str, int] = {}
        for fp, at in events:
            if bucket_start(at, window.roll) >= low:
                counts[fp] = counts.get(fp, 0) + 1
        out[name] = counts
    return out


def test_seen_counts_first_and_last(store: Store, clock: FakeClock):
    first = store.remember(T1, _event("fp_aa"), author="U1")
    assert (first.count, first.last_seen, first.counted) == (1, None, True)
    clock.advance(90)
    second = store.remember(T1, _event("fp_aa"), author="U2")
    assert second.count == 2 and second.first_seen == clock.t - timedelta(seconds=90)
    assert second.last_seen == clock.t - timedelta(seconds=90)  # the sighting before this one
    clock.advance(30)
    quiet = store.remember(T1, _event("fp_aa"), author="U3", record=False)  # counting off
    assert (quiet.count, quiet.counted, quiet.last_seen) == (2, False, clock.t - timedelta(seconds=30))
    assert store.remember(T1, _event("fp_aa"), author="U4").count == 3


def test_windows_and_sparklines_match_a_brute_force_count(store: Store, clock: FakeClock):
    rng = random.Random(13)
    events: list[tuple[str, int]] = []
    kinds = [f"fp_{i:04x}" for i in range(6)]
    for step in range(160):
        # the clock moves by seconds, minutes, hours and (twice) days; some events come late
        clock.advance(rng.choice((5, 40, 61, 600, 3599, 3600, 7200)) if step % 70 else 2 * 86_400)
        fp = rng.choice(kinds)
        at = clock.t - timedelta(seconds=rng.choice((0, 0, 0, 30, 1800, 90_000)))
        if at == clock.t:
            store.remember(T1, _event(fp, at=at), author="U1")
        else:
            store.remember_batch(T1, [_event(fp, at=at, source="ingest")])
        events.append((fp, epoch(at)))
        if step % 9 == 0:
            now = epoch(clock.t)
            expected = _brute_top(events, now)
            for name, window in WINDOWS.items():
                report = store.top(T1, window, limit=50)
                assert {e.fingerprint: e.count for e in report.entries} == expected[name], (step, name)
                assert report.total == sum(expected[name].values())
                counts = [e.count for e in report.entries]
                assert counts == sorted(counts, reverse=True)
                for e in report.entries:  # the sparkline is the same events, binned
                    start, _ = spark_range(now, window)
                    per = {}
                    for fp2, at2 in events:
                        if fp2 == e.fingerprint and at2 >= start:
                            b = bucket_start(at2, window.spark)
                            per[b] = per.get(b, 0) + 1
                    assert list(e.bins) == binned(per, now, window)
    trend = store.trend(T1)
    now = epoch(clock.t)
    start, _ = spark_range(now, TREND)
    per = {}
    for _, at in events:
        if at >= start:
            per[bucket_start(at, "m")] = per.get(bucket_start(at, "m"), 0) + 1
    assert list(trend.bins) == binned(per, now, TREND)


def test_counts_survive_pruning_of_events(store: Store, clock: FakeClock):
    for _ in range(5):
        store.remember(T1, _event("fp_aa"), author="U1")
    store.add_note(T1, "fp_aa", "check the card", author_id="U1", author="alice")
    clock.advance(3 * 86_400)
    store.remember(T1, _event("fp_aa"), author="U1")
    pruned = store.prune(clock.t - timedelta(days=1))  # retention: events older than a day
    assert pruned["error_events"] == 5
    with store.engine.connect() as conn:  # the memory rows went with their events
        assert conn.scalar(select(func.count()).select_from(MemoryEvent)) == 1
        assert conn.scalar(select(MemoryKind.count).where(MemoryKind.team == T1)) == 6
        assert conn.scalar(select(func.count()).select_from(ErrorEvent)) == 1
    assert store.top(T1, WINDOWS["7d"]).entries[0].count == 6
    recall = store.remember(T1, _event("fp_aa"), author="U1")
    assert recall.count == 7 and recall.notes[0].text == "check the card"
    # the counters' own retention: minutes go after two days, quarter days stay
    clock.advance(8 * 86_400 + 3600)
    store.prune_memory()
    with store.engine.connect() as conn:
        spans = set(conn.scalars(select(MemoryBucket.span).distinct()))
    assert spans == {"q"}
    assert store.top(T1, WINDOWS["7d"]).entries == ()


def test_teams_never_see_each_other(store: Store, clock: FakeClock):
    store.remember(T1, _event("fp_aa"), author="U1")
    store.remember(T2, _event("fp_aa"), author="U9")
    store.remember(T2, _event("fp_bb"), author="U9")
    assert store.add_note(T1, "fp_aa", "T1's note", author_id="U1", author="alice") is not None
    assert store.add_note(T1, "fp_bb", "T2's kind", author_id="U1", author="alice") is None
    assert store.correct(T2, "fp_aa", "server", by_id="U9", by="bob") is not None
    t1 = store.remember(T1, _event("fp_aa"), author="U1")
    t2 = store.remember(T2, _event("fp_aa"), author="U9")
    assert (t1.count, t2.count) == (2, 2)
    assert t1.correction is None and [n.text for n in t1.notes] == ["T1's note"]
    assert t2.correction is not None and t2.notes == ()
    assert {e.fingerprint for e in store.top(T1, WINDOWS["24h"]).entries} == {"fp_aa"}
    assert store.top(T2, WINDOWS["24h"]).entries[0].category in ("server", "risk_control")
    assert store.is_author(T1, "fp_aa", "U1") and not store.is_author(T2, "fp_aa", "U1")
    assert store.last_kind(T1, "U9") == "fp_aa"  # U9 never pasted in T1: the team's last kind
    assert store.last_kind(T2, "U9") == "fp_aa"
    assert store.trend(T1).total == 2 and store.trend(T2).total == 3
    assert [r["team"] for r in store.corrections()] == [T2]


def test_notes_newest_first_and_corrections_export(store: Store, clock: FakeClock):
    store.remember(T1, _event("fp_aa"), author="U1")
    for i in range(5):
        clock.advance(60)
        store.add_note(T1, "fp_aa", f"note {i}", author_id="U1", author="alice")
    notes, total = store.notes(T1, "fp_aa")
    assert total == 5 and [n.text for n in notes] == [f"note {i}" for i in (4, 3, 2, 1, 0)]
    recall = store.remember(T1, _event("fp_aa"), author="U1")
    assert recall.notes_total == 5 and [n.text for n in recall.notes] == ["note 4", "note 3", "note 2"]
    assert store.notes(T1, "fp_zz") is None
    store.correct(T1, "fp_aa", "quota", by_id="U1", by="alice")
    clock.advance(60)
    store.correct(T1, "fp_aa", "server", by_id="U2", by="bob")  # the latest wins
    [row] = list(store.corrections())
    assert row["category"] == "server" and row["was"] == "risk_control" and row["by"] == "bob"
    assert row["redacted"] == "error fp_aa Bearer [REDACTED]" and row["at"].endswith("Z")
    entry = store.top(T1, WINDOWS["1h"]).entries[0]
    assert (entry.category, entry.corrected, entry.notes) == ("server", True, 5)


@pytest.mark.parametrize("writers", [4])
def test_concurrent_writers_count_every_event_once(store: Store, clock: FakeClock, writers: int):
    # a team's first events race to create its roll rows, then keep writing
    barrier = threading.Barrier(writers)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            barrier.wait(10)
            for _ in range(15):
                store.remember(T1, _event("fp_aa"), author="U1")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    n = writers * 15
    assert store.top(T1, WINDOWS["1h"]).entries[0].count == n
    assert store.remember(T1, _event("fp_aa")).count == n + 1
    assert SPANS["m"].keep_s is not None
