"""A real crash: a worker process is SIGKILLed between send and mark; a new worker on the same
SQLite database reconciles through the sink (the append-only file) and every channel ends with
exactly one copy of each notice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest

from bot.clock import utcnow
from bot.notify import DeliveryWorker, JsonlFileSink
from bot.store import open_store

HERE = Path(__file__).parent
CHANNELS = [f"term-{i}" for i in range(1, 6)]


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.mark.parametrize("kill_after", [1, 3])
async def test_sigkill_between_send_and_mark(tmp_path: Path, kill_after: int) -> None:
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    log = tmp_path / "notices.log"
    store = open_store(url)
    store.upgrade()
    for channel in CHANNELS:
        store.subscribe("shell", "local", channel, "all")
    inc = store.open_incident("outage:openai", "outage", title="OpenAI failing")
    store.update_incident(inc.id, reason="severity changed", severity="critical")

    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE.parents[1]), *sys.path])}
    proc = subprocess.run([sys.executable, str(HERE / "crash_worker.py"), url, str(log),
                           str(kill_after)], env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr

    # The crash left posted-but-unmarked notices behind.
    before = _lines(log)
    assert len(before) == kill_after
    rows = store.outbox_rows()
    assert all(r.status != "sent" for r in rows)
    in_flight = [r for r in rows if r.status == "sending"]
    assert len(in_flight) == len(CHANNELS)  # the 'opened' heads, claimed by the dead worker
    assert all(store.last_attempt(r.id).finished_at is None for r in in_flight)

    # Restart: a new worker, after the dead one's lease has run out.
    later = lambda: utcnow() + timedelta(seconds=120)  # noqa: E731
    sink = JsonlFileSink(log)
    restarted = DeliveryWorker(open_store(url, now=later), {"shell": sink}, now=later,
                               worker_id="restarted")
    result = await restarted.drain()
    assert result.reconciled == kill_after  # found in the file, not posted again
    assert result.sent == 2 * len(CHANNELS) and result.dead == 0

    after = _lines(log)
    copies = Counter((e["channel"], e["notice"]) for e in after)
    assert copies == Counter({(c, n): 1 for c in CHANNELS for n in ("opened", "updated")})
    # Updates are threaded under the 'opened' message, including reconciled ones.
    opened = {e["channel"]: e["message_id"] for e in after if e["notice"] == "opened"}
    for e in after:
        if e["notice"] == "updated":
            assert e["thread_id"] == opened[e["channel"]]
    assert store.outbox_counts() == {"sent": 2 * len(CHANNELS)}
