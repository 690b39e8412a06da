"""The web app with its PostgreSQL path silently cut (issue 12 item 4), in-process: a real store
through a loopback proxy that stops forwarding, the app on real uvicorn.

Before: /healthz, /metrics and even a wrong-token ingest request hung for the whole stall.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from bot.store import open_store
from bot.store.testing import PostgresUnavailable, temp_postgres_url
from tests.e2e.cut_proxy import CutProxy, proxied_postgres
from tests.web.conftest import Live

DB_TIMEOUT_S = 2.0


@pytest.fixture
def cut_store() -> Iterator[tuple[Any, CutProxy]]:
    try:
        with proxied_postgres("sora_webstall") as (url, proxy):
            store = open_store(url, timeout_s=DB_TIMEOUT_S)
            store.upgrade()
            try:
                yield store, proxy
            finally:
                proxy.heal()
                store.close()
    except PostgresUnavailable as exc:
        pytest.skip(str(exc))


async def _timed(coro: Any) -> tuple[Any, float]:
    started = time.monotonic()
    result = await coro
    return result, time.monotonic() - started


async def test_health_metrics_and_auth_answer_during_a_stall(start_app: Any,
                                                             cut_store: Any) -> None:
    store, proxy = cut_store
    store.record_job_run("probes", ok=True)
    live: Live = await start_app(app_store=store)
    assert (await live.client.get("/healthz")).json()["db"] is True
    proxy.cut()

    # Ten health checks at once: each answers within its bound (one read is shared).
    answers = await asyncio.gather(*(_timed(live.client.get("/healthz")) for _ in range(10)))
    for r, took in answers:
        assert r.status_code == 503 and took < 3.0, (r.status_code, took)
        assert r.json()["db"] is False and "no answer from the database" in r.json()["db_error"]

    r, took = await _timed(live.client.get("/metrics"))
    assert r.status_code == 200 and "sora_bot_db_up 0.0" in r.text and took < 3.0

    r, took = await _timed(live.client.post("/v1/events", content=b'{"error":"x"}',
                                            headers={"Authorization": "Bearer wrong"}))
    assert r.status_code == 401 and took < 1.0

    # A valid request cannot be stored: 503 within the database bound, never a hang.
    r, took = await _timed(live.client.post("/v1/events", content=b'{"error":"x"}',
                                            headers=live.auth()))
    assert r.status_code == 503 and r.headers["retry-after"], r.text
    assert took < 2 * DB_TIMEOUT_S + 6, took

    proxy.heal()
    deadline = time.monotonic() + 30
    while (await live.client.get("/healthz")).status_code != 200:
        assert time.monotonic() < deadline, "health did not recover after the path healed"
        await asyncio.sleep(0.2)


async def test_metrics_token(start_app: Any) -> None:
    live: Live = await start_app(METRICS_TOKEN="metrics-token-0123456789")
    r = await live.client.get("/metrics")
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
    assert r.json() == {"error": "send Authorization: Bearer <METRICS_TOKEN>"}
    r = await live.client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401
    r = await live.client.get("/metrics",
                              headers={"Authorization": "Bearer metrics-token-0123456789"})
    assert r.status_code == 200 and "sora_bot_db_up 1.0" in r.text
    assert "sora_bot_scheduler_leader 1.0" in r.text  # sum over replicas must be exactly 1
    assert (await live.client.get("/healthz")).status_code == 200  # health stays open
