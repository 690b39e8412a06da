"""Issue 14 item 1, as a user with no network sees it: a real ``sora-bot run`` whose targets
and status page all fail at the network level (closed ports, an unresolvable host) probes
every second, yet the subscribed terminal gets no incident notice; ``/sora status`` and
``sora-bot status --json`` say ``unknown`` with the bot's own connectivity as the reason;
/healthz says connectivity lost (and stays 200); /metrics has the gauge at 1."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

import httpx
import pytest

from tests.e2e.helpers import BotProcess, free_port, wait_until
from tests.probes.loopback import closed_port

KEY = "sk-test-" + "n" * 32
ROUNDS = 10


def _env(tmp_path) -> dict[str, str]:
    return {"SORA_API_BASE_URL": f"http://127.0.0.1:{closed_port()}/v1",
            "SORA_GATEWAYS": "relay=http://relay.sora-bot-test.invalid/v1|RELAY_KEY",
            "RELAY_KEY": "rk-" + "r" * 30,
            "SORA_STATUS_URL": f"http://127.0.0.1:{closed_port()}",
            "OPENAI_API_KEY": KEY, "PROBE_INTERVAL": "1", "STATUS_POLL_INTERVAL": "1",
            "PROBE_TIMEOUT": "2", "PORT": str(free_port()),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}", "LOG_LEVEL": "INFO"}


def _count(db: str, sql: str) -> int:
    try:
        with sqlite3.connect(db, timeout=5) as c:
            return int(c.execute(sql).fetchone()[0])
    except sqlite3.OperationalError:  # the bot has not migrated the file yet
        return 0


@pytest.fixture
def lost_bot(tmp_path):
    env = _env(tmp_path)
    bot = BotProcess(env, tmp_path)
    db = str(tmp_path / "bot.db")
    try:
        wait_until(lambda: os.path.exists(db) and _count(
            db, "SELECT count(*) FROM probe_results WHERE target='openai' "
                "AND kind='reachability'") >= ROUNDS, 60, f"{ROUNDS} probe rounds")
        yield bot, env, db
    finally:
        code = bot.close()
        assert code == 0
        err = "".join(bot.stderr_lines)
        assert "Traceback" not in err and KEY not in err + "".join(bot.transcript)


def test_no_incident_notice_when_the_bots_own_network_is_down(lost_bot):
    bot, _, db = lost_bot
    assert _count(db, "SELECT count(*) FROM incidents") == 0
    assert _count(db, "SELECT count(*) FROM outbox") == 0
    reply = bot.ask("/sora history", "incident")
    assert "No incidents yet" in reply


def test_status_health_and_metrics_say_connectivity_lost(lost_bot, tmp_path):
    bot, env, db = lost_bot
    reply = bot.ask("/sora status", "Sora status:")
    assert "Sora status: unknown" in reply and "own connectivity" in reply
    assert "connection refused" in reply and "DNS lookup failed" in reply

    base = f"http://127.0.0.1:{env['PORT']}"
    health = httpx.get(f"{base}/healthz", timeout=5)
    assert health.status_code == 200 and health.json()["connectivity"] == "lost"
    assert "sora_bot_connectivity_lost 1.0" in httpx.get(f"{base}/metrics", timeout=5).text

    full = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_"))}
    full.update(env)
    r = subprocess.run([sys.executable, "-m", "bot.cli", "status", "--json"], text=True,
                       capture_output=True, cwd=tmp_path, env=full, timeout=60)
    out = json.loads(r.stdout)
    assert set(out) == {"overall", "reason", "verdict", "official", "probes", "errors"}
    assert (out["overall"], out["verdict"]) == ("unknown", "network")
    for word in ("own connectivity", "proxy", "DNS", "firewall"):
        assert word in out["reason"]
    assert out["official"]["indicator"] == "unknown"

    # one log line per change of state, not one per probe round
    lost_lines = [ln for ln in bot.stderr_lines if "connectivity lost" in ln]
    log_file = tmp_path / "sora-bot.log"
    if log_file.exists():
        lost_lines += [ln for ln in log_file.read_text().splitlines()
                       if "connectivity lost" in ln]
    assert len(lost_lines) == 1, lost_lines
