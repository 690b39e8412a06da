"""Issue 4's "done when": `/sora status` in the shell flips ok → degraded (provider) → ok as the
fakes' scenario plays, and the seed paste says provider side during the outage and
account/request side during health. A real `sora-bot run` process, real HTTP to loopback fakes."""

from __future__ import annotations

import time

import httpx
import pytest

from bot.fakes import FakeSoraAPI, FakeStatusPage
from tests.e2e.helpers import BotProcess, free_port

SEED = '{"error":{"code":"invalid_request","message":"Unable to process request","param":null,"type":"invalid_request_error"}}'


@pytest.fixture
def fakes():
    with FakeSoraAPI() as api, FakeStatusPage() as page:
        yield api, page


def _env(api, page, tmp_path):
    return {"SORA_API_BASE_URL": api.base_url, "SORA_STATUS_URL": page.base_url,
            "OPENAI_API_KEY": "sk-test-" + "k" * 32, "PROBE_INTERVAL": "1",
            "STATUS_POLL_INTERVAL": "1", "PROBE_TIMEOUT": "2", "PORT": str(free_port()),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}", "LOG_LEVEL": "INFO"}


def _wait_status(bot: BotProcess, *words: str, showing: str = "", timeout: float = 40.0) -> str:
    """Ask `/sora status` until the overall state is one of ``words`` and the reply shows
    ``showing`` (probes and page polls land at different moments), bounded by ``timeout``."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        last = bot.ask("/sora status", "Sora status:")
        if any(f"Sora status: {word}" in last for word in words) and showing in last:
            return last
    raise AssertionError(f"status never became {words}; last reply:\n{last}")


def test_status_flips_with_the_outage_and_verdict_follows(fakes, tmp_path):
    api, page = fakes
    env = _env(api, page, tmp_path)
    bot = BotProcess(env, tmp_path)
    try:
        ok = _wait_status(bot, "ok")
        assert "Official page         operational" in ok or "operational" in ok

        page.set_state("partial_outage", incident={"name": "Elevated errors for Sora",
                                                   "status": "investigating",
                                                   "message": "We are investigating."})
        api.set_mode("server_error")
        bad = _wait_status(bot, "degraded", "down", showing="Elevated errors for Sora")
        assert "provider side" in bad
        assert "Elevated errors for Sora" in bad

        during = bot.ask(SEED, "risk_control")
        assert "Verdict      provider side" in during or "provider side" in during

        page.set_state("operational", incident={"name": "Elevated errors for Sora",
                                                "status": "resolved", "message": "Resolved."})
        api.set_mode("ok")
        _wait_status(bot, "ok", showing="Official page         operational")
        healthy = bot.ask(SEED, "risk_control")
        assert "account/request side" in healthy

        port = env["PORT"]
        health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
        assert health.status_code == 200 and health.json()["db"] is True
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        assert 'sora_bot_probes_total{kind="auth",ok="false",target="openai"}' in metrics
        assert 'sora_bot_errors_total{category="server",source="probe"}' in metrics
        assert 'sora_bot_errors_total{category="risk_control",source="chat"}' in metrics
    finally:
        code = bot.close()
    assert code == 0
    assert "Traceback" not in "".join(bot.stderr_lines)
    assert ("sk-test-" + "k" * 32) not in "".join(bot.transcript + bot.stderr_lines)
