"""start_discord against the fake: login, command sync, gateway READY; one-line failures."""

from __future__ import annotations

import discord
import pytest

from adapters.discord.runtime import DiscordRuntime
from bot.commands.model import SUBCOMMANDS
from tests.discord.fake_discord import MESSAGE_CONTENT_INTENT, FakeDiscord


async def test_ready_and_commands_synced(fake: FakeDiscord, runtime: DiscordRuntime):
    assert runtime.client.is_ready() and runtime.client.user.id == fake.bot_id
    [sync] = fake.calls_to("bulk_commands")
    assert sync.http_method == "PUT" and sync.path == f"/applications/{fake.app_id}/commands"
    [group] = sync.body
    assert group["name"] == "sora" and group["type"] == 1
    subs = {o["name"]: o for o in group["options"]}
    assert set(subs) == set(SUBCOMMANDS) and all(o["type"] == 1 for o in subs.values())
    kinds = subs["subscribe"]["options"][0]
    assert [c["value"] for c in kinds["choices"]] == ["all", "incidents", "status"]
    assert subs["diagnose"]["options"][0] == {**subs["diagnose"]["options"][0], "name": "paste",
                                              "required": True, "type": 3}
    assert runtime.synced == ["sora"]
    [identify] = fake.identifies
    assert int(identify["intents"]) & MESSAGE_CONTENT_INTENT and runtime.message_content
    assert sync.auth == f"Bot {fake.token}"


async def _config_error(fake: FakeDiscord, tmp_path, **settings) -> str:
    from adapters.discord.runtime import start_discord
    from bot.commands.router import Router
    from bot.errors import ConfigError
    from tests.discord.conftest import discord_settings

    before = (discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)
    with pytest.raises(ConfigError) as info:
        await start_discord(discord_settings(fake, tmp_path, **settings), Router(None),
                            ready_timeout=2, guild_ready_timeout=0.05)
    assert (discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY) == before
    return str(info.value)


async def test_bad_token_is_one_config_line_without_the_token(fake: FakeDiscord, tmp_path):
    bad = "MTA.wrong-token.Secret-QQQ"
    message = await _config_error(fake, tmp_path, DISCORD_TOKEN=bad)
    assert message.startswith("DISCORD_TOKEN: ") and "401" in message
    assert "\n" not in message and bad not in message and fake.token not in message
    assert [c.name for c in fake.calls] == ["users_me"] and fake.identifies == []


async def test_unreachable_gateway_is_one_config_line(fake: FakeDiscord, tmp_path):
    message = await _config_error(fake, tmp_path, DISCORD_GATEWAY_URL="ws://127.0.0.1:9/gateway")
    assert message.startswith("DISCORD_GATEWAY_URL: ") and "\n" not in message, message


async def test_refused_message_content_intent_reconnects_without_it(fake: FakeDiscord, tmp_path):
    from bot.commands.router import Router
    from tests.discord.conftest import started

    fake.refuse_message_content = True
    rt = await started(fake, tmp_path, Router(None))
    try:
        assert rt.client.is_ready() and rt.message_content is False
        first, second = fake.identifies
        assert int(first["intents"]) & MESSAGE_CONTENT_INTENT
        assert not int(second["intents"]) & MESSAGE_CONTENT_INTENT
    finally:
        await rt.close()


async def test_token_refused_by_the_gateway_is_one_config_line(fake: FakeDiscord, tmp_path,
                                                                monkeypatch):
    # REST accepts it, the gateway does not (a token reset between the two calls)
    real = fake._identify

    async def refuse(ws, d):
        await real(ws, {**d, "token": "mismatch"})

    monkeypatch.setattr(fake, "_identify", refuse)
    message = await _config_error(fake, tmp_path)
    assert message.startswith("DISCORD_TOKEN: ") and "4004" in message and fake.token not in message


async def test_close_puts_back_discord_py_endpoints(fake: FakeDiscord, tmp_path):
    from bot.commands.router import Router
    from tests.discord.conftest import started

    before = (discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)
    rt = await started(fake, tmp_path, Router(None))
    assert discord.http.Route.BASE == fake.api_url
    await rt.close()
    assert rt.client.is_closed() and rt.task.done()
    assert (discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY) == before


async def test_command_sync_failure_is_only_a_warning(fake: FakeDiscord, tmp_path, caplog):
    from bot.commands.router import Router
    from tests.discord.conftest import started

    fake.fail("bulk_commands", status=403, code=50001, message="Missing Access")
    rt = await started(fake, tmp_path, Router(None))
    try:
        assert rt.client.is_ready() and rt.synced == []
        assert "not synced" in caplog.text and fake.token not in caplog.text
    finally:
        await rt.close()


async def test_sink_only_start_opens_no_gateway_session(fake: FakeDiscord, tmp_path):
    from bot.commands.router import Router
    from tests.discord.conftest import started

    rt = await started(fake, tmp_path, Router(None), gateway=False)
    try:
        assert rt.task is None and fake.identifies == [] and fake.calls_to("bulk_commands") == []
        assert rt.user is not None and rt.user.id == fake.bot_id
    finally:
        await rt.close()


def test_readme_invite_link_asks_for_exactly_the_permissions_used():
    from pathlib import Path

    from adapters.discord.bot import INVITE_SCOPES, REQUIRED_PERMISSIONS, invite_url

    readme = (Path(__file__).parents[2] / "adapters" / "discord" / "README.md").read_text()
    link = invite_url(42).replace("client_id=42", "client_id=APPLICATION_ID")
    assert link in readme and f"permissions={REQUIRED_PERMISSIONS.value}" in link
    assert INVITE_SCOPES == ("bot", "applications.commands")
    granted = {name for name, on in REQUIRED_PERMISSIONS if on}
    assert granted == {"read_messages", "send_messages", "send_messages_in_threads", "embed_links",
                       "read_message_history"}


async def test_debug_logs_never_hold_the_token(fake: FakeDiscord, tmp_path, caplog):
    import logging

    from bot.commands.router import Router
    from tests.discord.conftest import interact, started

    caplog.set_level(logging.DEBUG)
    rt = await started(fake, tmp_path, Router(None))
    try:
        await interact(fake, fake.interaction("help"))
    finally:
        await rt.close()
    assert "IDENTIFY" in caplog.text or "READY" in caplog.text  # the debug log did run
    assert fake.token not in caplog.text
