"""Team memory through real discord.py against the strict fake: a second paste says "Seen 2
times"; "Add note" opens a modal (callback type 9) whose submission (interaction type 5) adds
the note to the next diagnosis; the category select (component type 3) corrects the kind for
its paster but not for a plain member; ``/sora top``, ``note`` and ``correct`` app commands."""

from __future__ import annotations

from typing import Any

from adapters.discord.runtime import DiscordRuntime
from bot.service import CoreServices
from tests.discord.conftest import ephemeral, interact
from tests.discord.fake_discord import MEMBER, FakeDiscord
from tests.discord.test_commands import SEED

PASTER = 700_101
BYSTANDER = 700_102


def _fields(embed: dict[str, Any]) -> dict[str, str]:
    return {f["name"]: f["value"] for f in embed.get("fields") or []}


async def _paste(fake: FakeDiscord, text: str = SEED) -> dict[str, Any]:
    """Paste as PASTER; return the bot's reply message as stored by Discord."""
    before = len(fake.posts(fake.channel_id))
    await fake.dispatch("MESSAGE_CREATE", fake.message(text, author_id=PASTER, name="paula"))
    await fake.wait_for(lambda: len(fake.posts(fake.channel_id)) > before, 10)
    return {**fake.posts(fake.channel_id)[-1], "guild_id": str(fake.guild_id)}


async def _callback(fake: FakeDiscord, payload: dict[str, Any]) -> dict[str, Any]:
    await fake.dispatch("INTERACTION_CREATE", payload)
    iid = payload["id"]
    call = await fake.wait_for(lambda: next(
        (c for c in fake.calls_to("interaction_callback") if c.params["iid"] == iid), None), 10)
    return call.body


async def test_seen_note_and_correction_through_discord(fake: FakeDiscord, runtime: DiscordRuntime,
                                                        services: CoreServices):
    first = await _paste(fake)
    embed = first["embeds"][0]
    fingerprint = embed["footer"]["text"].split()[1]
    assert "Team memory" not in _fields(embed)  # the first sighting says nothing more
    second = await _paste(fake)
    assert "Seen 2 times in this team" in _fields(second["embeds"][0])["Team memory"]

    # "Add note": a modal, then its submission adds the note
    click = fake.interaction(None, component=f"sora_note:{fingerprint}", user_id=PASTER,
                             message=second)
    shown = await _callback(fake, click)
    assert shown["type"] == 9 and shown["data"]["title"] == "Add a team note"
    answer = await interact(fake, fake.modal_submit(["Top up the card; fixed in 5 min"]))
    assert ephemeral(answer) and answer["embeds"][0]["title"].startswith("✅ Note added to")

    # the category menu: a plain member who never pasted it may not correct it
    refused = await interact(fake, fake.interaction(
        None, component=f"sora_correct:{fingerprint}", user_id=BYSTANDER, permissions=MEMBER,
        message=second, values=[f"quota|{fingerprint}"]))
    assert ephemeral(refused) and "Not allowed" in refused["embeds"][0]["title"]
    done = await interact(fake, fake.interaction(
        None, component=f"sora_correct:{fingerprint}", user_id=PASTER, permissions=MEMBER,
        message=second, values=[f"quota|{fingerprint}"]))
    assert "is now quota" in done["embeds"][0]["title"]

    third = (await _paste(fake))["embeds"][0]
    fields = _fields(third)
    assert "(quota)" in third["title"] and fields["Category"] == "quota"
    assert "Seen 3 times" in fields["Team memory"]
    assert "corrected to quota by" in fields["Team memory"]
    assert "Top up the card" in fields["Team notes (newest first)"]

    top = await interact(fake, fake.interaction("top", {"window": "1h"}))
    text = str(top["embeds"][0])
    assert fingerprint in text and "quota (corrected) — 3×" in text and "1 note" in text


async def test_note_and_correct_app_commands(fake: FakeDiscord, runtime: DiscordRuntime):
    reply = await _paste(fake)
    fingerprint = reply["embeds"][0]["footer"]["text"].split()[1]
    added = await interact(fake, fake.interaction("note", {"fingerprint": "last",
                                                           "text": "check the org header"},
                                                  user_id=PASTER))
    assert "Note added" in added["embeds"][0]["title"]
    listed = await interact(fake, fake.interaction("note", {"fingerprint": f"`{fingerprint}`"}))
    assert "check the org header" in str(listed["embeds"][0])
    fixed = await interact(fake, fake.interaction("correct", {"fingerprint": fingerprint,
                                                              "category": "auth"},
                                                  user_id=PASTER))
    assert "is now auth" in fixed["embeds"][0]["title"]
    unknown = await interact(fake, fake.interaction("note", {"fingerprint": "fp_0000000000000000"}))
    assert "has not seen" in unknown["embeds"][0]["title"]


async def test_a_select_value_the_menu_does_not_offer_cannot_be_sent(fake: FakeDiscord,
                                                                     runtime: DiscordRuntime):
    import pytest

    reply = await _paste(fake)
    fingerprint = reply["embeds"][0]["footer"]["text"].split()[1]
    with pytest.raises(AssertionError, match="not an option"):
        fake.interaction(None, component=f"sora_correct:{fingerprint}", message=reply,
                         values=[f"unknown|{fingerprint}"])


async def test_two_note_forms_open_at_once_each_add_their_note(fake: FakeDiscord,
                                                               runtime: DiscordRuntime):
    reply = await _paste(fake)
    fingerprint = reply["embeds"][0]["footer"]["text"].split()[1]
    for user in (PASTER, BYSTANDER):
        shown = await _callback(fake, fake.interaction(None, component=f"sora_note:{fingerprint}",
                                                       user_id=user, message=reply))
        assert shown["type"] == 9
    first, second = fake.modals
    assert first.data["custom_id"] != second.data["custom_id"]
    for modal, text in ((first, "from paula"), (second, "from the bystander")):
        answer = await interact(fake, fake.modal_submit([text], modal=modal))
        assert "Note added" in answer["embeds"][0]["title"]
    listed = await interact(fake, fake.interaction("note", {"fingerprint": fingerprint}))
    assert "from paula" in str(listed) and "from the bystander" in str(listed)
