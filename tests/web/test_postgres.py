"""The ingest API and /healthz on PostgreSQL (skipped with the reason when no server runs)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bot.store import open_store
from bot.store.testing import PostgresUnavailable, temp_postgres_url
from tests.web.conftest import OPENAI_KEY_SAMPLE, Live


@pytest.fixture
def pg_store() -> Iterator[Any]:
    try:
        with temp_postgres_url(prefix="sora_web") as url:
            store = open_store(url)
            store.upgrade()
            try:
                yield store
            finally:
                store.close()
    except PostgresUnavailable as exc:
        pytest.skip(str(exc))


async def test_ingest_batch_and_health_on_postgres(start_app: Any, pg_store: Any) -> None:
    live: Live = await start_app(app_store=pg_store)
    pg_store.record_job_run("probes", ok=True)
    events = [{"error": f"openai.AuthenticationError: Error code: 401 - key {OPENAI_KEY_SAMPLE}",
               "target": "openai", "at": "2026-01-02T03:04:05Z"},
              {"error": {"message": "You exceeded your current quota",
                         "code": "insufficient_quota"}, "target": "relay",
               "at": "2026-01-02T03:04:06Z"}]
    r = await live.client.post("/v1/events", json={"events": events}, headers=live.auth())
    assert r.status_code == 202, r.text
    rows = live.rows()
    assert [(row.target, row.category) for row in rows] == [("openai", "auth"),
                                                           ("relay", "quota")]
    assert all(OPENAI_KEY_SAMPLE not in row.redacted for row in rows)
    health = (await live.client.get("/healthz")).json()
    assert health["db"] is True and health["status"] == "ok"
    assert set(health["jobs"]) == {"probes"}
