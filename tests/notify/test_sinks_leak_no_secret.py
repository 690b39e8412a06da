"""One check for every sink (Slack, Discord, the JSONL file): no token, and no secret from the
notice, in a ``SendError``, a log line or what the outbox stores, whatever the platform answers.

Modelled on Alertmanager's ``notify/test.AssertNotifyLeaksNoSecret``: each sink is driven into
each way it can fail (its platform's fake refusing the token, rate limiting, answering 5xx, an
error text that echoes the token, a closed port; a path that cannot be written), once directly
and once through the real ``DeliveryWorker`` on a real store, with every logger at DEBUG; the
secrets are then looked for everywhere.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from adapters.discord.sink import DiscordSink
from adapters.slack.client import make_web_client
from adapters.slack.sink import SlackSink
from bot.clock import FakeClock, utcnow
from bot.errors import SendError
from bot.notify import DeliveryWorker, JsonlFileSink, OutboxRow, Sink
from bot.store import open_store
from tests.discord.fake_discord import FakeDiscord
from tests.slack.fake_slack import FakeSlack

PASTED_KEY = "sk-proj-" + "LeakMe0123456789abcdef" * 2  # a secret inside the notice itself
CLOSED_PORT = "http://127.0.0.1:9"


@dataclass
class Case:
    """A sink, what must never show, and how to make its next send fail."""

    sink: Sink
    secrets: list[str]
    break_next: Callable[[], None]
    channel: str
    workspace: str


def _row(case: Case) -> OutboxRow:
    return OutboxRow(id=41, dedupe_key="k41", incident_id=1, seq=1, notice_kind="opened",
                     platform="x", workspace=case.workspace, channel=case.channel,
                     payload={"title": f"key {PASTED_KEY}", "text": f"detail {PASTED_KEY}",
                              "notice": "opened", "severity": "error", "incident_id": 1},
                     thread_id=None, attempts=0, created_at=utcnow())


SLACK_FAILURES: dict[str, dict[str, Any]] = {
    "rate limited": dict(status=429, retry_after=60), "server error": dict(status=503),
    "channel_not_found": dict(error="channel_not_found"), "lost answer": dict(status=500, applied=True),
    "answer without ts": dict(omit="ts"),
}
DISCORD_FAILURES: dict[str, dict[str, Any]] = {
    "rate limited": dict(status=429, retry_after=0), "server error": dict(status=502),
    "missing access": dict(status=403, code=50001, message="Missing Access"),
    "lost answer": dict(status=502, applied=True), "answer without id": dict(omit="id"),
}


@asynccontextmanager
async def slack(failure: str) -> AsyncIterator[Case]:
    fake = await FakeSlack(bot_token="xoxb-4242-leak-slack-token").start()
    try:
        if failure == "wrong token":  # the token the sink holds is the secret Slack refuses
            token, url = "xoxb-9999-wrong-but-secret", fake.api_url
        elif failure == "closed port":
            token, url = fake.bot_token, CLOSED_PORT + "/api/"
        else:
            token, url = fake.bot_token, fake.api_url
        sink = SlackSink(make_web_client(token, url, timeout=2, retry_connection_errors=False))
        yield Case(sink, [token, fake.bot_token, PASTED_KEY],
                   lambda: fake.fail("chat.postMessage", **SLACK_FAILURES[failure])
                   if failure in SLACK_FAILURES else None, fake.add_channel("C1"), "T111")
    finally:
        await fake.close()
        fake.take_rejections()  # refusals are the point here


@asynccontextmanager
async def discord(failure: str) -> AsyncIterator[Case]:
    fake = await FakeDiscord(token="MTA.leak-discord-token.Secret-QQQ").start()
    token = "MTA.wrong-but-secret.Token" if failure == "wrong token" else fake.token
    url = CLOSED_PORT + "/api/v10" if failure == "closed port" else fake.api_url
    sink = DiscordSink(token, url, timeout=2)
    try:
        def arm() -> None:
            if failure == "error text echoes the token":
                fake.fail("create_message", status=400, code=50035, message=f"bad {token} {PASTED_KEY}")
            elif failure in DISCORD_FAILURES:
                fake.fail("create_message", **DISCORD_FAILURES[failure])

        yield Case(sink, [token, fake.token, PASTED_KEY], arm, fake.add_channel(), str(fake.guild_id))
    finally:
        await sink.aclose()
        await fake.close()
        fake.take_rejections()


@asynccontextmanager
async def jsonl(failure: str, tmp_path: Path) -> AsyncIterator[Case]:
    target = tmp_path / "notices.jsonl"
    if failure == "unwritable path":
        target.mkdir()  # a directory where the file should be: every append fails
    yield Case(JsonlFileSink(target), [PASTED_KEY], lambda: None, "term-1", "local")


CASES = ([("slack", f) for f in ("ok", "wrong token", "closed port", *SLACK_FAILURES)]
         + [("discord", f) for f in ("ok", "wrong token", "closed port", "error text echoes the token",
                                     *DISCORD_FAILURES)]
         + [("jsonl", f) for f in ("ok", "unwritable path")])


def _assert_nowhere(secrets: list[str], *texts: str) -> None:
    for secret in secrets:
        for text in texts:
            assert secret not in text, f"{secret[:12]}… leaked: {text[:300]}"


@pytest.mark.parametrize("platform, failure", CASES, ids=[f"{p}-{f}" for p, f in CASES])
async def test_sink_leaks_no_secret(platform: str, failure: str, tmp_path: Path,
                                    caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    opened = {"slack": slack, "discord": discord}.get(platform)
    platform = "shell" if platform == "jsonl" else platform  # the file sink delivers for the shell
    context = opened(failure) if opened else jsonl(failure, tmp_path)
    async with context as case:
        # 1. the sink itself
        case.break_next()
        try:
            await case.sink.send(_row(case))
            error = ""
        except SendError as exc:
            error = f"{exc} {exc!r} {exc.args}"
        try:
            await case.sink.find_existing(_row(case))
        except SendError as exc:
            error += f" {exc} {exc!r}"
        _assert_nowhere(case.secrets, error, repr(case.sink))

        # 2. through the outbox: what the worker logs and what the store keeps
        clock = FakeClock(utcnow())
        store = open_store(f"sqlite:///{tmp_path / 'bot.db'}", now=clock)
        store.upgrade()
        try:
            store.subscribe(platform, case.workspace, case.channel, "all", "U1")
            store.open_incident("outage:openai", "outage", title=f"failing {PASTED_KEY}",
                                detail=f"key {PASTED_KEY} rejected")
            case.break_next()
            await DeliveryWorker(store, {platform: case.sink}, now=clock, rand=lambda: 0.0).drain()
            # what the outbox wrote from the sink's answer (the notice payload is the caller's:
            # the store keeps it as given)
            kept = [f"{r.last_error} {[a.outcome for a in store.attempts_of(r.id)]}"
                    for r in store.outbox_rows()]
        finally:
            store.close()
        _assert_nowhere(case.secrets, caplog.text, *kept)
    if failure != "ok":
        assert error, "the failure under test did not happen"
