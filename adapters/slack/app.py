"""The slack-bolt (async) app: Slack payloads → ``Router`` calls, ``Reply`` → Block Kit.

Listeners, each a thin translation:

- ``/sora …`` slash command. Slack wants an answer within 3 s. Work that finishes within
  ``inline_budget_s`` is answered *in the ack* (one round trip, nothing to post later); slower
  work (probes, or a slow database) is acked with a short "working" line and answered through
  ``respond`` (the response_url). Ephemeral unless the Reply says otherwise (``status public``).
- ``message`` events (channels, private channels, DMs, snippets): a pasted error gets a
  diagnosis in a thread under it; anything else gets nothing. Bot messages and edits are skipped.
- ``app_mention``: ``@sora status`` runs the command, ``@sora <paste>`` diagnoses, in a thread.
- ``block_actions``: Acknowledge and Mute 1 h on alert parents, Share on status replies.

No Sora, status or database call happens here: everything goes through the injected router.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import httpx
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapters.slack import blocks as bk
from adapters.slack.client import make_web_client
from adapters.slack.permissions import PermissionChecker
from adapters.slack.verify import signed_only
from bot.clock import Clock, utcnow
from bot.commands.model import SUBCOMMANDS, Caller, ChannelRef, parse_command
from bot.commands.reply import Reply, Severity
from bot.errors import ConfigError

log = logging.getLogger(__name__)

PLATFORM = "slack"
SLASH_COMMAND = "/sora"
EVENTS_PATH = "/slack/events"
INLINE_BUDGET_S = 1.5
# Subcommands anyone may run; for every other one (subscribe, unsubscribe, mute, and any that
# a later router adds) Caller.can_manage is computed, so a new command starts out guarded.
READ_ONLY_COMMANDS = frozenset({"help", "unknown", "diagnose", "status", "probe", "history"})
# Subcommands known to be slow: ack at once with this line, answer via respond().
SLOW_COMMANDS: dict[str, str] = {"probe": "⏳ Running probes…"}
WORKING_TEXT = "⏳ Working on it…"
# Message subtypes that are a person saying something; every other subtype (edits, deletions,
# joins, bot_message…) is not a paste to answer.
HUMAN_SUBTYPES = frozenset({None, "file_share", "thread_broadcast"})
MAX_FILE_BYTES = 256 * 1024
TEXT_FILETYPES = frozenset({"text", "json", "javascript", "python", "shell", "log", "html", "xml",
                            "yaml", "typescript", "go", "java", "ruby", "csv", "markdown", "diff"})
FILE_HOSTS = frozenset({"files.slack.com"})
_SLACK_LINK = re.compile(r"<([^<>\n]{1,2000})>")
_USER_ID = re.compile(r"^[A-Z0-9]{2,32}$")

Router = Any  # bot.commands.router.Router (typed loosely: only handle_text/handle_message are used)


def slack_to_plain(text: str) -> str:
    """Slack message/command text → what the person typed: links and mentions unwrapped,
    entities unescaped, code fences dropped (the error inside a ``` block is the paste)."""
    def link(m: re.Match[str]) -> str:
        target, _, label = m.group(1).partition("|")
        if target.startswith("@"):
            return "@" + (label or target[1:])
        if target.startswith("#"):
            return "#" + (label or target[1:])
        if target.startswith("!"):
            return "@" + (label or target[1:].split("^")[0])
        if target.startswith("mailto:"):
            return label or target[7:]
        return target  # a URL: the URL itself is what was pasted

    return bk.unescape(_SLACK_LINK.sub(link, text or "")).replace("```", "\n")


def _mention(user_id: str | None) -> str:
    return f"<@{user_id}>" if user_id and _USER_ID.match(user_id) else "someone"


def _error_reply(text: str) -> Reply:
    return Reply(title="Something went wrong", severity=Severity.ERROR, text=text, kind="error")


@dataclass
class SlackAdapter:
    """The listeners' shared state: router, Web API client, permission rules."""

    router: Router
    client: AsyncWebClient
    permissions: PermissionChecker
    bot_token: str
    api_url: str | None = None
    inline_budget_s: float = INLINE_BUDGET_S
    file_transport: httpx.AsyncBaseTransport | None = None
    now: Clock = utcnow

    # Callers ---------------------------------------------------------------------------------

    async def caller(self, team_id: str, channel_id: str, user_id: str, display: str | None,
                     command: str, *, membership_proven: bool) -> Caller:
        """``Caller.can_manage`` is computed only for the commands that need it (API calls)."""
        can_manage = False
        if command not in READ_ONLY_COMMANDS:
            can_manage = await self.permissions.can_manage(team_id, channel_id, user_id,
                                                           membership_proven=membership_proven)
        return Caller(user_id=user_id, display=display, can_manage=can_manage)

    async def run_command(self, text: str, channel: ChannelRef, user_id: str, display: str | None,
                          *, membership_proven: bool) -> Reply:
        name = parse_command(text, channel).name
        try:
            caller = await self.caller(channel.workspace, channel.channel, user_id, display, name,
                                       membership_proven=membership_proven)
            return await self.router.handle_text(text, channel, caller)
        except Exception:  # noqa: BLE001 - the user gets one line, the log the details
            log.exception("slack: /sora %s failed", name)
            return _error_reply(f"Sorry, `/sora {name}` failed inside the bot. "
                                "The operator can find the details in the logs.")

    # Slash command ---------------------------------------------------------------------------

    async def on_command(self, ack: Callable[..., Awaitable[Any]], command: dict[str, Any],
                         respond: Callable[..., Awaitable[Any]]) -> None:
        text = slack_to_plain(command.get("text") or "")
        channel = ChannelRef(PLATFORM, command.get("team_id") or "", command.get("channel_id") or "")
        user_id = command.get("user_id") or ""
        display = command.get("user_name")
        name = parse_command(text, channel).name
        work = asyncio.ensure_future(self.run_command(text, channel, user_id, display,
                                                      membership_proven=True))
        if name in SLOW_COMMANDS:
            await ack(text=SLOW_COMMANDS[name], response_type="ephemeral")
        else:
            done, _ = await asyncio.wait({work}, timeout=self.inline_budget_s)
            if work in done:
                await ack(**bk.response_payload(work.result()))
                return
            await ack(text=WORKING_TEXT, response_type="ephemeral")
        reply = await work
        await self._respond_quietly(respond, **bk.response_payload(reply))

    # Messages ------------------------------------------------------------------------------------

    async def message_text(self, event: dict[str, Any]) -> str:
        """The text of a message plus its text snippets (downloaded when Slack lets us)."""
        parts = [slack_to_plain(event.get("text") or "")]
        for f in (event.get("files") or [])[:5]:
            if not self._is_text_file(f):
                continue
            body = await self._download(f)
            if body is None:
                body = f.get("preview") or ""
            if body:
                parts.append(body)
        return "\n\n".join(p for p in parts if p.strip())

    @staticmethod
    def _is_text_file(f: dict[str, Any]) -> bool:
        mimetype = str(f.get("mimetype") or "")
        return (f.get("mode") == "snippet" or mimetype.startswith("text/")
                or mimetype == "application/json" or f.get("filetype") in TEXT_FILETYPES)

    def _file_url_allowed(self, url: str) -> bool:
        """The bot token goes only to Slack's file host (or the configured SLACK_API_URL host)."""
        parsed = urlparse(url)
        if parsed.scheme == "https" and parsed.hostname in FILE_HOSTS:
            return True
        if self.api_url:
            api = urlparse(self.api_url)
            return (parsed.scheme, parsed.netloc) == (api.scheme, api.netloc)
        return False

    async def _download(self, f: dict[str, Any]) -> str | None:
        url = f.get("url_private_download") or f.get("url_private")
        if not url or not self._file_url_allowed(url) or int(f.get("size") or 0) > MAX_FILE_BYTES:
            return None
        try:
            async with httpx.AsyncClient(transport=self.file_transport, timeout=10.0,
                                         follow_redirects=False) as http:
                resp = await http.get(url, headers={"Authorization": f"Bearer {self.bot_token}"})
        except httpx.HTTPError as exc:
            log.info("slack: snippet download failed (%s)", type(exc).__name__)
            return None
        if resp.status_code != 200 or resp.headers.get("content-type", "").startswith("text/html"):
            return None  # a login page (missing files:read) is not the snippet
        return resp.content[:MAX_FILE_BYTES].decode("utf-8", "replace")

    def _is_human(self, event: dict[str, Any], bot_user_id: str | None) -> bool:
        if event.get("subtype") not in HUMAN_SUBTYPES or event.get("bot_id") or event.get("bot_profile"):
            return False
        user = event.get("user")
        return bool(user) and user != bot_user_id

    async def on_message(self, event: dict[str, Any], body: dict[str, Any], client: AsyncWebClient,
                         context: dict[str, Any]) -> None:
        bot_user_id = context.get("bot_user_id")
        if not self._is_human(event, bot_user_id):
            return
        if bot_user_id and f"<@{bot_user_id}>" in (event.get("text") or ""):
            return  # the app_mention listener answers it (once)
        text = await self.message_text(event)
        if not text.strip():
            return
        team_id = body.get("team_id") or event.get("team") or ""
        channel = ChannelRef(PLATFORM, team_id, event.get("channel") or "")
        user_id = event.get("user") or ""
        reply = await self.router.handle_message(text, channel, Caller(user_id=user_id, can_manage=False))
        if reply is None and event.get("channel_type") == "im":
            # In a DM, "status" or "help" typed without the slash is a command.
            if parse_command(text, channel).name in SUBCOMMANDS and text.split()[0].lower() in SUBCOMMANDS:
                reply = await self.run_command(text, channel, user_id, None, membership_proven=True)
        if reply is None:
            return
        await self._post_in_thread(client, event, reply)

    async def on_mention(self, event: dict[str, Any], body: dict[str, Any], client: AsyncWebClient,
                         context: dict[str, Any]) -> None:
        if event.get("bot_id") or event.get("user") == context.get("bot_user_id"):
            return
        raw = re.sub(r"<@[A-Z0-9]+(\|[^>]*)?>", " ", event.get("text") or "").strip()
        event = {**event, "text": raw}
        text = await self.message_text(event)
        team_id = body.get("team_id") or event.get("team") or ""
        channel = ChannelRef(PLATFORM, team_id, event.get("channel") or "")
        user_id = event.get("user") or ""
        first = text.split()[0].lower() if text.split() else "help"
        if first in SUBCOMMANDS or not text.strip():
            reply = await self.run_command(text or "help", channel, user_id, None, membership_proven=True)
        else:
            reply = await self.router.handle_message(text, channel, Caller(user_id=user_id, can_manage=False))
            if reply is None:
                reply = await self.run_command("help", channel, user_id, None, membership_proven=True)
        await self._post_in_thread(client, event, reply)

    async def _post_in_thread(self, client: AsyncWebClient, event: dict[str, Any], reply: Reply) -> None:
        thread_ts = event.get("thread_ts") or event.get("ts")
        try:
            await client.chat_postMessage(channel=event.get("channel"), thread_ts=thread_ts,
                                          **bk.message_payload(reply, drop_actions=[bk.ACTION_SHARE]))
        except (SlackApiError, SlackClientError, OSError) as exc:
            log.warning("slack: thread reply failed (%s)", _short(exc))

    # Interactivity ----------------------------------------------------------------------------

    @staticmethod
    def _action_context(body: dict[str, Any]) -> tuple[ChannelRef, str, str | None]:
        user = body.get("user") or {}
        team_id = (body.get("team") or {}).get("id") or user.get("team_id") or ""
        channel_id = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id") or ""
        return ChannelRef(PLATFORM, team_id, channel_id), user.get("id") or "", user.get("username") or user.get("name")

    async def on_acknowledge(self, ack: Callable[..., Awaitable[Any]], body: dict[str, Any],
                             client: AsyncWebClient) -> None:
        await ack()
        channel, user_id, _ = self._action_context(body)
        line = f"✋ Acknowledged by {_mention(user_id)} at {self.now():%H:%M} UTC"
        await self._mark_parent(client, body, channel, bk.ACK_BLOCK_ID, line)

    async def on_mute(self, ack: Callable[..., Awaitable[Any]], body: dict[str, Any],
                      client: AsyncWebClient, respond: Callable[..., Awaitable[Any]]) -> None:
        await ack()
        channel, user_id, display = self._action_context(body)
        reply = await self.run_command("mute 1h", channel, user_id, display, membership_proven=False)
        if reply.kind == "error":
            await self._respond_quietly(respond, **bk.response_payload(reply, public=False),
                                        replace_original=False)
            return
        line = f"🔕 {reply.title} by {_mention(user_id)}"
        await self._mark_parent(client, body, channel, bk.MUTE_BLOCK_ID, line)

    async def on_share(self, ack: Callable[..., Awaitable[Any]], body: dict[str, Any],
                       respond: Callable[..., Awaitable[Any]]) -> None:
        await ack()
        channel, user_id, display = self._action_context(body)
        reply = await self.run_command("status public", channel, user_id, display, membership_proven=False)
        payload = bk.response_payload(reply, public=reply.kind != "error",
                                      extra_context=[f"Shared by {_mention(user_id)}"],
                                      drop_actions=[bk.ACTION_SHARE])
        await self._respond_quietly(respond, **payload, replace_original=False)

    async def _mark_parent(self, client: AsyncWebClient, body: dict[str, Any], channel: ChannelRef,
                           block_id: str, line: str) -> None:
        """Show who acted: edit the parent (from the blocks in the payload) and say it in thread."""
        message = body.get("message") or {}
        ts = message.get("ts") or (body.get("container") or {}).get("message_ts")
        if not ts:
            return
        blocks = bk.set_context_line(message.get("blocks") or [], block_id, line, raw=True)
        calls: tuple[tuple[str, Callable[[], Awaitable[Any]]], ...] = (
            ("chat.update", lambda: client.chat_update(channel=channel.channel, ts=ts, blocks=blocks,
                                                       text=message.get("text") or line)),
            ("chat.postMessage", lambda: client.chat_postMessage(channel=channel.channel,
                                                                 thread_ts=ts, text=line)))
        for method, call in calls:  # one failing (say, an old message) does not stop the other
            try:
                await call()
            except (SlackApiError, SlackClientError, OSError) as exc:
                log.warning("slack: %s for %s failed (%s)", method, block_id, _short(exc))

    @staticmethod
    async def _respond_quietly(respond: Callable[..., Awaitable[Any]], **payload: Any) -> None:
        """bolt's ``respond`` returns the response_url's answer instead of raising, so a refusal
        (an expired or used-up response_url, invalid blocks) is checked here, or it would vanish."""
        try:
            answer = await respond(**payload)
        except (SlackApiError, SlackClientError, OSError) as exc:
            log.warning("slack: respond() failed (%s)", type(exc).__name__)
            return
        status = getattr(answer, "status_code", 200)
        if isinstance(status, int) and status >= 300:
            log.warning("slack: respond() was refused (HTTP %s %s)", status,
                        str(getattr(answer, "body", ""))[:80])


def _short(exc: BaseException) -> str:
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error") or exc.response.status_code)
    return type(exc).__name__


def build_slack_app(router: Router, *, bot_token: str, signing_secret: str | None,
                    api_url: str | None = None, admin_users: set[str] | frozenset[str] = frozenset(),
                    admin_group: str | None = None, client: AsyncWebClient | None = None,
                    inline_budget_s: float = INLINE_BUDGET_S,
                    file_transport: httpx.AsyncBaseTransport | None = None,
                    process_before_response: bool = False, now: Clock = utcnow) -> AsyncApp:
    """The bolt app with every sora-bot listener registered. Nothing is called on Slack here;
    run ``adapters.slack.client.check_auth(app.client)`` at start to fail fast on a bad token.

    ``process_before_response`` (bolt's FaaS switch) makes the HTTP answer wait for the whole
    listener; tests use it to know an event was fully handled before asserting "no reply".
    """
    if not bot_token:
        raise ConfigError("SLACK_BOT_TOKEN is not set")
    client = client or make_web_client(bot_token, api_url)
    app = AsyncApp(client=client, signing_secret=signing_secret or "", name="sora-bot",
                   logger=logging.getLogger("adapters.slack.bolt"),
                   process_before_response=process_before_response)
    adapter = SlackAdapter(router=router, client=client, bot_token=bot_token, api_url=api_url,
                           permissions=PermissionChecker(client, admin_users=admin_users,
                                                         admin_group=admin_group, now=now),
                           inline_budget_s=inline_budget_s, file_transport=file_transport, now=now)
    app.command(SLASH_COMMAND)(adapter.on_command)
    app.event("message")(adapter.on_message)
    app.event("app_mention")(adapter.on_mention)
    app.action(bk.ACTION_ACK)(adapter.on_acknowledge)
    app.action(bk.ACTION_MUTE_1H)(adapter.on_mute)
    app.action(bk.ACTION_SHARE)(adapter.on_share)
    return app


def slack_routes(app: AsyncApp, path: str = EVENTS_PATH, *, signing_secret: str | None = None,
                 now: Callable[[], float] = time.time) -> list[Route]:
    """The HTTP-mode endpoint for the web app (Events API, slash commands, interactivity).

    The signature is checked in front of bolt (``adapters.slack.verify``), before anything
    parses the body; ``signing_secret`` defaults to the one the app was built with."""
    handler = AsyncSlackRequestHandler(app)
    secret = signing_secret if signing_secret is not None else str(getattr(app, "_signing_secret", ""))
    if not secret:
        raise ConfigError("SLACK_SIGNING_SECRET is required to serve /slack/events")

    async def slack_events(request: Request) -> Response:
        return await handler.handle(request)

    return [Route(path, endpoint=signed_only(slack_events, secret, now=now), methods=["POST"])]


@dataclass
class SocketModeHandle:
    """A running Socket Mode connection; ``await handle.close()`` to stop it."""

    handler: AsyncSocketModeHandler

    async def close(self) -> None:
        await self.handler.close_async()


async def start_socket_mode(app: AsyncApp, app_token: str, api_url: str | None = None) -> SocketModeHandle:
    """Open the Socket Mode websocket.

    ``apps.connections.open`` is called here first, once: slack_sdk's connect loop retries
    failures forever (right for a Slack outage later, wrong for a bad token at boot), so a
    rejected SLACK_APP_TOKEN becomes one ConfigError line instead of an endless retry log.
    """
    web_client = make_web_client(app_token, api_url) if api_url else app.client
    try:
        opened = await web_client.apps_connections_open(app_token=app_token)
    except SlackApiError as exc:
        error = exc.response.get("error") or exc.response.status_code
        raise ConfigError(f"SLACK_APP_TOKEN was rejected by Slack ({error}); create an app-level "
                          "token with connections:write and enable Socket Mode") from None
    except (SlackClientError, OSError, TimeoutError) as exc:
        raise ConfigError(f"Socket Mode could not reach Slack ({type(exc).__name__}); "
                          "check SLACK_API_URL") from None
    handler = AsyncSocketModeHandler(app, app_token=app_token, web_client=web_client)
    handler.client.wss_uri = opened["url"]
    await handler.connect_async()
    return SocketModeHandle(handler)
