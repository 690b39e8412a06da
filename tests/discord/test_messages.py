"""Paste detection: MESSAGE_CREATE from the fake gateway → on_message → Router.handle_message
→ a reply (``message_reference``) with the diagnosis embed; everything else gets nothing.

"Nothing was posted" is checked without sleeping: a second, answered message goes after the
one under test, and events are handled in order, so once its answer arrives the first one has
been handled too."""

from __future__ import annotations

import json
from typing import Any

from adapters.discord.runtime import DiscordRuntime
from tests.discord.conftest import interact
from tests.discord.fake_discord import MANAGE_CHANNELS, MEMBER, FakeDiscord
from tests.discord.test_commands import SEED

BARRIER = "Error code: 429 - {'error': {'message': 'Rate limit reached for requests', 'type': 'requests', 'code': 'rate_limit_exceeded'}}"


def _replies(fake: FakeDiscord, channel: int | str | None = None) -> list[dict[str, Any]]:
    return [c.body for c in fake.calls_to("create_message")
            if channel is None or c.params["cid"] == str(channel)]


async def _answer(fake: FakeDiscord, message: dict[str, Any], count: int | None = None
                  ) -> dict[str, Any]:
    before = len(fake.calls_to("create_message"))
    await fake.dispatch("MESSAGE_CREATE", message)
    calls = await fake.wait_calls("create_message", (count or before + 1), timeout=10)
    body = calls[-1].body
    assert str(body["message_reference"]["message_id"]) == message["id"]
    return body


async def _silent(fake: FakeDiscord, message: dict[str, Any]) -> None:
    """Dispatch ``message``, then a barrier paste; only the barrier may be answered."""
    before = len(fake.calls_to("create_message"))
    await fake.dispatch("MESSAGE_CREATE", message)
    barrier = fake.message(BARRIER, channel_id=message["channel_id"],
                           guild="guild_id" in message)
    body = await _answer(fake, barrier)
    assert len(fake.calls_to("create_message")) == before + 1 and "rate_limit" in body["embeds"][0]["title"]


async def test_pasted_error_in_fences_gets_a_diagnosis_reply(fake: FakeDiscord, runtime: DiscordRuntime):
    msg = fake.message(f"getting this since 10am:\n```json\n{SEED}\n```")
    body = await _answer(fake, msg)
    [embed] = body["embeds"]
    assert "risk_control" in embed["title"]
    assert str(body["message_reference"]["channel_id"]) == str(fake.channel_id)
    assert body["allowed_mentions"]["parse"] == [] and body["allowed_mentions"]["replied_user"] is False
    # the team-memory controls, and no Share (a paste reply is already in the channel)
    ids = [c["custom_id"] for row in body["components"] for c in row["components"]]
    assert ids == [f"sora_note:{embed['footer']['text'].split()[1]}",
                   f"sora_correct:{embed['footer']['text'].split()[1]}"]


async def test_chat_that_merely_says_error_gets_no_reply(fake: FakeDiscord, runtime: DiscordRuntime):
    await _silent(fake, fake.message("there is an error in my code, any idea?"))


async def test_bots_webhooks_and_our_own_messages_are_ignored(fake: FakeDiscord, runtime: DiscordRuntime):
    await _silent(fake, fake.message(SEED, bot=True, author_id=123))
    await _silent(fake, fake.message(SEED, author_id=fake.bot_id, name="sora-bot"))
    await _silent(fake, fake.message(SEED, webhook_id="4242"))
    await _silent(fake, fake.message(SEED, msg_type=7))  # a member joined


async def test_long_paste_as_message_txt_is_downloaded_without_the_token(fake: FakeDiscord,
                                                                         runtime: DiscordRuntime):
    log = ("INFO starting job\n" * 200) + f"openai.BadRequestError: Error code: 400 - {SEED}\n"
    msg = fake.message("", attachments=[fake.attachment("message.txt", log.encode())])
    body = await _answer(fake, msg)
    assert "risk_control" in body["embeds"][0]["title"]
    [download] = fake.calls_to("attachment")
    assert download.auth is None


async def test_pasted_secret_is_masked_in_the_reply(fake: FakeDiscord, runtime: DiscordRuntime):
    key = "sk-proj-" + "Zz9" * 20
    body = await _answer(fake, fake.message(f"Incorrect API key provided: {key} (Error code: 401)"))
    assert key not in json.dumps(body) and key not in fake.received_text()


async def test_mention_runs_a_command_and_a_bare_mention_gets_help(fake: FakeDiscord,
                                                                  runtime: DiscordRuntime):
    body = await _answer(fake, fake.message(f"<@{fake.bot_id}> history", mention_bot=True))
    assert "No incidents yet" in body["embeds"][0]["title"]
    body = await _answer(fake, fake.message(f"<@!{fake.bot_id}>", mention_bot=True))
    assert "help" in body["embeds"][0]["title"]


async def test_in_a_dm_commands_work_without_the_slash(fake: FakeDiscord, runtime: DiscordRuntime):
    dm = 555002
    body = await _answer(fake, fake.message("help", guild=False, channel_id=dm))
    assert "help" in body["embeds"][0]["title"]
    # small talk in a DM is spoken to the bot: a short hint, not silence and not a diagnosis
    body = await _answer(fake, fake.message("thanks, that helped", guild=False, channel_id=dm))
    assert "Not an error I can diagnose" in body["embeds"][0]["title"]


async def test_no_embed_links_permission_gets_plain_text(fake: FakeDiscord, runtime: DiscordRuntime):
    body = await _answer(fake, fake.message(SEED, channel_id=fake.plain_channel_id))
    assert "embeds" not in body or body["embeds"] == []
    assert "risk_control" in body["content"] and "1. " in body["content"]
    assert len(body["content"]) <= 2000


async def test_paste_detection_off_silences_the_channel(fake: FakeDiscord, runtime: DiscordRuntime):
    await interact(fake, fake.interaction("paste", {"detection": "off"},
                                          permissions=MEMBER | MANAGE_CHANNELS))
    before = len(fake.calls_to("create_message"))
    await fake.dispatch("MESSAGE_CREATE", fake.message(SEED))
    # the barrier goes to another channel, where detection is still on
    other = fake.plain_channel_id
    await _answer(fake, fake.message(BARRIER, channel_id=other))
    assert len(fake.calls_to("create_message")) == before + 1
    assert _replies(fake, fake.channel_id) == []


async def test_mentioned_subscribe_uses_the_members_channel_permissions(
        fake: FakeDiscord, runtime: DiscordRuntime, services):
    g, c = str(fake.guild_id), str(fake.channel_id)
    body = await _answer(fake, fake.message(f"<@{fake.bot_id}> subscribe", mention_bot=True))
    assert "Not allowed" in body["embeds"][0]["title"]
    assert services.store.get_subscription("discord", g, c) is None
    # the "mods" role carries Manage Channels
    body = await _answer(fake, fake.message(f"<@{fake.bot_id}> subscribe incidents", mention_bot=True,
                                            roles=[str(fake.mods_role_id)], author_id=700005))
    assert "Subscribed" in body["embeds"][0]["title"]
    assert services.store.get_subscription("discord", g, c).kinds == "incidents"
