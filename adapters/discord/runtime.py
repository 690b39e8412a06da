"""The Discord ``Adapter``: started by ``sora-bot run`` when DISCORD_TOKEN is set.

Order matters for one-line failures at boot:

1. ``DISCORD_API_URL`` / ``DISCORD_GATEWAY_URL`` are applied (discord.py reads its REST base
   from ``discord.http.Route.BASE`` and its gateway from ``DiscordWebSocket.DEFAULT_GATEWAY``;
   both are class attributes, so they are set here and put back by ``close``);
2. login: ``GET /users/@me`` with the token (a 401 is ``discord.LoginFailure`` → ConfigError
   naming DISCORD_TOKEN) and ``GET /oauth2/applications/@me``;
3. the ``/sora`` commands are synced (``PUT /applications/{id}/commands``, a bulk overwrite,
   so a restart never duplicates them); a failure here is a warning, not a stop;
4. the gateway is connected in a background task and we wait (bounded) for READY. If Discord
   refuses the Message Content intent (close code 4014: not enabled in the Developer Portal),
   the bot reconnects without it and says so: commands and mentions still work, passive paste
   detection does not.

No token ever appears in an error or a log line.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import discord
import discord.gateway
import discord.http
import yarl

from adapters.discord.bot import SoraClient, build_client, invite_url
from adapters.discord.rest import api_base
from adapters.discord.sink import DiscordSink
from bot.commands.model import CHANNEL
from bot.commands.router import Router
from bot.config import Settings, secret_value
from bot.errors import ConfigError
from bot.platform import AdapterContext, Closer, Started

log = logging.getLogger(__name__)

READY_TIMEOUT_S = 30.0
CLOSE_TIMEOUT_S = 10.0
PORTAL_HINT = "copy the bot token from the Developer Portal (Bot → Reset Token)"


@dataclass
class Endpoints:
    """discord.py's REST base and gateway URL, set for this process and put back on close."""

    api_url: str | None
    gateway_url: str | None
    _saved: tuple[str, yarl.URL] | None = None

    def apply(self) -> None:
        self._saved = (discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)
        if self.api_url:
            discord.http.Route.BASE = api_base(self.api_url)
        if self.gateway_url:
            discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self.gateway_url)

    def restore(self) -> None:
        if self._saved is not None:
            discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = self._saved
            self._saved = None


@dataclass
class DiscordRuntime:
    """The running adapter: register ``sink`` for platform "discord" with the outbox,
    ``await close()`` at shutdown."""

    client: SoraClient
    sink: DiscordSink
    task: asyncio.Task[None] | None  # None: started without the gateway (sink only)
    endpoints: Endpoints
    message_content: bool = True
    synced: list[str] = field(default_factory=list)

    @property
    def user(self) -> discord.ClientUser | None:
        return self.client.user

    async def close(self) -> None:
        await _stop(self.client, self.task)
        await self.sink.aclose()
        self.endpoints.restore()


async def _stop(client: discord.Client, task: asyncio.Task[None] | None) -> None:
    with contextlib.suppress(Exception):
        await asyncio.wait_for(client.close(), CLOSE_TIMEOUT_S)
    if task is not None:
        if not task.done():
            task.cancel()
        with contextlib.suppress(BaseException):
            await task


def _on_connection_end(task: asyncio.Task[None]) -> None:
    """The gateway loop ended after start-up (a revoked token, an unrecoverable close)."""
    if task.cancelled():
        return
    exc = task.exception()
    if exc is not None:
        log.error("discord: gateway connection ended (%s); Discord commands and pastes are "
                  "not answered until a restart", _describe(exc))


def _describe(exc: BaseException) -> str:
    if isinstance(exc, discord.ConnectionClosed):
        return f"closed with code {exc.code}"
    if isinstance(exc, discord.HTTPException):
        return f"HTTP {exc.status}"
    return type(exc).__name__


async def _login(client: SoraClient, token: str, base: str) -> None:
    try:
        await client.login(token)
    except discord.LoginFailure:
        raise ConfigError(f"DISCORD_TOKEN: rejected by Discord (401 Unauthorized); {PORTAL_HINT}") from None
    except discord.HTTPException as exc:
        raise ConfigError(f"DISCORD_TOKEN: could not be checked, GET /users/@me answered HTTP "
                          f"{exc.status}; check DISCORD_API_URL ({base})") from None
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        raise ConfigError(f"DISCORD_TOKEN: cannot reach the Discord API at {base} "
                          f"({type(exc).__name__}); check the network or DISCORD_API_URL") from None


async def _sync_commands(client: SoraClient) -> list[str]:
    """Bulk-overwrite the global commands with ours (idempotent); a failure is logged only."""
    try:
        commands = await client.tree.sync()
    except (TimeoutError, discord.HTTPException, aiohttp.ClientError, OSError) as exc:
        log.warning("discord: /sora commands not synced (%s); existing registrations stay",
                    _describe(exc))
        return []
    return [c.name for c in commands]


async def _check_gateway(gateway: str, timeout: float) -> None:
    """Open the gateway once and wait for HELLO (no IDENTIFY): discord.py retries a first
    connection that fails forever (and with a traceback per try), so an unreachable
    DISCORD_GATEWAY_URL is found here and said in one line."""
    url = yarl.URL(gateway).update_query(v=10, encoding="json")
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as http:
            async with http.ws_connect(url, heartbeat=None) as ws:
                hello = await ws.receive_json(timeout=timeout)
    except (TimeoutError, aiohttp.ClientError, OSError, ValueError, TypeError) as exc:
        raise ConfigError(f"DISCORD_GATEWAY_URL: cannot reach the Discord gateway at {gateway} "
                          f"({type(exc).__name__}); check the network or DISCORD_GATEWAY_URL") from None
    if not isinstance(hello, dict) or hello.get("op") != 10:
        raise ConfigError(f"DISCORD_GATEWAY_URL: {gateway} does not speak the Discord gateway "
                          "protocol (no HELLO)")


async def _connect(client: SoraClient, timeout: float, gateway: str) -> asyncio.Task[None]:
    """Start the gateway loop in the background; return once READY (or raise)."""
    task = asyncio.create_task(client.connect(reconnect=True), name="discord-gateway")
    ready = asyncio.create_task(client.wait_until_ready())
    try:
        done, _ = await asyncio.wait({task, ready}, timeout=timeout,
                                     return_when=asyncio.FIRST_COMPLETED)
    finally:
        if not ready.done():
            ready.cancel()
    if ready in done and not task.done():
        task.add_done_callback(_on_connection_end)
        return task
    if task.done() and not task.cancelled() and task.exception() is not None:
        exc = task.exception()
        assert exc is not None
        if isinstance(exc, discord.PrivilegedIntentsRequired):
            raise exc
        if isinstance(exc, discord.ConnectionClosed) and exc.code == 4004:
            raise ConfigError(f"DISCORD_TOKEN: rejected by the Discord gateway (4004); {PORTAL_HINT}")
        raise ConfigError(f"DISCORD_GATEWAY_URL: the Discord gateway at {gateway} refused the "
                          f"connection ({_describe(exc)})")
    await _stop(client, task)
    raise ConfigError(f"DISCORD_GATEWAY_URL: the Discord gateway at {gateway} was not ready "
                      f"within {timeout:g} s; check the network or DISCORD_GATEWAY_URL")


async def start_discord(settings: Settings, router: Router, *, ready_timeout: float = READY_TIMEOUT_S,
                        gateway: bool = True, **client_options: Any) -> DiscordRuntime:
    """Log in, sync ``/sora``, connect, wait for READY; a ``DiscordRuntime`` or a ConfigError.

    ``gateway=False`` checks the token and returns only the alert sink, with no gateway
    session: Discord sends every event to every session of a bot, so with several replicas
    only one should hold the gateway (or each paste is answered once per replica), while any
    replica may deliver outbox rows. ``client_options`` go to ``discord.Client`` (tests pass
    ``guild_ready_timeout``)."""
    token = secret_value(settings.DISCORD_TOKEN)
    if not token:
        raise ConfigError("DISCORD_TOKEN: not set (the bot token from the Developer Portal → Bot)")
    endpoints = Endpoints(settings.DISCORD_API_URL, settings.DISCORD_GATEWAY_URL)
    endpoints.apply()
    base = discord.http.Route.BASE
    gateway_url = str(discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)
    message_content = True
    client = build_client(router, message_content=True, **client_options)
    task: asyncio.Task[None] | None = None
    try:
        await _login(client, token, base)
        if not gateway:
            sink = DiscordSink(token, settings.DISCORD_API_URL,
                       mention=settings.operator_config().mentions.discord)
            log.info("discord: token accepted for %s; alert delivery only (no gateway session)",
                     client.user)
            return DiscordRuntime(client=client, sink=sink, task=None, endpoints=endpoints,
                                  message_content=False)
        synced = await _sync_commands(client)
        await _check_gateway(gateway_url, min(ready_timeout, 10.0))
        try:
            task = await _connect(client, ready_timeout, gateway_url)
        except discord.PrivilegedIntentsRequired:
            log.warning("discord: the Message Content intent is not enabled for this bot "
                        "(Developer Portal → Bot → Privileged Gateway Intents); pasted errors are "
                        "answered only in DMs and when the bot is mentioned")
            await _stop(client, None)
            message_content = False
            client = build_client(router, message_content=False, **client_options)
            await _login(client, token, base)
            task = await _connect(client, ready_timeout, gateway_url)
    except BaseException:
        await _stop(client, task)
        endpoints.restore()
        raise
    sink = DiscordSink(token, settings.DISCORD_API_URL,
                       mention=settings.operator_config().mentions.discord)
    user = client.user
    log.info("discord: connected as %s (id %s) to %d server(s); commands synced: %s",
             user, user.id if user else "?", len(client.guilds), ", ".join(synced) or "none")
    if client.application_id is not None:
        log.info("discord: invite link: %s", invite_url(client.application_id))
    return DiscordRuntime(client=client, sink=sink, task=task, endpoints=endpoints,
                          message_content=message_content, synced=synced)


class DiscordPlatform:
    """Discord as an ``Adapter``. Discord sends every event to every gateway session of a bot,
    so with several replicas (PostgreSQL) each one delivers notices but only the scheduler's
    leader holds the gateway; with one process (SQLite) the gateway opens at start."""

    name = "discord"
    fallback = False
    uses_terminal = False
    surface = CHANNEL

    def enabled(self, settings: Settings) -> bool:
        return settings.DISCORD_TOKEN is not None

    async def start(self, ctx: AdapterContext) -> Started:
        runtime = await start_discord(ctx.settings, ctx.router, gateway=ctx.single_process)
        if ctx.single_process:
            return Started(sink=runtime.sink, close=runtime.close)

        async def lead() -> Closer:
            leader_rt = await start_discord(ctx.settings, ctx.router)
            return leader_rt.close

        return Started(sink=runtime.sink, close=runtime.close, leader=lead)
