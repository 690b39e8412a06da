"""Slash commands and buttons that reach the core: the real Router over real CoreServices
(SQLite store, probes against the loopback fake Sora API), through signed HTTP requests.

Covers status (ephemeral + Share, public), probe after the ack, subscribe/unsubscribe/mute with
and without permission (members, SLACK_ADMIN_USERS, SLACK_ADMIN_GROUP, workspace admins), the
Mute 1 h button, and data keyed by team id.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from adapters.slack import blocks as bk
from bot.clock import utcnow
from bot.commands.router import Router
from bot.config import load_settings
from bot.fakes.sora import FakeSoraAPI
from bot.service import CoreServices
from bot.store import open_store
from tests.slack.conftest import CHANNEL, TEAM, USER, Harness, block_action, make_harness
from tests.slack.fake_slack import FakeSlack

ADMIN = "UADMIN"


@pytest.fixture
def sora() -> Iterator[FakeSoraAPI]:
    with FakeSoraAPI() as api:
        yield api


@pytest.fixture
def services(tmp_path, sora) -> Iterator[CoreServices]:
    settings = load_settings(env_file=None, DATABASE_URL=f"sqlite:///{tmp_path / 'bot.db'}",
                             SORA_API_BASE_URL=sora.base_url, OPENAI_API_KEY="sk-test-" + "k" * 24,
                             PROBE_TIMEOUT=5)
    store = open_store(settings.DATABASE_URL)
    store.upgrade()
    yield CoreServices(settings, store)
    store.close()


async def _harness(fake: FakeSlack, services: CoreServices, **kw: Any) -> AsyncIterator[Harness]:
    h, served, http = await make_harness(fake, Router(services), **kw)
    try:
        yield h
    finally:
        await http.aclose()
        await served.close()


@pytest.fixture
async def slack(fake: FakeSlack, services: CoreServices) -> AsyncIterator[Harness]:
    async for h in _harness(fake, services):
        yield h


@pytest.fixture
async def guarded(fake: FakeSlack, services: CoreServices) -> AsyncIterator[Harness]:
    """SLACK_ADMIN_USERS=UADMIN and SLACK_ADMIN_GROUP=S1 (members: U333)."""
    fake.groups["S1"] = ["U333"]
    async for h in _harness(fake, services, admin_users={ADMIN}, admin_group="S1"):
        yield h


def _title(body: dict[str, Any]) -> str:
    return body["blocks"][0]["text"]["text"]


def _action_ids(body: dict[str, Any]) -> list[str]:
    return [e["action_id"] for b in body["blocks"] if b["type"] == "actions" for e in b["elements"]]


async def test_status_is_ephemeral_with_a_share_button(slack: Harness):
    resp = await slack.sender.slash("status")
    assert resp.status_code == 200 and slack.sender.last_elapsed < 3
    body = resp.json()
    assert body["response_type"] == "ephemeral" and _title(body).startswith("ℹ️ Sora status")
    assert _action_ids(body) == [bk.ACTION_SHARE]
    assert "Probes" in body["text"]


async def test_status_public_posts_in_channel_without_share(slack: Harness):
    body = (await slack.sender.slash("status public")).json()
    assert body["response_type"] == "in_channel" and _action_ids(body) == []


async def test_share_button_posts_status_in_channel_and_says_who(slack: Harness):
    await slack.sender.action(block_action(bk.ACTION_SHARE, "status public", fake=slack.fake, rid="share"))
    [resp] = await slack.fake.wait_calls("response")
    body = resp.body
    assert resp.path == "/response/share"
    assert body["response_type"] == "in_channel" and body["replace_original"] is False
    assert f"Shared by <@{USER}>" in str(body["blocks"]) and bk.ACTION_SHARE not in str(body["blocks"])


async def test_probe_runs_after_the_ack_against_the_api(slack: Harness, sora: FakeSoraAPI):
    resp = await slack.sender.slash("probe")
    assert resp.json()["text"] == "⏳ Running probes…" and slack.sender.last_elapsed < 3
    [answer] = await slack.fake.wait_calls("response", timeout=15)
    assert "probes" in _title(answer.body).lower() and answer.body["response_type"] == "ephemeral"
    assert "openai/" in answer.body["text"]


async def test_member_can_subscribe_and_unsubscribe_without_admin_config(slack: Harness,
                                                                       services: CoreServices):
    body = (await slack.sender.slash("subscribe incidents")).json()
    assert "Subscribed" in _title(body) and body["response_type"] == "in_channel"
    sub = services.store.get_subscription("slack", TEAM, CHANNEL)
    assert sub is not None and sub.kinds == "incidents"
    body = (await slack.sender.slash("unsubscribe")).json()
    assert "Unsubscribed" in _title(body)
    assert services.store.get_subscription("slack", TEAM, CHANNEL) is None
    assert slack.fake.calls_to("users.info") == []  # no admin config: no lookups


async def test_subscriptions_are_keyed_by_team(slack: Harness, services: CoreServices):
    await slack.sender.slash("subscribe", team="T222")
    assert services.store.get_subscription("slack", "T222", CHANNEL) is not None
    assert services.store.get_subscription("slack", TEAM, CHANNEL) is None


@pytest.mark.parametrize("user, allowed", [
    ("U222", False),     # a plain member
    (ADMIN, True),       # in SLACK_ADMIN_USERS
    ("U333", True),      # in the SLACK_ADMIN_GROUP user group
    ("U444", True),      # a workspace admin (users.info is_admin)
])
async def test_manage_commands_with_admin_config(guarded: Harness, services: CoreServices,
                                                 user: str, allowed: bool):
    guarded.fake.admins.add("U444")
    for text in ("subscribe", "mute 30m", "unsubscribe"):
        body = (await guarded.sender.slash(text, user=user)).json()
        assert ("Not allowed" in _title(body)) is (not allowed), (text, _title(body))
    muted = services.store.active_mute("slack", TEAM, CHANNEL, utcnow())
    assert (muted is not None) is allowed
    if user == ADMIN:
        assert guarded.fake.calls_to("users.info") == []


async def test_not_allowed_reply_is_ephemeral(guarded: Harness):
    body = (await guarded.sender.slash("subscribe", user="U222")).json()
    assert body["response_type"] == "ephemeral"


async def test_mute_button_edits_parent_with_who_muted(slack: Harness, services: CoreServices):
    from bot.commands.reply import Reply, Severity, ack_action, mute_action

    slack.fake.members[CHANNEL] = [USER]
    message = {"type": "message", "ts": "1700000500.000100", "text": "Sora API failing",
               "user": slack.fake.bot_user_id, "bot_id": slack.fake.bot_id,
               "blocks": bk.alert_blocks(Reply(title="Sora API failing", severity=Severity.CRITICAL,
                                               actions=(ack_action(1), mute_action())), "🔴 Open")}
    slack.fake.messages[CHANNEL] = [message]
    await slack.sender.action(block_action(bk.ACTION_MUTE_1H, "mute 1h", message=message,
                                           fake=slack.fake))
    [update] = await slack.fake.wait_calls("chat.update")
    line = [b for b in update.body["blocks"] if b.get("block_id") == bk.MUTE_BLOCK_ID]
    assert line and f"Muted for 1h by <@{USER}>" in line[0]["elements"][0]["text"]
    mute = services.store.active_mute("slack", TEAM, CHANNEL, utcnow())
    assert mute is not None and mute.created_by == USER


async def test_history_lists_incidents(slack: Harness, services: CoreServices):
    services.store.open_incident("outage:openai", "outage", title="Sora API failing")
    body = (await slack.sender.slash("history")).json()
    assert "Sora API failing" in body["text"]


async def test_a_known_problem_is_one_line_and_commands_are_read_in_any_case(slack: Harness):
    """Issue 11 on Slack: `/sora probe nope` is one line naming the problem; `/sora HELP` is help."""
    assert (await slack.sender.slash("probe nope")).json()["text"] == "⏳ Running probes…"
    [answer] = await slack.fake.wait_calls("response", timeout=15)
    assert _title(answer.body) == "❌ Unknown probe target 'nope'; configured: openai"
    assert len(answer.body["blocks"]) == 1 and "Something went wrong" not in answer.body["text"]
    assert "sora-bot help" in _title((await slack.sender.slash("HELP")).json())
