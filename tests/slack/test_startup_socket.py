"""Start-up checks (one clear line, no token) and Socket Mode through a loopback websocket."""

from __future__ import annotations

import json
import uuid

import pytest

from adapters.slack.app import build_slack_app, start_socket_mode
from adapters.slack.client import check_auth, check_mode, make_web_client
from adapters.slack.runtime import start_slack
from bot.config import load_settings
from bot.errors import ConfigError
from tests.slack.conftest import CHANNEL, TEAM, USER, message_event
from tests.slack.fake_slack import FakeSlack, FakeSocketMode

SEED = ('{"error":{"code":"invalid_request","message":"Unable to process request",'
        '"param":null,"type":"invalid_request_error"}}')


@pytest.mark.parametrize("kw, names", [
    (dict(bot_token=None, app_token=None, signing_secret="s"), "SLACK_BOT_TOKEN"),
    (dict(bot_token="xapp-1-nope", app_token=None, signing_secret="s"), "SLACK_BOT_TOKEN"),
    (dict(bot_token="xoxb-1", app_token=None, signing_secret=None), "SLACK_SIGNING_SECRET"),
    (dict(bot_token="xoxb-1", app_token="xoxb-2", signing_secret=None), "SLACK_APP_TOKEN"),
])
def test_bad_combinations_fail_with_one_line_naming_the_setting(kw, names):
    with pytest.raises(ConfigError) as err:
        check_mode(**kw)
    message = str(err.value)
    assert names in message and "\n" not in message
    for value in kw.values():
        if value and value != "s":
            assert value not in message


def test_modes():
    assert check_mode(bot_token="xoxb-1", app_token="xapp-1", signing_secret=None) == "socket"
    assert check_mode(bot_token="xoxb-1", app_token=None, signing_secret="s") == "http"


async def test_rejected_bot_token_is_a_config_error_without_the_token(fake: FakeSlack):
    bad = "xoxb-9999-badbadbadbad"
    with pytest.raises(ConfigError) as err:
        await check_auth(make_web_client(bad, fake.api_url))
    assert "SLACK_BOT_TOKEN" in str(err.value) and "invalid_auth" in str(err.value)
    assert bad not in str(err.value) and "\n" not in str(err.value)
    info = await check_auth(make_web_client(fake.bot_token, fake.api_url))
    assert info["team_id"] == TEAM and info["user_id"] == fake.bot_user_id


async def test_unreachable_api_url_is_a_config_error():
    with pytest.raises(ConfigError) as err:
        await check_auth(make_web_client("xoxb-1-x", "http://127.0.0.1:9/api/", timeout=2))
    assert "SLACK_API_URL" in str(err.value)


async def test_start_slack_http_mode_from_settings(fake: FakeSlack, router):
    settings = load_settings(env_file=None, SLACK_BOT_TOKEN=fake.bot_token,
                             SLACK_SIGNING_SECRET="secret", SLACK_API_URL=fake.api_url)
    runtime = await start_slack(settings, router)
    try:
        assert runtime.mode == "http" and [r.path for r in runtime.routes] == ["/slack/events"]
        assert runtime.socket is None and runtime.auth["team_id"] == TEAM
        assert len(fake.calls_to("auth.test")) == 1
    finally:
        await runtime.close()


async def test_start_slack_fails_fast_on_a_bad_token(fake: FakeSlack, router):
    settings = load_settings(env_file=None, SLACK_BOT_TOKEN="xoxb-0-wrong",
                             SLACK_SIGNING_SECRET="secret", SLACK_API_URL=fake.api_url)
    with pytest.raises(ConfigError, match="SLACK_BOT_TOKEN"):
        await start_slack(settings, router)


async def test_rejected_app_token_names_slack_app_token(fake: FakeSlack, router):
    app = build_slack_app(router, bot_token=fake.bot_token, signing_secret=None, api_url=fake.api_url)
    with pytest.raises(ConfigError, match="SLACK_APP_TOKEN") as err:
        await start_socket_mode(app, "xapp-1-wrong-token", fake.api_url)
    assert "xapp-1-wrong-token" not in str(err.value)


def _slash_envelope(text: str, fake: FakeSlack, rid: str) -> dict:
    return {"envelope_id": str(uuid.uuid4()), "type": "slash_commands", "accepts_response_payload": True,
            "payload": {"token": "legacy", "team_id": TEAM, "team_domain": "fake", "channel_id": CHANNEL,
                        "channel_name": "general", "user_id": USER, "user_name": "u", "command": "/sora",
                        "text": text, "api_app_id": "A111", "response_url": fake.response_url(rid),
                        "trigger_id": "1.2.3"}}


async def test_socket_mode_slash_command_and_paste(fake: FakeSlack, router):
    ws = await FakeSocketMode(fake).start()
    fake.ws_url = ws.url
    settings = load_settings(env_file=None, SLACK_BOT_TOKEN=fake.bot_token,
                             SLACK_APP_TOKEN=fake.app_token, SLACK_API_URL=fake.api_url)
    runtime = await start_slack(settings, router)
    try:
        assert runtime.mode == "socket" and runtime.routes == []
        [opened] = fake.calls_to("apps.connections.open")
        assert opened.token == fake.app_token  # the app-level token, not the bot token

        envelope = _slash_envelope("help", fake, "sock1")
        await ws.send(envelope)
        ack = await ws.ack_for(envelope["envelope_id"], timeout=3.0)
        assert ack["payload"]["response_type"] == "ephemeral"
        assert "sora-bot help" in ack["payload"]["blocks"][0]["text"]["text"]
        assert ack["payload"]["text"]

        probe = _slash_envelope("probe", fake, "sock2")
        await ws.send(probe)
        ack = await ws.ack_for(probe["envelope_id"], timeout=3.0)
        assert ack["payload"]["text"] == "⏳ Running probes…"
        [reply] = await fake.wait_calls("response")
        assert reply.path == "/response/sock2" and reply.body["blocks"][0]["type"] == "header"

        event = {"envelope_id": str(uuid.uuid4()), "type": "events_api", "accepts_response_payload": False,
                 "payload": {"team_id": TEAM, "api_app_id": "A111", "type": "event_callback",
                             "event_id": "Ev1", "event_time": 1700000000,
                             "event": message_event(SEED, ts="1700000300.000100")}}
        fake.saw_message(event["payload"]["event"])  # the message the event is about is in Slack
        await ws.send(event)
        assert (await ws.ack_for(event["envelope_id"]))["envelope_id"] == event["envelope_id"]
        [post] = await fake.wait_calls("chat.postMessage")
        assert post.body["thread_ts"] == "1700000300.000100"
        assert "risk_control" in json.dumps(post.body["blocks"])
    finally:
        await runtime.close()
        await ws.close()
