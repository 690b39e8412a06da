"""Fixtures: the fake Slack Web API, the bolt app served by uvicorn on loopback, and a client
that sends *real signed* Slack requests (slash commands, events, interactive payloads)."""

from __future__ import annotations

import json
import time
import urllib.parse
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from slack_sdk.signature import SignatureVerifier
from starlette.applications import Starlette

from adapters.slack.app import EVENTS_PATH, build_slack_app, slack_routes
from bot.web.server import WebServer
from tests.slack.fake_slack import FakeSlack

SIGNING_SECRET = "test-signing-secret"
TEAM = "T111"
CHANNEL = "C111"
USER = "U222"


@dataclass
class Served:
    """The ASGI app served by the bot's own embedded uvicorn (``bot.web.server.WebServer``):
    the socket is bound before ``start`` returns, so nothing waits for readiness."""

    server: WebServer
    url: str

    async def close(self) -> None:
        await self.server.stop()


async def serve(asgi_app: Any) -> Served:
    server = WebServer(asgi_app, host="127.0.0.1", port=0, shutdown_timeout=2)
    await server.start()
    return Served(server, server.url)


@dataclass
class SlackSender:
    """Signs requests like Slack does (v0 HMAC of ``v0:{ts}:{body}``) and times the answer."""

    url: str
    http: httpx.AsyncClient
    fake: FakeSlack
    secret: str = SIGNING_SECRET
    last_elapsed: float = 0.0
    _seq: int = field(default=0)

    def headers(self, body: str, ctype: str, ts: int | None = None, secret: str | None = None
                ) -> dict[str, str]:
        ts_s = str(ts if ts is not None else int(time.time()))
        sig = SignatureVerifier(secret or self.secret).generate_signature(timestamp=ts_s, body=body)
        return {"content-type": ctype, "x-slack-signature": sig, "x-slack-request-timestamp": ts_s}

    async def post(self, body: str, ctype: str, **kw: Any) -> httpx.Response:
        t0 = time.monotonic()
        resp = await self.http.post(self.url + EVENTS_PATH, content=body.encode(),
                                    headers=self.headers(body, ctype, **kw))
        self.last_elapsed = time.monotonic() - t0
        if resp.status_code == 200 and resp.headers.get("content-type", "").startswith("application/json"):
            self.fake.check_ack(resp.json())  # an ack that carries a message is held to its rules
        return resp

    def slash_body(self, text: str, *, user: str = USER, channel: str = CHANNEL, team: str = TEAM,
                   rid: str | None = None) -> str:
        self._seq += 1
        form = {"token": "legacy-verification", "team_id": team, "team_domain": "fake",
                "channel_id": channel, "channel_name": "general", "user_id": user,
                "user_name": user.lower(), "command": "/sora", "text": text,
                "api_app_id": "A111", "is_enterprise_install": "false",
                "response_url": self.fake.response_url(rid or f"cmd{self._seq}"),
                "trigger_id": f"{self._seq}.111.xyz"}
        return urllib.parse.urlencode(form)

    async def slash(self, text: str, **kw: Any) -> httpx.Response:
        channel = kw.get("channel", CHANNEL)
        if channel not in self.fake.channels:  # Slack sends commands only from real channels
            self.fake.add_channel(channel)
        return await self.post(self.slash_body(text, **kw), "application/x-www-form-urlencoded")

    async def event(self, event: dict[str, Any], *, team: str = TEAM) -> httpx.Response:
        self._seq += 1
        body = {"token": "legacy", "team_id": team, "api_app_id": "A111", "type": "event_callback",
                "event_id": f"Ev{self._seq:08d}", "event_time": int(time.time()),
                "authorizations": [{"team_id": team, "user_id": self.fake.bot_user_id,
                                    "is_bot": True, "is_enterprise_install": False}],
                "event": event}
        if event.get("ts") and event.get("channel"):
            self.fake.saw_message(event)  # what Slack tells the app about exists in Slack
        return await self.post(json.dumps(body), "application/json")

    async def action(self, payload: dict[str, Any]) -> httpx.Response:
        body = "payload=" + urllib.parse.quote(json.dumps(payload))
        return await self.post(body, "application/x-www-form-urlencoded")


def message_event(text: str, *, ts: str = "1700000100.000200", user: str = USER,
                  channel: str = CHANNEL, **extra: Any) -> dict[str, Any]:
    return {"type": "message", "channel": channel, "user": user, "text": text, "ts": ts,
            "event_ts": ts, "channel_type": "channel", "team": TEAM, **extra}


def block_action(action_id: str, value: str, *, user: str = USER, channel: str = CHANNEL,
                 message: dict[str, Any] | None = None, rid: str = "act1",
                 fake: FakeSlack) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "type": "block_actions", "team": {"id": TEAM, "domain": "fake"},
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": TEAM},
        "api_app_id": "A111", "token": "legacy", "trigger_id": fake.trigger(user),
        "channel": {"id": channel, "name": "general"},
        "response_url": fake.response_url(rid),
        "actions": [{"type": "button", "action_id": action_id, "block_id": "sora_actions",
                     "value": value, "action_ts": "1700000200.000100",
                     "text": {"type": "plain_text", "text": action_id}}],
    }
    if message is not None:
        payload["message"] = message
        payload["container"] = {"type": "message", "message_ts": message["ts"],
                                "channel_id": channel, "is_ephemeral": False}
    else:
        payload["container"] = {"type": "message", "message_ts": "1700000000.000001",
                                "channel_id": channel, "is_ephemeral": True}
    return payload


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    f = await FakeSlack().start()
    f.add_channel(CHANNEL)
    yield f
    await f.close()
    f.assert_no_rejections()  # nothing was sent that Slack would have refused


@pytest.fixture
def router() -> Any:
    from bot.commands.router import Router

    return Router(None)


@dataclass
class Harness:
    fake: FakeSlack
    sender: SlackSender
    app: Any


async def make_harness(fake: FakeSlack, router: Any, **app_kw: Any) -> tuple[Harness, Served,
                                                                             httpx.AsyncClient]:
    app = build_slack_app(router, bot_token=fake.bot_token, signing_secret=SIGNING_SECRET,
                          api_url=fake.api_url, **app_kw)
    served = await serve(Starlette(routes=slack_routes(app)))
    http = httpx.AsyncClient(timeout=10)
    return Harness(fake, SlackSender(served.url, http, fake), app), served, http


@pytest.fixture
async def slack(fake: FakeSlack, router: Any) -> AsyncIterator[Harness]:
    harness, served, http = await make_harness(fake, router)
    yield harness
    await http.aclose()
    await served.close()


@pytest.fixture
async def slack_sync(fake: FakeSlack, router: Any) -> AsyncIterator[Harness]:
    """The same app with ``process_before_response``: an HTTP answer means the listener is done,
    so "nothing was posted" can be asserted right after the request, without waiting."""
    harness, served, http = await make_harness(fake, router, process_before_response=True)
    yield harness
    await http.aclose()
    await served.close()
