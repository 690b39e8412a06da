"""Deleting the SQLite database under a running `sora-bot run` is detected (issue 12 item 8).

Before: after ``rm sora-bot.db sora-bot.db-wal sora-bot.db-shm`` the ingest API kept answering
202 and /healthz said ok, writing into a file no name pointed to; the next start created an
empty database and every event and subscription was gone. Now the store notices that the path
no longer names the file it opened: writes are refused (503 with a clear line), /healthz fails,
and one line is logged.
"""

from __future__ import annotations

import json

import httpx

from tests.e2e.helpers import BotProcess, free_port
from tests.e2e.replica_support import wait_for

TOKEN = "sqlite-deleted-token-0123456789"
SEED = ('{"error":{"code":"invalid_request","message":"Unable to process request",'
        '"param":null,"type":"invalid_request_error"}}')


def test_deleting_the_database_file_fails_health_and_refuses_writes(tmp_path) -> None:
    db = tmp_path / "sora-bot.db"
    port = free_port()
    bot = BotProcess({"DATABASE_URL": f"sqlite:///{db}", "INGEST_TOKEN": TOKEN,
                      "PORT": str(port), "SORA_API_BASE_URL": "http://127.0.0.1:9/v1",
                      "SORA_STATUS_URL": "http://127.0.0.1:9", "PROBE_TIMEOUT": "1",
                      "LOG_FORMAT": "json"}, tmp_path)
    base = f"http://127.0.0.1:{port}"
    auth = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    try:
        def healthy() -> bool:
            try:
                return httpx.get(f"{base}/healthz", timeout=5).json()["db"] is True
            except httpx.HTTPError:
                return False

        wait_for(healthy, 60, "the bot to serve /healthz")
        assert httpx.post(f"{base}/v1/events", content=SEED, headers=auth,
                          timeout=10).status_code == 202

        for suffix in ("", "-wal", "-shm"):
            (tmp_path / f"sora-bot.db{suffix}").unlink(missing_ok=True)

        for _ in range(3):  # every write is refused, and said so in one line
            r = httpx.post(f"{base}/v1/events", content=SEED, headers=auth, timeout=10)
            assert r.status_code == 503, r.text
            assert r.headers["retry-after"]
            error = r.json()["error"]
            assert "database file was deleted" in error and "\n" not in error
            assert str(tmp_path) not in error  # the path is for the operator's log only
        health = httpx.get(f"{base}/healthz", timeout=10)
        assert health.status_code == 503
        body = health.json()
        assert body["status"] == "fail" and body["db"] is False
        assert "deleted" in body["db_error"]
        metrics = httpx.get(f"{base}/metrics", timeout=10).text
        assert "sora_bot_db_up 0.0" in metrics

        assert not db.exists(), "nothing may quietly create an empty database meanwhile"
    finally:
        code = bot.close()
    logs = [json.loads(line) for line in bot.stderr_lines if line.startswith("{")]
    deleted = [e for e in logs if "was deleted while sora-bot was running" in e["message"]
               and e["level"] == "ERROR"]
    assert len(deleted) == 1, [(e["logger"], e["level"], e["message"][:80]) for e in deleted]
    assert deleted[0]["logger"] == "bot.store" and str(db) in deleted[0]["message"]
    assert "Traceback" not in "".join(bot.stderr_lines)
    # Stopping with the data lost is not a clean exit: 1, and the reason as its last line.
    assert code == 1, bot.stderr_lines[-3:]
    assert "restore the file from a backup" in bot.stderr_lines[-1]
