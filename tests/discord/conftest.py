"""Fixtures: the fake Discord (REST + gateway on loopback), and the real discord.py client
started by ``start_discord`` against it, over the real Router (and real CoreServices over a
temp SQLite store, with probes against the loopback fake Sora API, where a command needs them)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from adapters.discord.runtime import DiscordRuntime, start_discord
from bot.commands.router import Router
from bot.config import Settings, load_settings
from bot.fakes.sora import FakeSoraAPI
from bot.service import CoreServices
from bot.store import open_store
from tests.discord.fake_discord import FakeDiscord


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    f = await FakeDiscord().start()
    yield f
    await f.close()
    f.assert_no_rejections()  # nothing was sent that Discord would have refused


def discord_settings(fake: FakeDiscord, tmp_path: Any, **extra: Any) -> Settings:
    values: dict[str, Any] = {"DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
                              "DISCORD_TOKEN": fake.token, "DISCORD_API_URL": fake.api_url,
                              "DISCORD_GATEWAY_URL": fake.gateway_url, **extra}
    return load_settings(env_file=None, **values)


@pytest.fixture
def sora() -> Iterator[FakeSoraAPI]:
    with FakeSoraAPI() as api:
        yield api


@pytest.fixture
def services(tmp_path: Any, sora: FakeSoraAPI) -> Iterator[CoreServices]:
    settings = load_settings(env_file=None, DATABASE_URL=f"sqlite:///{tmp_path / 'core.db'}",
                             SORA_API_BASE_URL=sora.base_url, OPENAI_API_KEY="sk-test-" + "k" * 24,
                             PROBE_TIMEOUT=5)
    store = open_store(settings.DATABASE_URL)
    store.upgrade()
    yield CoreServices(settings, store)
    store.close()


async def started(fake: FakeDiscord, tmp_path: Any, router: Any, **kw: Any) -> DiscordRuntime:
    return await start_discord(discord_settings(fake, tmp_path), router, ready_timeout=10,
                               guild_ready_timeout=0.05, **kw)


@pytest.fixture
async def runtime(fake: FakeDiscord, tmp_path: Any, services: CoreServices
                  ) -> AsyncIterator[DiscordRuntime]:
    rt = await started(fake, tmp_path, Router(services))
    yield rt
    await rt.close()


EPHEMERAL = 64  # message flag


async def interact(fake: FakeDiscord, payload: dict[str, Any], timeout: float = 10.0
                   ) -> dict[str, Any]:
    """Dispatch an INTERACTION_CREATE and return what the user sees: the callback's message
    (type 4/7), or, after a deferral (type 5), the followup, with ``deferred`` and ``flags``
    as set by the callback."""
    iid = payload["id"]
    await fake.dispatch("INTERACTION_CREATE", payload)

    def callback() -> Any:
        return next((c for c in fake.calls_to("interaction_callback") if c.params["iid"] == iid), None)

    call = await fake.wait_for(callback, timeout)
    body = call.body
    if body["type"] in (4, 7):
        return {"type": body["type"], "deferred": False, **body.get("data", {})}
    assert body["type"] == 5, body
    token = payload["token"]

    def followup() -> Any:
        return next((c for c in fake.calls_to("followup") if c.params["itoken"] == token), None)

    follow = await fake.wait_for(followup, timeout)
    flags = int((body.get("data") or {}).get("flags") or 0)
    return {"type": 5, "deferred": True, "defer_flags": flags, **follow.body}


def ephemeral(answer: dict[str, Any]) -> bool:
    flags = answer.get("defer_flags") if answer.get("deferred") else answer.get("flags")
    return bool(int(flags or 0) & EPHEMERAL)


def custom_ids(answer: dict[str, Any]) -> list[str]:
    return [c["custom_id"] for row in answer.get("components") or [] for c in row["components"]]
