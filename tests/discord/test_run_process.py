"""`sora-bot run` with DISCORD_TOKEN as a user starts it: a real subprocess connects to the fake
Discord (REST + gateway on loopback), answers a pasted error and `/sora help`, subscribes a
channel, and stops cleanly on SIGTERM; a bad token is one line and exit 2."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from typing import Any

from tests.discord.fake_discord import MANAGE_CHANNELS, FakeDiscord
from tests.e2e.helpers import free_port

SEED = '{"error":{"code":"invalid_request","message":"Unable to process request","param":null,"type":"invalid_request_error"}}'


def _env(fake: FakeDiscord, tmp_path: Any, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_"))}
    env.update({"DISCORD_TOKEN": fake.token, "DISCORD_API_URL": fake.api_url,
                "DISCORD_GATEWAY_URL": fake.gateway_url, "PORT": str(free_port()),
                "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
                "SORA_API_BASE_URL": "http://127.0.0.1:9/v1", "SORA_STATUS_URL": "http://127.0.0.1:9",
                "PROBE_TIMEOUT": "1", **extra})
    return env


async def _spawn(env: dict[str, str], cwd: Any) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "run", env=env, cwd=cwd,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)


async def test_run_serves_discord_and_stops_on_sigterm(fake: FakeDiscord, tmp_path):
    proc = await _spawn(_env(fake, tmp_path), tmp_path)
    try:
        await fake.wait_for(lambda: fake.gateway_sockets, timeout=60)
        await fake.wait_calls("bulk_commands", 1, timeout=30)

        paste = fake.message(f"since 10am:\n```\n{SEED}\n```")
        await fake.dispatch("MESSAGE_CREATE", paste)
        [reply] = await fake.wait_calls("create_message", 1, timeout=30)
        assert "risk_control" in reply.body["embeds"][0]["title"]
        assert str(reply.body["message_reference"]["message_id"]) == paste["id"]

        await fake.dispatch("INTERACTION_CREATE",
                            fake.interaction("subscribe", {"kinds": "incidents"},
                                             permissions=MANAGE_CHANNELS))
        calls = await fake.wait_calls("interaction_callback", 1, timeout=30)
        assert "Subscribed" in str(calls[-1].body)
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(proc.wait(), 60)
        err = (await proc.stderr.read()).decode()
    assert code == 0, err[-2000:]
    assert "Traceback" not in err
    assert fake.token not in err


async def test_run_with_bad_discord_token_is_one_line(fake: FakeDiscord, tmp_path):
    proc = await _spawn(_env(fake, tmp_path, DISCORD_TOKEN="MTA.wrong.token"), tmp_path)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    text = err.decode().strip()
    assert proc.returncode == 2, text
    lines = [line for line in text.splitlines() if "sora-bot: error:" in line]
    assert len(lines) == 1 and "DISCORD_TOKEN" in lines[0]
    assert "Traceback" not in text and "MTA.wrong.token" not in text
