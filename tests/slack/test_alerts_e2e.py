"""End to end: a spike in the fake Sora API → probes → monitor → outbox → SlackSink → fake Slack.

Real probes (httpx) against the loopback Sora API, the real monitor and outbox on SQLite, the
real Slack client against the fake Web API. Time is a FakeClock, so minutes pass instantly.
"""

from __future__ import annotations

from datetime import timedelta

from adapters.slack import blocks as bk
from adapters.slack.client import make_web_client
from adapters.slack.sink import SlackSink
from bot.clock import FakeClock, utcnow
from bot.config import load_settings
from bot.fakes.sora import FakeSoraAPI
from bot.monitor import Monitor
from bot.monitor.service import MonitorService
from bot.notify import DeliveryWorker
from bot.service import CoreServices
from bot.store import open_store
from tests.alerts_support import scheduler_minute
from tests.slack.fake_slack import FakeSlack

TEAM = "T111"


async def test_spike_gives_one_thread_per_channel_and_mutes_hold(fake: FakeSlack, tmp_path):
    clock = FakeClock(utcnow())
    with FakeSoraAPI(clock=clock) as sora:
        settings = load_settings(env_file=None, DATABASE_URL=f"sqlite:///{tmp_path / 'bot.db'}",
                                 SORA_API_BASE_URL=sora.base_url,
                                 OPENAI_API_KEY="sk-test-" + "k" * 24, PROBE_TIMEOUT=5)
        store = open_store(settings.DATABASE_URL, now=clock)
        store.upgrade()
        try:
            for channel in ("C1", "C2", "C3"):
                fake.add_channel(channel)
                store.subscribe("slack", TEAM, channel, "all", "U1")
            store.mute("slack", TEAM, "C3", clock() + timedelta(hours=6), "U1")
            monitor = MonitorService(store, Monitor(now=clock), now=clock)
            services = CoreServices(settings, store, now=clock, monitor=monitor)
            sink = SlackSink(make_web_client(fake.bot_token, fake.api_url,
                                             retry_connection_errors=False))
            worker = DeliveryWorker(store, {"slack": sink}, now=clock, rand=lambda: 0.0)

            for _ in range(3):
                await scheduler_minute(services, monitor, worker, clock)
            assert fake.posts() == []  # healthy: silence

            sora.set_mode("server_error")
            fake.fail("chat.postMessage", status=429, retry_after=0, times=3)  # Slack is busy too
            for _ in range(10):
                await scheduler_minute(services, monitor, worker, clock)
                if all(fake.posts(c) for c in ("C1", "C2")):
                    break
            sora.set_mode("ok")
            for _ in range(30):
                await scheduler_minute(services, monitor, worker, clock)
                if store.open_incident_count() == 0 and store.next_outbox_due(["slack"]) is None:
                    break
            await worker.drain()

            for channel in ("C1", "C2"):
                messages = fake.posts(channel)
                parents = [m for m in messages if "thread_ts" not in m]
                assert len(parents) == 1, [m["text"] for m in messages]
                parent = parents[0]
                replies = [m for m in messages if m.get("thread_ts") == parent["ts"]]
                assert len(replies) == len(messages) - 1
                assert replies and replies[-1]["blocks"][0]["text"]["text"].startswith("✅ Resolved")
                assert sum("Resolved" in r["blocks"][0]["text"]["text"] for r in replies) == 1
                [status] = [b for b in parent["blocks"] if b.get("block_id") == bk.STATUS_BLOCK_ID]
                assert status["elements"][0]["text"].startswith("✅ Resolved")
                ids = [m["metadata"]["event_payload"]["outbox_id"] for m in messages]
                assert len(ids) == len(set(ids))  # no notice twice
            assert fake.posts("C3") == []
        finally:
            store.close()
