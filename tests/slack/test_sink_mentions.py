"""The operator file's [mentions] on Slack: a critical notice pages the user group (in the
notification ``text`` and in a section block), through the real outbox against the strict fake.

Only the notice that makes an incident critical pages: the critical opened notice, or the
update that raises it to critical; later updates and the resolution never do.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from adapters.slack import blocks as bk
from adapters.slack.client import make_web_client
from adapters.slack.runtime import start_slack
from adapters.slack.sink import SlackSink
from bot.clock import FakeClock, utcnow
from bot.config import load_settings
from bot.notify import DeliveryWorker
from bot.notify.testing import drain_until_quiet
from bot.store import open_store
from tests.slack.fake_slack import FakeSlack

TEAM = "T111"
GROUP = "S0123ABC"
PAGE = "<!subteam^S0123ABC>"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(utcnow())


@pytest.fixture
def store(tmp_path, clock) -> Iterator[Any]:
    st = open_store(f"sqlite:///{tmp_path / 'sora-bot.db'}", now=clock)
    st.upgrade()
    st.subscribe("slack", TEAM, "C1", "all", "U1")
    yield st
    st.close()


def _sink(fake: FakeSlack, mention: str | None) -> SlackSink:
    fake.add_channel("C1")
    return SlackSink(make_web_client(fake.bot_token, fake.api_url, retry_connection_errors=False),
                     mention=mention)


def _pages(message: dict[str, Any]) -> bool:
    in_text = message["text"].startswith(PAGE + " ")
    in_blocks = [b for b in message["blocks"] if b.get("block_id") == bk.MENTION_BLOCK_ID]
    assert in_text == bool(in_blocks), message  # both or neither
    if in_blocks:
        assert in_blocks[0]["text"] == {"type": "mrkdwn", "text": PAGE}
        assert message["blocks"][0]["type"] == "header"  # the page comes right under it
        assert message["blocks"][1] is in_blocks[0]
    return in_text


async def test_critical_open_pages_the_group_and_later_notices_do_not(fake: FakeSlack, store: Any,
                                                                      clock: FakeClock):
    worker = DeliveryWorker(store, {"slack": _sink(fake, GROUP)}, now=clock, rand=lambda: 0.0)
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

    [parent, update, resolved] = fake.posts("C1")
    assert [_pages(m) for m in (parent, update, resolved)] == [True, False, False]
    # the parent's edits keep the page visible (an edit notifies nobody again)
    [parent] = [m for m in fake.posts("C1") if "thread_ts" not in m]
    assert any(b.get("block_id") == bk.MENTION_BLOCK_ID for b in parent["blocks"])
    fake.assert_no_rejections()


async def test_escalation_to_critical_pages_in_the_thread(fake: FakeSlack, store: Any,
                                                          clock: FakeClock):
    worker = DeliveryWorker(store, {"slack": _sink(fake, GROUP)}, now=clock, rand=lambda: 0.0)
    incident = store.open_incident("outage:openai", "outage", title="Sora API degraded",
                                   severity="warning", detail="2 of 6 probes failed",
                                   target="openai")
    await drain_until_quiet(worker, store, clock)
    clock.advance(60)
    store.update_incident(incident.id, reason="severity changed", severity="critical",
                          detail="6 of 6 probes failed")
    await drain_until_quiet(worker, store, clock)

    [parent, escalated] = fake.posts("C1")
    assert not _pages(parent)
    assert escalated["thread_ts"] == parent["ts"] and _pages(escalated)


async def test_without_mentions_configured_nothing_pages(fake: FakeSlack, store: Any,
                                                          clock: FakeClock):
    worker = DeliveryWorker(store, {"slack": _sink(fake, None)}, now=clock, rand=lambda: 0.0)
    store.open_incident("outage:openai", "outage", title="Sora API failing", severity="critical",
                        detail="5 of 5 probes failed", target="openai")
    await drain_until_quiet(worker, store, clock)
    [parent] = fake.posts("C1")
    assert not _pages(parent) and "subteam" not in str(parent)


async def test_start_slack_gives_the_sink_the_files_group(fake: FakeSlack, router, tmp_path,
                                                          monkeypatch):
    """The wiring: the operator file read at start reaches the sink ``start_slack`` builds."""
    (tmp_path / "ops.toml").write_text(f'[mentions]\nslack = "{GROUP}"\n')
    settings = load_settings(env_file=None, SLACK_BOT_TOKEN=fake.bot_token,
                             SLACK_SIGNING_SECRET="secret", SLACK_API_URL=fake.api_url,
                             SORA_BOT_CONFIG=str(tmp_path / "ops.toml"))
    runtime = await start_slack(settings, router)
    try:
        assert runtime.sink.mention == GROUP
    finally:
        await runtime.close()
