"""/healthz and /metrics report the own-connectivity rule on the stored latest evidence:
``connectivity`` ok/partial/lost, and the gauge ``sora_bot_connectivity_lost``. Lost
connectivity is reported, never a 503 by itself: the process is fine, its network is not."""

from __future__ import annotations

from typing import Any

from tests.web.conftest import GATEWAY


def lose_everything(store: Any) -> None:
    for target in ("openai", GATEWAY):
        store.add_probe_result(target=target, kind="reachability", ok=False,
                               category="network", failure="refused")
    store.add_status_snapshot(url="https://status.openai.com", ok=False, indicator="unknown",
                              error="connection refused", failure="dns")


async def test_lost_connectivity_is_reported_not_a_failure(start_app: Any, store: Any) -> None:
    lose_everything(store)
    live = await start_app()
    r = await live.client.get("/healthz")
    assert r.status_code == 200
    assert r.json()["connectivity"] == "lost" and r.json()["status"] == "ok"
    m = await live.client.get("/metrics")
    assert "sora_bot_connectivity_lost 1.0" in m.text


async def test_partial_and_recovered(start_app: Any, store: Any) -> None:
    lose_everything(store)
    store.add_status_snapshot(url="https://status.openai.com", ok=True, indicator="operational")
    live = await start_app()
    assert (await live.client.get("/healthz")).json()["connectivity"] == "partial"
    for target in ("openai", GATEWAY):
        store.add_probe_result(target=target, kind="reachability", ok=True)
    assert (await live.client.get("/healthz")).json()["connectivity"] == "ok"
    assert "sora_bot_connectivity_lost 0.0" in (await live.client.get("/metrics")).text


async def test_read_timeouts_are_not_lost_connectivity(start_app: Any, store: Any) -> None:
    for target in ("openai", GATEWAY):
        store.add_probe_result(target=target, kind="reachability", ok=False,
                               category="network", failure="timeout")
    store.add_status_snapshot(url="https://status.openai.com", ok=False, indicator="unknown",
                              failure="timeout")
    live = await start_app()
    assert (await live.client.get("/healthz")).json()["connectivity"] == "ok"
