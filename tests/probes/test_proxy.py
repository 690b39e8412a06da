"""Probes and the page go through the environment's proxy (``HTTP(S)_PROXY``) and skip it for
``NO_PROXY`` hosts: a real loopback proxy sees the absolute-form requests and answers for a
host that does not even resolve (as a corporate proxy would for the real API)."""

from __future__ import annotations

import pytest

from bot import connectivity as conn
from bot.config import Target
from bot.probes import Prober
from bot.status_page import StatusWatcher
from tests.probes.loopback import LoopbackServer

HOST = "api.sora-bot-proxied.invalid"
PAGE = b'{"status": {"indicator": "none"}, "components": [], "incidents": []}'


@pytest.fixture
def proxy(monkeypatch: pytest.MonkeyPatch):
    with LoopbackServer("ok", status=401, body=b'{"error": {"code": "invalid_api_key"}}') as srv:
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy",
                     "https_proxy", "all_proxy", "no_proxy"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("HTTP_PROXY", srv.base_url)
        yield srv, monkeypatch


async def test_probe_goes_through_the_env_proxy(proxy) -> None:
    srv, _ = proxy
    (r,) = await Prober([Target(name="relay", base_url=f"http://{HOST}/v1", api_key=None)], timeout=2).run()
    assert (r.ok, r.http_status) == (True, 401)  # the proxy answered for the unresolvable host
    assert srv.paths == [f"http://{HOST}/v1/models"]


async def test_status_page_goes_through_the_env_proxy(proxy) -> None:
    srv, _ = proxy
    srv.status, srv.body = 200, PAGE
    snap = await StatusWatcher(f"http://{HOST}/api/v2/summary.json", timeout=2).poll()
    assert (snap.ok, snap.indicator) == (True, "operational")
    assert srv.paths == [f"http://{HOST}/api/v2/summary.json"]


async def test_no_proxy_hosts_go_direct(proxy) -> None:
    srv, monkeypatch = proxy
    monkeypatch.setenv("NO_PROXY", HOST)
    (r,) = await Prober([Target(name="relay", base_url=f"http://{HOST}/v1", api_key=None)], timeout=2).run()
    assert (r.ok, r.failure) == (False, conn.DNS)  # went direct: the name does not resolve
    assert srv.requests == 0


async def test_https_targets_tunnel_through_https_proxy(proxy) -> None:
    srv, monkeypatch = proxy
    monkeypatch.setenv("HTTPS_PROXY", srv.base_url)
    (r,) = await Prober([Target(name="relay", base_url=f"https://{HOST}/v1", api_key=None)],
                        timeout=2).run()
    # the proxy got the CONNECT for the unresolvable host (its tunnel is no TLS server, so
    # the probe then fails above the network level: something answered)
    assert srv.paths == [f"{HOST}:443"]
    assert not r.ok and r.failure not in conn.NETWORK_FAILURES
