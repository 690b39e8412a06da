"""No blocking I/O on the event loop: with 300 ms added to every database call, Slack's ack
still comes back in under a second, and a command from another channel is not held up.

Real bolt app over HTTP (signed requests), real Router, real CoreServices, a real SQLite Store
whose every statement sleeps 300 ms in the thread that runs it (a SQLAlchemy cursor hook): if a
store call ran on the event loop, the loop — which also serves Slack's requests — would stall.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import event

from bot.commands.router import Router
from bot.config import load_settings
from bot.service import CoreServices
from bot.store import open_store
from tests.slack.conftest import Harness, make_harness
from tests.slack.fake_slack import FakeSlack

DB_LATENCY_S = 0.3


@pytest.fixture
async def slow_db_slack(fake: FakeSlack, tmp_path) -> AsyncIterator[tuple[Harness, threading.Event]]:
    url = f"sqlite:///{tmp_path / 'slow.db'}"
    store = open_store(url)
    store.upgrade()
    querying = threading.Event()

    @event.listens_for(store.engine, "before_cursor_execute")
    def _lag(*_args: object) -> None:
        querying.set()
        time.sleep(DB_LATENCY_S)

    services = CoreServices(load_settings(env_file=None, DATABASE_URL=url), store)
    harness, served, http = await make_harness(fake, Router(services))
    yield harness, querying
    await http.aclose()
    await served.close()
    store.close()


async def _loop_lag(stop: asyncio.Event, gaps: list[float]) -> None:
    """The longest the loop went without running us: a blocked loop shows as a big gap."""
    last = time.monotonic()
    while not stop.is_set():
        await asyncio.sleep(0.01)
        now = time.monotonic()
        gaps.append(now - last)
        last = now


async def test_ack_under_a_second_and_other_channels_not_delayed(slow_db_slack):
    h, querying = slow_db_slack
    stop, gaps = asyncio.Event(), []
    lag = asyncio.create_task(_loop_lag(stop, gaps))

    t0 = time.monotonic()
    status = asyncio.create_task(h.sender.slash("status", channel="C_SLOW", rid="slow"))
    await asyncio.to_thread(querying.wait, 5)  # the status command is now inside the database

    t1 = time.monotonic()
    other = await h.sender.slash("help", channel="C_OTHER")
    other_s = time.monotonic() - t1

    acked = await status
    ack_s = time.monotonic() - t0
    stop.set()
    await lag

    assert other.status_code == 200 and "sora-bot help" in other.json()["blocks"][0]["text"]["text"]
    assert other_s < DB_LATENCY_S, f"another channel's /sora help waited {other_s:.2f} s"
    assert acked.status_code == 200 and ack_s < 1.0, f"ack after {ack_s:.2f} s"
    assert acked.json()["text"] == "⏳ Working on it…"  # several slow queries: answered later
    [answer] = await h.fake.wait_calls("response", timeout=30)
    assert answer.path == "/response/slow" and "Sora status" in answer.body["text"]
    assert max(gaps) < DB_LATENCY_S, f"the event loop stalled for {max(gaps):.2f} s"
