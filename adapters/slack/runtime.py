"""The Slack ``Adapter``: started by ``sora-bot run`` when SLACK_BOT_TOKEN is set.

Order matters for one-line failures at boot: settings combination first (no network), then
``auth.test`` with the bot token, then Socket Mode's ``apps.connections.open``. Each failure is
a ConfigError naming the setting to fix; no token ever appears in it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from slack_bolt.async_app import AsyncApp
from starlette.routing import Route

from adapters.slack.app import SocketModeHandle, build_slack_app, slack_routes, start_socket_mode
from adapters.slack.client import check_auth, check_mode, make_web_client
from adapters.slack.sink import SlackSink
from bot.commands.model import CHANNEL
from bot.commands.router import Router
from bot.config import Settings, secret_value
from bot.platform import AdapterContext, Started

log = logging.getLogger(__name__)


@dataclass
class SlackRuntime:
    """The running adapter: mount ``routes`` on the web app (HTTP mode), register ``sink`` for
    platform "slack" with the outbox, ``await close()`` at shutdown."""

    app: AsyncApp
    mode: str  # "http" | "socket"
    sink: SlackSink
    auth: dict[str, Any]
    routes: list[Route] = field(default_factory=list)
    socket: SocketModeHandle | None = None

    async def close(self) -> None:
        if self.socket is not None:
            await self.socket.close()
            self.socket = None


async def start_slack(settings: Settings, router: Router) -> SlackRuntime:
    bot_token = secret_value(settings.SLACK_BOT_TOKEN)
    app_token = secret_value(settings.SLACK_APP_TOKEN)
    signing_secret = secret_value(settings.SLACK_SIGNING_SECRET)
    mode = check_mode(bot_token=bot_token, app_token=app_token, signing_secret=signing_secret)
    assert bot_token is not None  # check_mode raised otherwise
    api_url = settings.SLACK_API_URL
    client = make_web_client(bot_token, api_url)
    auth = await check_auth(client)
    app = build_slack_app(router, bot_token=bot_token, signing_secret=signing_secret, api_url=api_url,
                          admin_users=settings.slack_admin_users,
                          admin_group=settings.SLACK_ADMIN_GROUP, client=client)
    # The sink's client does not retry connection errors by itself: a re-sent post after a lost
    # answer could duplicate a notice; the outbox reconciles with find_existing instead.
    sink = SlackSink(make_web_client(bot_token, api_url, retry_connection_errors=False),
                     mention=settings.operator_config().mentions.slack)
    runtime = SlackRuntime(app=app, mode=mode, sink=sink, auth=auth)
    if mode == "socket":
        assert app_token is not None
        runtime.socket = await start_socket_mode(app, app_token, api_url)
    else:
        runtime.routes = slack_routes(app, signing_secret=signing_secret)
    log.info("slack: connected to team %s as %s (%s mode)", auth.get("team_id"), auth.get("user"), mode)
    return runtime


class SlackPlatform:
    """Slack as an ``Adapter``: HTTP mode (routes on the web app) or Socket Mode."""

    name = "slack"
    fallback = False
    uses_terminal = False
    surface = CHANNEL

    def enabled(self, settings: Settings) -> bool:
        return settings.SLACK_BOT_TOKEN is not None

    async def start(self, ctx: AdapterContext) -> Started:
        slack = await start_slack(ctx.settings, ctx.router)
        return Started(sink=slack.sink, routes=slack.routes, close=slack.close)
