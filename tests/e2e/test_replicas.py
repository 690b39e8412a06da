"""Two `sora-bot run` processes on one database: exactly one leads the scheduler; when it dies
(SIGKILL), the other takes over. PostgreSQL: real advisory locks; SQLite: the leader file lock.
Real processes, /healthz over real HTTP."""

from __future__ import annotations

import signal
import time

import httpx
import pytest

from bot.store.testing import PostgresUnavailable, temp_postgres_url
from tests.e2e.helpers import BotProcess, free_port
from tests.e2e.helpers import wait_until as _wait


@pytest.fixture(params=["postgresql", "sqlite"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'shared.db'}"
        return
    try:
        with temp_postgres_url(prefix="sora_replicas") as url:
            yield url
    except PostgresUnavailable as exc:
        pytest.skip(str(exc))


def _leader(port: int) -> bool | None:
    try:
        r = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
    except httpx.HTTPError:
        return None
    return bool(r.json()["scheduler"]["leader"])


def test_one_leader_and_failover(db_url, tmp_path):
    ports = [free_port(), free_port()]
    env = {"DATABASE_URL": db_url, "SORA_API_BASE_URL": "http://127.0.0.1:9/v1",
           "SORA_STATUS_URL": "http://127.0.0.1:9", "PROBE_TIMEOUT": "1", "LOG_LEVEL": "INFO",
           "LEADER_LEASE": "4"}  # a killed leader's lease runs out in seconds, not 15
    bots = [BotProcess({**env, "PORT": str(p)}, tmp_path) for p in ports]
    try:
        states = _wait(lambda: (lambda s: s if None not in s and any(s) else None)(
            [_leader(p) for p in ports]), 60, "both replicas up with a leader")
        assert states.count(True) == 1, states
        leader = states.index(True)
        follower = 1 - leader

        bots[leader].proc.send_signal(signal.SIGKILL)
        bots[leader].proc.wait(10)
        _wait(lambda: _leader(ports[follower]), 30, "the follower to take over")

        # graceful stop of the new leader on SIGTERM
        bots[follower].proc.send_signal(signal.SIGTERM)
        assert bots[follower].proc.wait(30) == 0
        assert "Traceback" not in "".join(bots[follower].stderr_lines)
    finally:
        for b in bots:
            if b.proc.poll() is None:
                b.proc.kill()
                b.proc.wait(10)
