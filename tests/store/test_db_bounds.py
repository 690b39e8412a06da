"""Every PostgreSQL call is bounded, even when the network path goes silent (issue 12 item 4).

A loopback proxy sits between the store and the real server at 127.0.0.1:5432 and stops
forwarding ("cut"): connections stay open and nothing is reset, so neither TCP nor the server
notices. Before the fix a query on such a path waited forever (and held its thread); now it
fails within DB_TIMEOUT + 1 s with one line, and the store works again once the path heals.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy.engine import make_url

from bot.errors import StoreError
from bot.store import open_store
from bot.store.testing import PostgresUnavailable, temp_postgres_url
from tests.e2e.cut_proxy import CutProxy, proxied_postgres


@pytest.fixture
def proxied_url() -> Iterator[tuple[str, CutProxy]]:
    try:
        with proxied_postgres("sora_bounds") as (url, proxy):
            yield url, proxy
    except PostgresUnavailable as exc:
        pytest.skip(str(exc))


def _call_with_deadline(fn, deadline_s: float):  # type: ignore[no-untyped-def]
    """Run ``fn`` in a thread; the test fails (instead of hanging) if it outlives the deadline."""
    result: dict[str, object] = {}

    def run() -> None:
        try:
            result["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - reported below
            result["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    started = time.monotonic()
    thread.start()
    thread.join(deadline_s)
    assert not thread.is_alive(), f"the call was still blocked after {deadline_s} s"
    return result, time.monotonic() - started


def test_a_query_on_a_silently_cut_path_fails_within_the_bound(proxied_url) -> None:
    url, proxy = proxied_url
    store = open_store(url, timeout_s=1.0)
    try:
        store.upgrade()
        store.record_job_run("probes", ok=True)  # a pooled connection exists and works
        proxy.cut()
        result, took = _call_with_deadline(store.job_runs, 15)
        assert isinstance(result.get("error"), StoreError), result
        message = str(result["error"])
        # The pool's ping of the stalled connection runs out, then reconnecting does too.
        assert "\n" not in message and ("no answer from the database" in message
                                        or "timeout expired" in message), message
        assert took < 10, took

        # A new connection during the cut is bounded by connect_timeout (2 s at least).
        result, took = _call_with_deadline(store.job_runs, 15)
        assert isinstance(result.get("error"), StoreError), result
        assert took < 10, took

        proxy.heal()
        assert set(store.job_runs()) == {"probes"}  # back by itself, no restart
    finally:
        proxy.heal()
        store.close()


def test_server_side_statement_timeout_is_set(proxied_url) -> None:
    url, _ = proxied_url
    store = open_store(url, timeout_s=3.0)
    try:
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("SHOW statement_timeout").scalar() == "3s"
            assert conn.exec_driver_sql(
                "SHOW idle_in_transaction_session_timeout").scalar() == "3s"
        with pytest.raises(StoreError, match="statement timeout"):
            with store._tx() as s:  # a statement that runs past the bound is cancelled
                s.execute(__import__("sqlalchemy").text("SELECT pg_sleep(5)"))
    finally:
        store.close()


def test_migrations_are_not_bound(proxied_url) -> None:
    """An upgrade may wait for another replica's migration lock or build a big index."""
    url, _ = proxied_url
    store = open_store(url, timeout_s=1.0)
    try:
        store.upgrade()  # runs with statement_timeout 0 inside its transaction
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("SHOW statement_timeout").scalar() == "1s"
    finally:
        store.close()
