"""The operator file's [mentions] on Discord: a critical notice pages the role with ``<@&ID>``
in ``content`` and ``allowed_mentions`` naming that role only (checked by the strict fake
against Discord's schema), through the real outbox.

Only the notice that makes an incident critical pages: the critical opened notice, or the
update that raises it to critical; later updates, parent edits and the resolution never do.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from adapters.discord.runtime import start_discord
from adapters.discord.sink import NO_MENTIONS, DiscordSink
from bot.clock import FakeClock, utcnow
from bot.commands.router import Router
from bot.notify import DeliveryWorker
from bot.notify.testing import drain_until_quiet
from bot.store import open_store
from tests.discord.conftest import discord_settings
from tests.discord.fake_discord import BASE_MS, FakeDiscord, snowflake_at

CHANNEL = str(snowflake_at(BASE_MS + 60_000, 1))
ROLE = str(snowflake_at(BASE_MS + 30_000, 7))
PAGE = f"<@&{ROLE}>"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(utcnow())


@pytest.fixture
def store(tmp_path, clock) -> Iterator[Any]:
    st = open_store(f"sqlite:///{tmp_path / 'sora-bot.db'}", now=clock)
    st.upgrade()
    st.subscribe("discord", "G1", CHANNEL, "all", "U1")
    yield st
    st.close()


@pytest.fixture
async def paging(fake: FakeDiscord) -> AsyncIterator[DiscordSink]:
    fake.add_channel(CHANNEL)
    sink = DiscordSink(fake.token, fake.api_url, timeout=5, mention=ROLE)
    yield sink
    await sink.aclose()


def _pages(body: dict[str, Any]) -> bool:
    pages = body["content"].startswith(PAGE + " ")
    expected = {"parse": [], "roles": [ROLE]} if pages else NO_MENTIONS
    assert body["allowed_mentions"] == expected, body  # nothing else in the text can ping
    return pages


async def test_critical_open_pages_the_role_and_later_notices_do_not(
        fake: FakeDiscord, store: Any, paging: DiscordSink, clock: FakeClock):
    worker = DeliveryWorker(store, {"discord": paging}, now=clock, rand=lambda: 0.0)
    incident = store.open_incident("outage:openai", "outage", title="Sora API failing",
                                   severity="critical", detail="5 of 5 probes failed",
                                   target="openai")
    await drain_until_quiet(worker, store, clock)
    clock.advance(60)
    store.update_incident(incident.id, reason="new evidence", detail="still failing")
    await drain_until_quiet(worker, store, clock)
    clock.advance(60)
    store.resolve_incident(incident.id, detail="healthy again")
    await drain_until_quiet(worker, store, clock)

    creates = [c.body for c in fake.calls_to("create_message")]
    assert [_pages(b) for b in creates] == [True, False, False]
    edits = [c.body for c in fake.calls_to("edit_message")]
    assert len(edits) == 2
    for edit in edits:  # the page stays visible on the parent, and an edit never pings
        assert edit["content"].startswith(PAGE + " ") and edit["allowed_mentions"] == NO_MENTIONS
    fake.assert_no_rejections()


async def test_escalation_to_critical_pages_in_a_reply(fake: FakeDiscord, store: Any,
                                                       paging: DiscordSink, clock: FakeClock):
    worker = DeliveryWorker(store, {"discord": paging}, now=clock, rand=lambda: 0.0)
    incident = store.open_incident("outage:openai", "outage", title="Sora API degraded",
                                   severity="warning", detail="2 of 6 probes failed",
                                   target="openai")
    await drain_until_quiet(worker, store, clock)
    clock.advance(60)
    store.update_incident(incident.id, reason="severity changed", severity="critical",
                          detail="6 of 6 probes failed")
    await drain_until_quiet(worker, store, clock)

    parent, escalated = (c.body for c in fake.calls_to("create_message"))
    assert not _pages(parent)
    assert "message_reference" in escalated and _pages(escalated)
    [edit] = [c.body for c in fake.calls_to("edit_message")]
    assert not edit["content"].startswith(PAGE)  # the parent did not page: its edit does not add it


async def test_without_mentions_configured_nothing_pages(fake: FakeDiscord, store: Any,
                                                          clock: FakeClock):
    fake.add_channel(CHANNEL)
    sink = DiscordSink(fake.token, fake.api_url, timeout=5)
    try:
        worker = DeliveryWorker(store, {"discord": sink}, now=clock, rand=lambda: 0.0)
        store.open_incident("outage:openai", "outage", title="Sora API failing",
                            severity="critical", detail="5 of 5 probes failed", target="openai")
        await drain_until_quiet(worker, store, clock)
    finally:
        await sink.aclose()
    [body] = [c.body for c in fake.calls_to("create_message")]
    assert not _pages(body) and "<@&" not in body["content"]


async def test_start_discord_gives_the_sink_the_files_role(fake: FakeDiscord, tmp_path,
                                                           services):
    """The wiring: the operator file read at start reaches the sink ``start_discord`` builds."""
    (tmp_path / "ops.toml").write_text(f'[mentions]\ndiscord = "{ROLE}"\n')
    settings = discord_settings(fake, tmp_path, SORA_BOT_CONFIG=str(tmp_path / "ops.toml"))
    runtime = await start_discord(settings, Router(services), ready_timeout=10,
                                  guild_ready_timeout=0.05)
    try:
        assert runtime.sink.mention == ROLE
    finally:
        await runtime.close()
