"""Issue 12 item 6 in a real ``sora-bot run``: a status page that drips its body a byte at a
time never trips the per-read timeout, so only the overall deadline (twice PROBE_TIMEOUT)
ends each poll, as ``timeout``; once the page is fixed the next poll reads it."""

from __future__ import annotations

import os
import sqlite3

from tests.e2e.helpers import BotProcess, free_port, wait_until
from tests.probes.loopback import LoopbackServer

PAGE = b'{"status": {"indicator": "none"}, "components": [], "incidents": []}'


def _latest(db: str) -> tuple[int, str | None] | None:
    if not os.path.exists(db):
        return None
    try:
        with sqlite3.connect(db, timeout=5) as c:
            return c.execute("SELECT ok, failure FROM status_snapshots ORDER BY id DESC "
                             "LIMIT 1").fetchone()
    except sqlite3.OperationalError:  # not migrated yet
        return None


def test_slow_drip_page_times_out_and_polling_recovers(tmp_path):
    with LoopbackServer("drip", body=PAGE, drip_s=0.5) as page, \
            LoopbackServer("ok", status=401, body=b'{"error": {"code": "invalid_api_key"}}') as api:
        db = str(tmp_path / "bot.db")
        env = {"SORA_API_BASE_URL": api.base_url + "/v1",
               "SORA_STATUS_URL": page.base_url + "/api/v2/summary.json",
               "PROBE_INTERVAL": "1", "STATUS_POLL_INTERVAL": "1", "PROBE_TIMEOUT": "1",
               "PORT": str(free_port()), "DATABASE_URL": f"sqlite:///{db}"}
        bot = BotProcess(env, tmp_path)
        try:
            # 70 bytes at 2 bytes/s would take 35 s; the deadline (2 s) ends each poll
            wait_until(lambda: _latest(db) == (0, "timeout"), 30, "a timed-out poll")
            page.mode = "ok"
            wait_until(lambda: _latest(db) == (1, None), 15, "a readable poll after the fix")
        finally:
            assert bot.close() == 0
