"""`sora-bot run` as a real subprocess with SLACK_* set, against the fake Slack Web API:
the HTTP endpoint is served on PORT by the bot's web app; a bad token stops it with one line."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
from pathlib import Path

import httpx

from tests.slack.conftest import SIGNING_SECRET, SlackSender, message_event
from tests.slack.fake_slack import FakeSlack

SEED = ('{"error":{"code":"invalid_request","message":"Unable to process request",'
        '"param":null,"type":"invalid_request_error"}}')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(tmp_path: Path, fake: FakeSlack, port: int, token: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_"))}
    env.update({
        "SLACK_BOT_TOKEN": token, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake.api_url, "PORT": str(port), "HOST": "127.0.0.1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
        # nothing leaves the machine: the API and the status page are closed local ports
        "SORA_API_BASE_URL": "http://127.0.0.1:9/v1", "SORA_STATUS_URL": "http://127.0.0.1:9",
        "PROBE_INTERVAL": "3600", "STATUS_POLL_INTERVAL": "3600", "LOG_LEVEL": "INFO",
    })
    return env


async def _start(tmp_path: Path, env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-c", "import sys; from bot.cli import main; sys.exit(main())", "run",
        cwd=tmp_path, env=env, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)


async def _wait_line(proc: asyncio.subprocess.Process, needle: str, seen: list[str],
                     timeout: float = 30.0) -> None:
    async def _read() -> None:
        assert proc.stdout is not None
        while True:
            line = (await proc.stdout.readline()).decode(errors="replace")
            if not line:
                raise AssertionError(f"exited before {needle!r}: {''.join(seen)[-2000:]}")
            seen.append(line)
            if needle in line:
                return

    await asyncio.wait_for(_read(), timeout)


async def test_run_serves_slack_events_on_port(fake: FakeSlack, tmp_path: Path):
    port = _free_port()
    proc = await _start(tmp_path, _env(tmp_path, fake, port, fake.bot_token))
    seen: list[str] = []
    try:
        await _wait_line(proc, "web app listening", seen)
        assert any("slack: connected to team T111" in line for line in seen)
        async with httpx.AsyncClient(timeout=10) as http:
            sender = SlackSender(f"http://127.0.0.1:{port}", http, fake)
            resp = await sender.slash("help")
            assert resp.status_code == 200 and sender.last_elapsed < 3
            assert "sora-bot help" in resp.json()["blocks"][0]["text"]["text"]
            resp = await sender.event(message_event(SEED, ts="1700000400.000100"))
            assert resp.status_code == 200
            [post] = await fake.wait_calls("chat.postMessage", timeout=10)
            assert post.body["thread_ts"] == "1700000400.000100"
            assert "risk_control" in json.dumps(post.body["blocks"])
            health = await http.get(f"http://127.0.0.1:{port}/healthz")
            assert health.status_code in (200, 503)  # served by the same app and port
    finally:
        if proc.returncode is None:
            proc.terminate()
        await asyncio.wait_for(proc.wait(), 30)
    assert fake.bot_token not in "".join(seen)


async def test_run_with_a_bad_token_stops_with_one_line(fake: FakeSlack, tmp_path: Path):
    bad = "xoxb-0000-definitely-wrong"
    proc = await _start(tmp_path, _env(tmp_path, fake, _free_port(), bad))
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    text = out.decode(errors="replace")
    assert proc.returncode != 0
    assert "SLACK_BOT_TOKEN" in text and "invalid_auth" in text
    assert "Traceback" not in text and bad not in text
