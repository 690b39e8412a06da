"""Every probe failure in one word, from real loopback sockets (the own-connectivity rule
reads the word: only dns/refused/reset/connect_timeout mean "never reached a server")."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import httpx
import pytest

from bot import connectivity as conn
from bot.config import Target
from bot.probes import Prober
from bot.probes.http import classify
from bot.store.status_read import read_status
from tests.probes.loopback import LoopbackServer, closed_port


def target(base: str) -> Target:
    return Target(name="relay", base_url=base + "/v1", api_key=None)


async def one(base: str, **kw: float) -> object:
    (r,) = await Prober([target(base)], timeout=kw.pop("timeout", 2), **kw).run()
    return r


async def test_closed_port_is_refused() -> None:
    r = await one(f"http://127.0.0.1:{closed_port()}")
    assert (r.ok, r.failure, r.category) == (False, conn.REFUSED, "network")
    assert "connection refused" in r.detail and conn.is_network_level(r)


async def test_unresolvable_host_is_dns() -> None:
    r = await one("http://sora-bot-probe.invalid")
    assert (r.ok, r.failure) == (False, conn.DNS)
    assert r.detail.startswith("DNS lookup failed")


async def test_accept_and_close_is_reset() -> None:
    with LoopbackServer("close") as srv:
        r = await one(srv.base_url)
    assert (r.ok, r.failure) == (False, conn.RESET) and conn.is_network_level(r)


async def test_blackhole_is_timeout_not_network_level() -> None:
    with LoopbackServer("blackhole") as srv:
        started = time.perf_counter()
        r = await one(srv.base_url, timeout=0.3)
        assert time.perf_counter() - started < 2
        assert srv.requests == 1  # it connected and sent the request: something is there
    assert (r.ok, r.failure) == (False, conn.READ_TIMEOUT)
    assert "timed out after 0.3 s" in r.detail and not conn.is_network_level(r)


async def test_slow_drip_ends_at_the_overall_deadline() -> None:
    # each byte arrives well within the 0.5 s read timeout; only the deadline ends it
    with LoopbackServer("drip", body=b'{"data": [' + b" " * 200 + b"]}", drip_s=0.1) as srv:
        started = time.perf_counter()
        r = await one(srv.base_url, timeout=0.5, deadline=1.0)
        elapsed = time.perf_counter() - started
    assert (r.ok, r.failure) == (False, conn.READ_TIMEOUT)
    assert 0.9 < elapsed < 2.0
    assert "timed out after 1 s" in r.detail


async def test_http_error_is_http_and_ok_has_none() -> None:
    with LoopbackServer("ok", status=503, body=b'{"error": {"message": "busy"}}') as srv:
        bad = await one(srv.base_url)
        srv.status, srv.body = 401, b'{"error": {"code": "invalid_api_key"}}'
        good = await one(srv.base_url)
    assert (bad.ok, bad.failure, bad.http_status) == (False, conn.HTTP, 503)
    assert (good.ok, good.failure) == (True, None)


@pytest.mark.parametrize("exc, responded, word", [
    (httpx.ConnectTimeout("t"), False, conn.CONNECT_TIMEOUT),
    (httpx.ReadTimeout("t"), False, conn.READ_TIMEOUT),
    (httpx.PoolTimeout("t"), False, conn.READ_TIMEOUT),
    (httpx.WriteTimeout("t"), False, conn.READ_TIMEOUT),
    (TimeoutError(), False, conn.READ_TIMEOUT),
    (httpx.RemoteProtocolError("Server disconnected without sending a response."), False,
     conn.RESET),
    (httpx.RemoteProtocolError("peer closed connection"), True, conn.PROTOCOL),
    (httpx.LocalProtocolError("bad"), False, conn.PROTOCOL),
])
def test_classify_table(exc: BaseException, responded: bool, word: str) -> None:
    assert classify(exc, responded=responded) == word


def test_classify_reads_the_cause_chain() -> None:
    import socket
    import ssl

    for cause, word in ((socket.gaierror(-2, "Name or service not known"), conn.DNS),
                        (ConnectionRefusedError(111, "refused"), conn.REFUSED),
                        (ssl.SSLError("bad handshake"), conn.TLS),
                        (ConnectionResetError(104, "reset"), conn.RESET)):
        outer = httpx.ConnectError("wrapped")
        outer.__cause__ = OSError("All connection attempts failed")
        outer.__cause__.__cause__ = cause
        assert classify(outer) == word, cause


async def test_failure_is_stored_and_read_back(store) -> None:
    """Both databases (the ``store`` fixture runs on SQLite and PostgreSQL)."""
    r = await one(f"http://127.0.0.1:{closed_port()}")
    store.add_probe_results([r])
    store.add_probe_result(target="openai", kind="auth", ok=True, at=datetime.now(UTC))
    store.add_status_snapshot(url="u", ok=False, indicator="unknown", failure="dns")
    read = read_status(store, ["relay", "openai"], ["reachability", "auth"],
                       datetime(2000, 1, 1, tzinfo=UTC))
    assert {(p.target, p.failure) for p in read.probes} == {("relay", "refused"),
                                                            ("openai", None)}
    assert read.snapshot.failure == "dns"
