"""End to end through Discord: ``/sora subscribe`` and ``/sora mute`` typed in the (fake) client
→ a spike in the fake Sora API → probes → monitor → outbox → the runtime's DiscordSink → the
fake channel: one alert per subscribed channel, updates as replies with the alert edited,
Acknowledge clicked on it, one "Resolved"; the muted channel gets nothing.

Real discord.py (gateway + REST), real probes (httpx), real monitor and outbox on SQLite; time
is a FakeClock, so minutes pass instantly.
"""

from __future__ import annotations

from typing import Any

from adapters.discord import embeds as em
from adapters.discord.sink import ACTION_ACK
from bot.clock import FakeClock, utcnow
from bot.commands.router import Router
from bot.config import load_settings
from bot.fakes.sora import FakeSoraAPI
from bot.monitor import Monitor
from bot.monitor.service import MonitorService
from bot.notify import DeliveryWorker
from bot.service import CoreServices
from bot.store import open_store
from tests.alerts_support import scheduler_minute
from tests.discord.conftest import interact, started
from tests.discord.fake_discord import MANAGE_CHANNELS, MEMBER, FakeDiscord


def _status(message: dict[str, Any]) -> str:
    return em.field_value(message["embeds"][0], em.STATUS_FIELD) or ""


async def test_spike_alerts_subscribed_channels_once_with_replies_and_edits(fake: FakeDiscord, tmp_path):
    clock = FakeClock(utcnow())
    c1, c2, c3 = (str(fake.channel_id + i) for i in (10, 11, 12))
    with FakeSoraAPI(clock=clock) as sora:
        settings = load_settings(env_file=None, DATABASE_URL=f"sqlite:///{tmp_path / 'core.db'}",
                                 SORA_API_BASE_URL=sora.base_url,
                                 OPENAI_API_KEY="sk-test-" + "k" * 24, PROBE_TIMEOUT=5)
        store = open_store(settings.DATABASE_URL, now=clock)
        store.upgrade()
        monitor = MonitorService(store, Monitor(now=clock), now=clock)
        services = CoreServices(settings, store, now=clock, monitor=monitor)
        rt = await started(fake, tmp_path, Router(services, now=clock))
        try:
            admin = MEMBER | MANAGE_CHANNELS
            for channel in (c1, c2, c3):
                await interact(fake, fake.interaction("subscribe", {"kinds": "incidents"},
                                                      permissions=admin, channel_id=channel))
            await interact(fake, fake.interaction("mute", {"duration": "6h"}, permissions=admin,
                                                  channel_id=c3))
            worker = DeliveryWorker(store, {"discord": rt.sink}, now=clock, rand=lambda: 0.0)

            for _ in range(3):
                await scheduler_minute(services, monitor, worker, clock)
            assert fake.calls_to("create_message") == []  # healthy: silence

            sora.set_mode("server_error")
            fake.fail("create_message", status=429, retry_after=0.1, times=3)  # Discord is busy too
            for _ in range(10):
                await scheduler_minute(services, monitor, worker, clock)
                if fake.posts(c1) and fake.posts(c2):
                    break
            [alert] = fake.posts(c1)
            click = fake.interaction(None, component=ACTION_ACK, user_id=700099, channel_id=c1,
                                     message={**alert, "guild_id": str(fake.guild_id)})
            assert (await interact(fake, click))["type"] == 7  # the fake edits the alert

            sora.set_mode("ok")
            for _ in range(30):
                await scheduler_minute(services, monitor, worker, clock)
                if store.open_incident_count() == 0 and store.next_outbox_due(["discord"]) is None:
                    break
            await worker.drain()

            for channel in (c1, c2):
                messages = fake.posts(channel)
                parents = [m for m in messages if "message_reference" not in m]
                assert len(parents) == 1, [m["content"] for m in messages]
                parent = parents[0]
                replies = [m for m in messages
                           if (m.get("message_reference") or {}).get("message_id") == parent["id"]]
                assert len(replies) == len(messages) - 1 and replies
                assert replies[-1]["embeds"][0]["title"].startswith("✅ Resolved")
                assert sum("Resolved" in r["embeds"][0]["title"] for r in replies) == 1
                assert _status(parent).startswith("✅ Resolved") and parent["components"] == []
                refs = [m["embeds"][0]["footer"]["text"].rsplit("ref ", 1)[1] for m in messages]
                assert len(refs) == len(set(refs))  # no notice twice
            [alert] = [m for m in fake.posts(c1) if "message_reference" not in m]
            assert em.field_value(alert["embeds"][0], em.ACK_FIELD).startswith("✋ Acknowledged by <@700099>")
            assert fake.posts(c3) == []
        finally:
            await rt.close()
            store.close()
