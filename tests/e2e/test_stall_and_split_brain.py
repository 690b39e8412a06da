"""Real `sora-bot run` replicas on the real PostgreSQL, each behind a proxy that can silently
stop forwarding (issue 12 items 4 and 5).

* A stalled database freezes nothing: with the leader's path cut (connections open, nothing
  forwarded), its /healthz answers 503 ``db: false`` within seconds, a wrong-token ingest
  request gets its 401 at once, the cut-off leader stops leading, and the other replica takes
  over within a bound. Before: everything waited for the whole stall and the old leader kept
  its advisory lock, so no replica scheduled at all.
* No split brain: terminating the leader's database connections (``pg_terminate_backend``),
  three rounds, each watched for longer than a lease and than the old advisory-lock
  elector's 5 s retry and keepalive, never leaves two replicas leading or running jobs at
  the same time. Before: the other replica took the advisory lock while the old leader went
  on for seconds, both running the scheduler and both answering ``leader=true``.

Overlap is checked two ways: /healthz sampled every 50 ms on both replicas, and every job run
each replica logged (JSON log lines, wall-clock timestamps on one machine).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import create_engine, text

from bot.store.testing import PG_ADMIN_URL, PostgresUnavailable, temp_postgres_url
from tests.e2e.replica_support import (
    DB_TIMEOUT_S,
    LEASE_S,
    LeaderSampler,
    job_spans,
    one_leader,
    overlaps,
    replicas,
    wait_for,
)


@pytest.fixture
def pg_url() -> Iterator[str]:
    try:
        with temp_postgres_url(prefix="sora_stall") as url:
            yield url
    except PostgresUnavailable as exc:
        pytest.skip(str(exc))


OBSERVE_S = 6.0  # > LEASE_S, and > the 5 s retry/keepalive of the advisory-lock elector


def _leader_overlap(sampler: LeaderSampler, reps) -> None:  # type: ignore[no-untyped-def]
    a, b = reps
    both = overlaps(sampler.leading_spans(a.name), sampler.leading_spans(b.name))
    assert not both, f"two replicas answered leader=true at once: {both}"


def _watch(sampler: LeaderSampler, reps, seconds: float) -> None:  # type: ignore[no-untyped-def]
    """Watch for ``seconds`` (a negative check needs a window), failing at the first overlap."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        _leader_overlap(sampler, reps)
        time.sleep(0.1)


def _no_overlap(sampler: LeaderSampler, reps) -> None:  # type: ignore[no-untyped-def]
    a, b = reps
    _leader_overlap(sampler, reps)
    runs = overlaps([(s, e) for s, e, _ in job_spans(a)], [(s, e) for s, e, _ in job_spans(b)])
    assert not runs, f"two replicas ran scheduler jobs at once: {runs[:5]}"
    assert job_spans(a) or job_spans(b), "no job ran at all: the check proves nothing"


def _no_traceback(reps) -> None:  # type: ignore[no-untyped-def]
    for r in reps:
        bad = [line for line in r.bot.stderr_lines if "Traceback" in line]
        assert not bad, f"{r.name}: {bad[:3]}"


def test_a_stalled_database_path_freezes_nothing_and_the_other_replica_takes_over(
        pg_url: str, tmp_path) -> None:
    with replicas(pg_url, tmp_path) as reps, LeaderSampler(reps) as sampler:
        old = one_leader(reps)
        other = next(r for r in reps if r is not old)
        old.proxy.cut()
        cut_at = time.monotonic()

        # /healthz answers within a couple of seconds, saying the database is unreachable.
        for _ in range(3):
            started = time.monotonic()
            status, body = old.health(timeout=10)
            took = time.monotonic() - started
            assert took < 3.0, took
            if status == 503:
                break
        assert status == 503 and body["db"] is False and body["status"] == "fail", body
        assert "database" in body["db_error"]

        # A wrong token is refused at once: auth never waits for the database.
        started = time.monotonic()
        r = httpx.post(f"{old.base}/v1/events", content=b'{"error":"x"}',
                       headers={"Authorization": "Bearer wrong"}, timeout=10)
        assert r.status_code == 401 and time.monotonic() - started < 1.0

        # The cut-off leader stops leading on its own clock; the other takes over.
        wait_for(lambda: old.leader() is False, LEASE_S + 2, "the cut-off leader to step down")
        wait_for(other.leader, 2 * LEASE_S + 3 * DB_TIMEOUT_S + 5, "the other to take over")
        took_over = time.monotonic() - cut_at
        assert took_over < 2 * LEASE_S + 3 * DB_TIMEOUT_S + 5, took_over

        # The path heals: the old leader's health recovers, and it stays a follower.
        old.proxy.heal()
        wait_for(lambda: (old.health() or (0, {}))[1].get("db") is True, 30,
                 "the old leader's database to come back")
        assert old.leader() is False and other.leader() is True
    _no_overlap(sampler, reps)
    _no_traceback(reps)


def _backends(application_name: str, terminate: bool = False) -> int:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    what = "pg_terminate_backend(pid)" if terminate else "pid"
    try:
        with admin.connect() as conn:
            return len(conn.execute(text(
                f"SELECT {what} FROM pg_stat_activity WHERE application_name = :name"),
                {"name": application_name}).all())
    finally:
        admin.dispose()


def test_terminating_the_leaders_connections_never_makes_two_leaders(pg_url: str,
                                                                      tmp_path) -> None:
    with replicas(pg_url, tmp_path) as reps, LeaderSampler(reps) as sampler:
        for _ in range(3):
            leader = one_leader(reps)
            # Every database session of the leader, the one renewing its lease included.
            assert _backends(leader.name, terminate=True) >= 1
            _watch(sampler, reps, OBSERVE_S)
        one_leader(reps)
    _no_overlap(sampler, reps)
    _no_traceback(reps)
