"""Team memory through the real bolt app over signed HTTP, against the strict Slack fake:

a second paste says "Seen 2 times"; "Add note" opens a modal with ``views.open`` (a fresh
trigger_id, once) and its ``view_submission`` adds the note to the next diagnosis; the category
``static_select`` corrects the kind for the person who pasted it, not for a plain member; ``/sora
top`` lists the kind; another workspace sees none of it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from adapters.slack.app import NOTE_INPUT, NOTE_MODAL
from bot.commands.router import Router
from bot.config import load_settings
from bot.service import CoreServices
from bot.store import open_store
from tests.slack.conftest import CHANNEL, TEAM, USER, Harness, block_action, make_harness, message_event
from tests.slack.fake_slack import FakeSlack
from tests.slack.test_http_app import SEED

BYSTANDER = "U333"
ADMIN = "UADMIN"


@pytest.fixture
def services(tmp_path) -> Iterator[CoreServices]:
    settings = load_settings(env_file=None, DATABASE_URL=f"sqlite:///{tmp_path / 'bot.db'}")
    store = open_store(settings.DATABASE_URL)
    store.upgrade()
    yield CoreServices(settings, store)
    store.close()


@pytest.fixture
async def slack(fake: FakeSlack, services: CoreServices) -> AsyncIterator[Harness]:
    # an admin list: rights are not every member's, so the paster's own right is what counts
    fake.members[CHANNEL] = [USER, BYSTANDER]
    h, served, http = await make_harness(fake, Router(services), admin_users={ADMIN},
                                         process_before_response=True)
    yield h
    await http.aclose()
    await served.close()


def _text(blocks: list[dict[str, Any]]) -> str:
    return str(blocks)


async def _paste(h: Harness, n: int) -> dict[str, Any]:
    """Paste SEED as USER (message ``n``); return the bot's thread reply as Slack stores it."""
    ts = f"1700000100.{n:06d}"
    await h.sender.event(message_event(SEED, ts=ts))
    [reply] = [m for m in h.fake.posts(CHANNEL) if m.get("thread_ts") == ts]
    return reply


def _fingerprint(reply: dict[str, Any]) -> str:
    context = next(b for b in reply["blocks"] if b["type"] == "context")
    return context["elements"][0]["text"].split()[1]


async def test_seen_note_and_correction_through_slack(slack: Harness):
    h = slack
    first = await _paste(h, 1)
    fp = _fingerprint(first)
    assert "Team memory" not in _text(first["blocks"])
    second = await _paste(h, 2)
    assert "Seen 2 times in this team" in _text(second["blocks"])

    # "Add note" → views.open with the click's trigger_id → the submission adds the note
    await h.sender.action(block_action("sora_note", fp, message=second, fake=h.fake))
    [opened] = h.fake.calls_to("views.open")
    [(view_id, view)] = list(h.fake.views.items())
    assert view.view["callback_id"] == NOTE_MODAL and view.user == USER
    await h.sender.action(h.fake.submission(view_id, {NOTE_INPUT: "Top up the card; fixed in 5 min"}))
    [answer] = h.fake.calls_to("chat.postEphemeral")
    assert answer.body["user"] == USER and answer.body["thread_ts"] == second["thread_ts"]
    assert "Note added" in answer.body["text"]

    # the category menu: a member who did not paste it may not; the paster may
    def choose(user: str, rid: str) -> dict[str, Any]:
        payload = block_action("sora_correct", "", user=user, message=second, fake=h.fake, rid=rid)
        payload["actions"] = [h.fake.menu_choice(second, "sora_correct", f"quota|{fp}")]
        return payload

    await h.sender.action(choose(BYSTANDER, "no"))
    await h.sender.action(choose(USER, "yes"))
    refused, done = [c.body for c in h.fake.calls_to("response")]
    assert "Not allowed" in refused["text"] and refused["response_type"] == "ephemeral"
    assert "is now quota" in done["text"]

    third = await _paste(h, 3)
    text = _text(third["blocks"])
    assert "(quota)" in third["blocks"][0]["text"]["text"]
    assert "Seen 3 times in this team" in text and "corrected to quota by" in text
    assert "Top up the card" in text

    top = (await h.sender.slash("top 1h")).json()
    assert fp in top["text"] and "quota (corrected) — 3×" in top["text"]
    assert "1 note" in top["text"]

    # another workspace: none of it
    other = (await h.sender.slash("top 7d", team="T222")).json()
    assert "No errors" in other["text"]
    listed = (await h.sender.slash(f"note {fp}", team="T222")).json()
    assert "has not seen" in listed["text"]
    assert TEAM != "T222"


async def test_a_menu_value_slack_does_not_offer_cannot_be_chosen(slack: Harness):
    reply = await _paste(slack, 4)
    with pytest.raises(AssertionError, match="not an option"):
        slack.fake.menu_choice(reply, "sora_correct", f"unknown|{_fingerprint(reply)}")
