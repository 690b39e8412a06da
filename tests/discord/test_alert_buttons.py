"""Acknowledge and Mute 1 h on an alert parent posted by DiscordSink: the click arrives as a
component INTERACTION_CREATE, the persistent view answers by editing the alert (type 7)."""

from __future__ import annotations

from typing import Any

from adapters.discord import embeds as em
from adapters.discord.runtime import DiscordRuntime
from adapters.discord.sink import ACTION_ACK, ACTION_MUTE_1H
from bot.clock import utcnow
from bot.notify import OutboxRow
from bot.service import CoreServices
from tests.discord.conftest import ephemeral, interact
from tests.discord.fake_discord import MANAGE_CHANNELS, MEMBER, FakeDiscord


async def _alert(fake: FakeDiscord, runtime: DiscordRuntime) -> dict[str, Any]:
    row = OutboxRow(id=1, dedupe_key="k1", incident_id=3, seq=1, notice_kind="opened",
                    platform="discord", workspace=str(fake.guild_id), channel=str(fake.channel_id),
                    payload={"title": "Sora API failing", "notice": "opened", "severity": "critical",
                             "incident_id": 3, "reason": "first notice", "text": "5 of 5 probes failed"},
                    thread_id=None, attempts=0, created_at=utcnow())
    await runtime.sink.send(row)
    [message] = fake.posts(fake.channel_id)
    return {**message, "guild_id": str(fake.guild_id)}


def _fields(answer: dict[str, Any]) -> dict[str, str]:
    return {f["name"]: f["value"] for f in answer["embeds"][0]["fields"]}


async def test_acknowledge_marks_the_alert_and_keeps_the_buttons(fake: FakeDiscord,
                                                                 runtime: DiscordRuntime):
    message = await _alert(fake, runtime)
    answer = await interact(fake, fake.interaction(None, component=ACTION_ACK, user_id=700077,
                                                   message=message))
    assert answer["type"] == 7  # UPDATE_MESSAGE: the alert itself is edited
    names = [f["name"] for f in answer["embeds"][0]["fields"]]
    assert names[:2] == [em.STATUS_FIELD, em.ACK_FIELD]
    assert _fields(answer)[em.ACK_FIELD].startswith("✋ Acknowledged by <@700077> at ")
    assert answer["embeds"][0]["title"] == "🚨 Sora API failing"
    assert "components" not in answer  # not sent: the buttons stay as they are


async def test_mute_button_needs_manage_permission(fake: FakeDiscord, runtime: DiscordRuntime,
                                                   services: CoreServices):
    message = await _alert(fake, runtime)
    g, c = str(fake.guild_id), str(fake.channel_id)
    answer = await interact(fake, fake.interaction(None, component=ACTION_MUTE_1H, permissions=MEMBER,
                                                   message=message))
    assert answer["type"] == 4 and ephemeral(answer) and "Not allowed" in answer["embeds"][0]["title"]
    assert services.store.active_mute("discord", g, c) is None

    answer = await interact(fake, fake.interaction(None, component=ACTION_MUTE_1H, user_id=700078,
                                                   permissions=MEMBER | MANAGE_CHANNELS,
                                                   message=message))
    assert answer["type"] == 7
    assert _fields(answer)[em.MUTE_FIELD] == "🔕 Muted for 1h by <@700078>"
    assert services.store.active_mute("discord", g, c) is not None
