"""``/sora`` app commands through real discord.py: INTERACTION_CREATE from the fake gateway →
the command tree → Router over real CoreServices (SQLite) → the callback / followup the fake
receives. Covers every subcommand, visibility, permissions (member, Manage Channels, Manage
Server, Administrator, DM), the Share button, and redaction of pasted secrets."""

from __future__ import annotations

import json

from adapters.discord.runtime import DiscordRuntime
from bot.service import CoreServices
from tests.discord.conftest import custom_ids, ephemeral, interact
from tests.discord.fake_discord import ADMINISTRATOR, MANAGE_CHANNELS, MANAGE_GUILD, MEMBER, FakeDiscord

SEED = ('{"error":{"code":"invalid_request","message":"Unable to process request",'
        '"param":null,"type":"invalid_request_error"}}')


def _embed(answer: dict) -> dict:
    [embed] = answer["embeds"]
    return embed


async def test_diagnose_seed_error_is_risk_control_only_to_the_caller(fake: FakeDiscord,
                                                                      runtime: DiscordRuntime):
    answer = await interact(fake, fake.interaction("diagnose", {"paste": SEED}))
    assert answer["type"] == 4 and ephemeral(answer)
    embed = _embed(answer)
    assert "risk_control" in embed["title"] and embed["title"].startswith("❌")
    assert embed["color"] == 0xE01E5A
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Category"] == "risk_control" and fields["Retryable"]
    assert "1. " in fields["What to do"] and "status page" in fields["What to do"].lower()
    assert "fingerprint" in embed["footer"]["text"]
    assert answer["allowed_mentions"] == {"parse": []}


async def test_pasted_key_never_reaches_discord(fake: FakeDiscord, runtime: DiscordRuntime):
    key = "sk-proj-" + "AbC123xyz" * 6
    paste = f'openai.AuthenticationError: Error code: 401 - Incorrect API key provided: {key}'
    answer = await interact(fake, fake.interaction("diagnose", {"paste": paste}))
    assert "auth" in _embed(answer)["title"]
    assert key not in fake.received_text() and "[REDACTED]" in json.dumps(answer)
    assert key[:20] not in json.dumps(answer)


async def test_status_is_ephemeral_with_a_share_button(fake: FakeDiscord, runtime: DiscordRuntime):
    # answered from stored evidence, within the inline budget: no deferral needed
    answer = await interact(fake, fake.interaction("status"))
    assert not answer["deferred"] and ephemeral(answer)
    assert _embed(answer)["title"].split(" ", 1)[1].startswith("Sora status")
    assert custom_ids(answer) == ["share_status"]
    assert any(f["name"] == "Probes" for f in _embed(answer)["fields"])


async def test_status_public_is_in_channel_without_share(fake: FakeDiscord, runtime: DiscordRuntime):
    answer = await interact(fake, fake.interaction("status", {"public": True}))
    assert not ephemeral(answer) and custom_ids(answer) == []


async def test_share_button_posts_status_in_channel_and_says_who(fake: FakeDiscord,
                                                                 runtime: DiscordRuntime):
    click = fake.interaction(None, component="share_status", user_id=700042,
                             message={**fake.message("x", author_id=fake.bot_id), "flags": 64})
    answer = await interact(fake, click)
    assert not ephemeral(answer) and answer["content"] == "Shared by <@700042>"
    assert "Sora status" in _embed(answer)["title"] and custom_ids(answer) == []


async def test_probe_is_deferred_and_answers_with_results(fake: FakeDiscord, runtime: DiscordRuntime):
    answer = await interact(fake, fake.interaction("probe"), timeout=20)
    assert answer["deferred"] and ephemeral(answer)
    embed = _embed(answer)
    assert "probe" in embed["title"].lower() and "openai" in json.dumps(embed)


async def test_member_without_manage_permission_may_not_subscribe_or_mute(
        fake: FakeDiscord, runtime: DiscordRuntime, services: CoreServices):
    for sub, opts in (("subscribe", {"kinds": "incidents"}), ("mute", {"duration": "1h"}),
                      ("unsubscribe", {})):
        answer = await interact(fake, fake.interaction(sub, opts, permissions=MEMBER))
        assert ephemeral(answer) and "Not allowed" in _embed(answer)["title"], sub
    g, c = str(fake.guild_id), str(fake.channel_id)
    assert services.store.get_subscription("discord", g, c) is None
    assert services.store.active_mute("discord", g, c) is None


async def test_manage_channels_server_or_admin_may_subscribe_and_mute(
        fake: FakeDiscord, runtime: DiscordRuntime, services: CoreServices):
    g, c = str(fake.guild_id), str(fake.channel_id)
    for i, perm in enumerate((MANAGE_CHANNELS, MANAGE_GUILD, ADMINISTRATOR)):
        channel = int(c) + i
        answer = await interact(fake, fake.interaction("subscribe", {"kinds": "incidents"},
                                                       permissions=MEMBER | perm, channel_id=channel))
        assert not ephemeral(answer) and "Subscribed" in _embed(answer)["title"]
        sub = services.store.get_subscription("discord", g, str(channel))
        assert sub is not None and sub.kinds == "incidents"
    answer = await interact(fake, fake.interaction("mute", {"duration": "2h"},
                                                   permissions=MEMBER | MANAGE_CHANNELS))
    assert "Muted for 2h" in _embed(answer)["title"] and not ephemeral(answer)
    assert services.store.active_mute("discord", g, c) is not None
    answer = await interact(fake, fake.interaction("unsubscribe", permissions=MEMBER | MANAGE_GUILD))
    assert "Unsubscribed" in _embed(answer)["title"]
    assert services.store.get_subscription("discord", g, c) is None


async def test_in_a_dm_the_user_manages_their_own_chat(fake: FakeDiscord, runtime: DiscordRuntime,
                                                       services: CoreServices):
    answer = await interact(fake, fake.interaction("subscribe", guild=False, channel_id=555001))
    assert "Subscribed" in _embed(answer)["title"]
    sub = services.store.get_subscription("discord", "dm", "555001")
    assert sub is not None and sub.kinds == "all"


async def test_bad_mute_duration_gets_usage(fake: FakeDiscord, runtime: DiscordRuntime):
    answer = await interact(fake, fake.interaction("mute", {"duration": "soon"},
                                                   permissions=MEMBER | MANAGE_CHANNELS))
    assert "Usage: /sora mute" in _embed(answer)["title"] and ephemeral(answer)


async def test_help_history_and_error_reference(fake: FakeDiscord, runtime: DiscordRuntime):
    answer = await interact(fake, fake.interaction("help"))
    embed = _embed(answer)
    assert "help" in embed["title"] and "/sora status" in json.dumps(embed) and ephemeral(answer)
    answer = await interact(fake, fake.interaction("help", {"topic": "errors"}))
    assert "quick reference" in _embed(answer)["title"]
    assert len(json.dumps(_embed(answer))) < 8000  # fits Discord's 6000-character embed
    answer = await interact(fake, fake.interaction("history"))
    assert "No incidents yet" in _embed(answer)["title"]


async def test_paste_settings_show_and_change(fake: FakeDiscord, runtime: DiscordRuntime,
                                              services: CoreServices):
    answer = await interact(fake, fake.interaction("paste"))
    assert _embed(answer)["title"].endswith("Paste settings") and ephemeral(answer)
    answer = await interact(fake, fake.interaction("paste", {"detection": "off", "counting": "on"},
                                                   permissions=MEMBER | MANAGE_CHANNELS))
    assert "updated" in _embed(answer)["title"] and not ephemeral(answer)
    fields = {f["name"]: f["value"] for f in _embed(answer)["fields"]}
    assert fields == {"Paste detection": "off", "Counted in team error rate": "on"}
    answer = await interact(fake, fake.interaction("paste", {"detection": "on"}, permissions=MEMBER))
    assert "Not allowed" in _embed(answer)["title"]


async def test_a_known_problem_is_one_line_and_small_talk_in_a_dm_gets_a_hint(
        fake: FakeDiscord, runtime: DiscordRuntime):
    """Issue 11 on Discord: `/sora probe nope` is one line naming the problem (no "something
    went wrong"), commands are read in any case."""
    answer = await interact(fake, fake.interaction("probe", {"target": "nope"}), timeout=20)
    embed = _embed(answer)
    assert embed["title"] == "❌ Unknown probe target 'nope'; configured: openai"
    assert not embed.get("description") and not embed.get("fields")
    assert "Something went wrong" not in json.dumps(answer)
