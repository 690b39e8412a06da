"""Adding a platform is one folder plus one registry line (docs/adding-a-platform.md).

``tests/platform/toy_dist`` holds a toy chat platform as an installed distribution would: its
package folder and a ``dist-info`` whose ``entry_points.txt`` is the one registry line. Put on
``PYTHONPATH`` of a real ``sora-bot run``, it is found, enabled by a variable the core does not
know, started instead of the terminal chat, answers commands and pastes through the core's
router, and receives incident notices through the outbox: nothing in ``bot/`` names it.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import httpx
import pytest

from bot.fakes import FakeSoraAPI, FakeStatusPage
from tests.e2e.helpers import BotProcess, free_port
from tests.e2e.helpers import wait_until as _until

TOY_DIST = Path(__file__).parent / "toy_dist"
SEED = '{"error":{"code":"invalid_request","message":"Unable to process request","param":null,"type":"invalid_request_error"}}'


@pytest.fixture
def toy_bot(tmp_path):
    with FakeSoraAPI() as api, FakeStatusPage() as page:
        port = free_port()
        env = {"PYTHONPATH": os.pathsep.join([str(TOY_DIST), os.environ.get("PYTHONPATH", "")]),
               "TOY_CHAT": "1", "TOY_NOTICES": str(tmp_path / "notices.jsonl"),
               "SORA_API_BASE_URL": api.base_url, "SORA_STATUS_URL": page.base_url,
               "OPENAI_API_KEY": "sk-test-" + "k" * 32, "PROBE_INTERVAL": "1",
               "STATUS_POLL_INTERVAL": "1", "PROBE_TIMEOUT": "2", "PORT": str(port),
               "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}", "LOG_LEVEL": "INFO"}
        bot = BotProcess(env, tmp_path)
        base = f"http://127.0.0.1:{port}"
        try:
            _until(lambda: _get(f"{base}/healthz"), 60, "the web app")
            yield bot, base, api, tmp_path / "notices.jsonl"
            bot.proc.send_signal(signal.SIGTERM)  # no terminal chat: stdin is not the conversation
            assert bot.proc.wait(30) == 0
            assert "Traceback" not in "".join(bot.stderr_lines)
        finally:
            if bot.proc.poll() is None:
                bot.proc.kill()
                bot.proc.wait(10)


def _get(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code in (200, 503)
    except httpx.HTTPError:
        return False


def _say(base: str, text: str, *, user: str = "guest", channel: str = "general",
         mentioned: bool = False) -> dict[str, str | None]:
    r = httpx.post(f"{base}/toy/say", json={"channel": channel, "user": user, "text": text,
                                            "mentioned": mentioned}, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def test_a_registered_toy_platform_runs_through_the_real_start_path(toy_bot):
    bot, base, api, notices = toy_bot
    log = "".join(bot.stderr_lines)
    assert "chat adapters started: toy" in log and "toy chat on /toy/say" in log

    assert "sora-bot help" in (_say(base, "/sora help")["reply"] or "")
    assert _say(base, "status is red today")["reply"] is None        # talk in a channel
    assert _say(base, "status", mentioned=True)["kind"] == "status"  # spoken to directly
    pasted = _say(base, SEED)
    assert pasted["kind"] == "diagnosis" and "risk_control" in (pasted["reply"] or "")

    # the core's rule (manage rights default to no) with the toy's own notion of who may
    assert (_say(base, "/sora subscribe")["reply"] or "").startswith("❌ Not allowed")
    assert "Subscribed" in (_say(base, "/sora subscribe", user="boss")["reply"] or "")

    # a real outage reaches the toy channel through the outbox and the toy's sink
    api.set_mode("server_error")
    lines = _until(lambda: notices.exists() and [json.loads(x) for x in notices.read_text().splitlines()],
                   90, "an incident notice in the toy channel")
    assert lines[0]["channel"] == "general" and "[OPENED]" in lines[0]["text"]
