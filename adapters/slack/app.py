"""The slack-bolt (async) app: Slack payloads → ``Router`` calls, ``Reply`` → Block Kit.

Listeners, each a thin translation (the rules — what is a command, what is slow, who may,
what is public — are the core's: ``bot.commands.specs`` and ``Router``):

- ``/sora …`` slash command. Slack wants an answer within 3 s. Work that finishes within
  ``inline_budget_s`` is answered *in the ack* (one round trip, nothing to post later); slow
  work (the spec says so, or a slow database) is acked with the spec's "working" line and
  answered through ``respond`` (the response_url). Ephemeral unless the Reply says otherwise.
- ``message`` events (channels, private channels, DMs, snippets) and ``app_mention``: the text
  goes to ``Router.handle_chat``, which decides command, paste, hint or nothing; an answer goes
  in a thread under the message. Bot messages and edits are skipped.
- controls (``block_actions`` and modal submissions): every ``bot.commands.reply.Action`` is
  one button or menu; a click goes to ``Router.handle_action``; "Add note" opens a modal first.

No Sora, status or database call happens here: everything goes through the injected router.
"""

from __future__ import annotations

import asyncio
import json
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
from bot.commands.model import Caller, ChannelRef, parse_command
from bot.commands.reply import ActionKind, Reply, ReplyKind
from bot.commands.router import ActionOutcome, Router
from bot.commands.specs import spec_for
from bot.errors import ConfigError

log = logging.getLogger(__name__)

PLATFORM = "slack"
SLASH_COMMAND = "/sora"
EVENTS_PATH = "/slack/events"
# Below Slack's 3 s with room for the network: an answer not ready by then is acked with a
# "working" line and sent through respond().
INLINE_BUDGET_S = 0.8
# Message subtypes that are a person saying something; every other subtype (edits, deletions,
# joins, bot_message…) is not a paste to answer.
HUMAN_SUBTYPES = frozenset({None, "file_share", "thread_broadcast"})
MAX_FILE_BYTES = 256 * 1024
TEXT_FILETYPES = frozenset({"text", "json", "javascript", "python", "shell", "log", "html", "xml",
                            "yaml", "typescript", "go", "java", "ruby", "csv", "markdown", "diff"})
FILE_HOSTS = frozenset({"files.slack.com"})
NOTE_MODAL = "sora_note_modal"
NOTE_INPUT_BLOCK, NOTE_INPUT = "sora_note_block", "sora_note_text"
_SLACK_LINK = re.compile(r"<([^<>\n]{1,2000})>")
_USER_ID = re.compile(r"^[A-Z0-9]{2,32}$")
_MENTION = re.compile(r"<@[A-Z0-9]+(\|[^>]*)?>")


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


def mention(user_id: str | None) -> str:
    return f"<@{user_id}>" if user_id and _USER_ID.match(user_id) else "someone"


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

    def caller(self, team_id: str, channel_id: str, user_id: str, display: str | None, *,
               membership_proven: bool) -> Caller:
        """Rights are proven only when a command needs them (they cost API calls)."""
        async def rights() -> bool:
            return await self.permissions.can_manage(team_id, channel_id, user_id,
                                                     membership_proven=membership_proven)

        return Caller(user_id=user_id, display=display, rights=rights)

    # Slash command ---------------------------------------------------------------------------

    async def on_command(self, ack: Callable[..., Awaitable[Any]], command: dict[str, Any],
                         respond: Callable[..., Awaitable[Any]]) -> None:
        text = slack_to_plain(command.get("text") or "")
        channel = ChannelRef(PLATFORM, command.get("team_id") or "", command.get("channel_id") or "")
        caller = self.caller(channel.workspace, channel.channel, command.get("user_id") or "",
                             command.get("user_name"), membership_proven=True)
        spec = spec_for(parse_command(text, channel).name)
        work = asyncio.ensure_future(self.router.handle_command(text, channel, caller))
        if not spec.slow:
            done, _ = await asyncio.wait({work}, timeout=self.inline_budget_s)
            if work in done:
                await ack(**bk.response_payload(work.result()))
                return
        await ack(text=spec.working, response_type="ephemeral")
        await self._respond_quietly(respond, **bk.response_payload(await work))

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

    @staticmethod
    def _is_human(event: dict[str, Any], bot_user_id: str | None) -> bool:
        if event.get("subtype") not in HUMAN_SUBTYPES or event.get("bot_id") or event.get("bot_profile"):
            return False
        user = event.get("user")
        return bool(user) and user != bot_user_id

    async def _chat(self, event: dict[str, Any], body: dict[str, Any], client: AsyncWebClient,
                    *, mentioned: bool) -> None:
        text = await self.message_text(event)
        team_id = body.get("team_id") or event.get("team") or ""
        channel = ChannelRef(PLATFORM, team_id, event.get("channel") or "")
        caller = self.caller(team_id, channel.channel, event.get("user") or "", None,
                             membership_proven=True)
        reply = await self.router.handle_chat(text, channel, caller, mentioned=mentioned,
                                              is_dm=event.get("channel_type") == "im")
        if reply is not None:
            await self._post_in_thread(client, event, reply)

    async def on_message(self, event: dict[str, Any], body: dict[str, Any], client: AsyncWebClient,
                         context: dict[str, Any]) -> None:
        bot_user_id = context.get("bot_user_id")
        if not self._is_human(event, bot_user_id):
            return
        if bot_user_id and f"<@{bot_user_id}>" in (event.get("text") or ""):
            return  # the app_mention listener answers it (once)
        await self._chat(event, body, client, mentioned=False)

    async def on_mention(self, event: dict[str, Any], body: dict[str, Any], client: AsyncWebClient,
                         context: dict[str, Any]) -> None:
        if event.get("bot_id") or event.get("user") == context.get("bot_user_id"):
            return
        event = {**event, "text": _MENTION.sub(" ", event.get("text") or "").strip()}
        await self._chat(event, body, client, mentioned=True)

    async def _post_in_thread(self, client: AsyncWebClient, event: dict[str, Any], reply: Reply) -> None:
        thread_ts = event.get("thread_ts") or event.get("ts")
        try:
            await client.chat_postMessage(channel=str(event.get("channel") or ""), thread_ts=thread_ts,
                                          **bk.message_payload(reply.without(ActionKind.SHARE)))
        except (SlackApiError, SlackClientError, OSError) as exc:
            log.warning("slack: thread reply failed (%s)", _short(exc))

    # Controls ----------------------------------------------------------------------------------

    @staticmethod
    def _action_context(body: dict[str, Any]) -> tuple[ChannelRef, str, str | None]:
        user = body.get("user") or {}
        team_id = (body.get("team") or {}).get("id") or user.get("team_id") or ""
        channel_id = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id") or ""
        return ChannelRef(PLATFORM, team_id, channel_id), user.get("id") or "", user.get("username") or user.get("name")

    async def on_action(self, ack: Callable[..., Awaitable[Any]], body: dict[str, Any],
                        client: AsyncWebClient, respond: Callable[..., Awaitable[Any]]) -> None:
        """Any control the core declared: one translation for all of them."""
        await ack()
        action = (body.get("actions") or [{}])[0]
        kind = ActionKind.from_wire(str(action.get("action_id") or ""))
        if kind is None:
            return
        value, chosen = bk.action_value(action)
        if kind is ActionKind.NOTE:
            await self._open_note_modal(client, body, value)
            return
        channel, user_id, display = self._action_context(body)
        caller = self.caller(channel.workspace, channel.channel, user_id, display, membership_proven=False)
        outcome = await self.router.handle_action(kind, value, channel, caller, text=chosen)
        await self._show(outcome, client, respond, body, channel, user_id)

    async def _show(self, outcome: ActionOutcome, client: AsyncWebClient,
                    respond: Callable[..., Awaitable[Any]], body: dict[str, Any], channel: ChannelRef,
                    user_id: str) -> None:
        if outcome.mark is not None:
            await self._mark_parent(client, body, channel, f"sora_{outcome.mark.slot}",
                                    outcome.mark.line(mention(user_id)))
        reply = outcome.reply
        if reply is None:
            return
        public = not reply.ephemeral and reply.kind is not ReplyKind.ERROR
        credit = outcome.credit_line(mention(user_id))
        payload = bk.response_payload(reply, public=public, extra_context=[credit] if credit else [])
        await self._respond_quietly(respond, **payload, replace_original=False)

    async def _open_note_modal(self, client: AsyncWebClient, body: dict[str, Any], fingerprint: str) -> None:
        channel, _, _ = self._action_context(body)
        message = body.get("message") or {}
        meta = {"team": channel.workspace, "channel": channel.channel, "fingerprint": fingerprint,
                "thread_ts": message.get("thread_ts") or message.get("ts")}
        try:
            await client.views_open(trigger_id=body.get("trigger_id"),
                                    view=bk.note_modal(NOTE_MODAL, json.dumps(meta),
                                                       NOTE_INPUT_BLOCK, NOTE_INPUT))
        except (SlackApiError, SlackClientError, OSError) as exc:
            log.warning("slack: note modal not opened (%s)", _short(exc))

    async def on_note_submitted(self, ack: Callable[..., Awaitable[Any]], body: dict[str, Any],
                                client: AsyncWebClient) -> None:
        await ack()
        view = body.get("view") or {}
        try:
            meta = json.loads(view.get("private_metadata") or "{}")
        except ValueError:
            meta = {}
        values = ((view.get("state") or {}).get("values") or {})
        text = str(((values.get(NOTE_INPUT_BLOCK) or {}).get(NOTE_INPUT) or {}).get("value") or "")
        user = body.get("user") or {}
        channel = ChannelRef(PLATFORM, str(meta.get("team") or (body.get("team") or {}).get("id") or ""),
                             str(meta.get("channel") or ""))
        caller = self.caller(channel.workspace, channel.channel, user.get("id") or "",
                             user.get("username") or user.get("name"), membership_proven=False)
        outcome = await self.router.handle_action(ActionKind.NOTE, str(meta.get("fingerprint") or ""),
                                                  channel, caller, text=text)
        if outcome.reply is None or not channel.channel:
            return
        kwargs: dict[str, Any] = {"channel": channel.channel, "user": user.get("id") or "",
                                  **bk.message_payload(outcome.reply.without(ActionKind.SHARE))}
        if meta.get("thread_ts"):
            kwargs["thread_ts"] = meta["thread_ts"]
        try:
            await client.chat_postEphemeral(**kwargs)
        except (SlackApiError, SlackClientError, OSError) as exc:
            log.warning("slack: note answer not posted (%s)", _short(exc))

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
    for kind in ActionKind:
        app.action(kind.value)(adapter.on_action)
    app.view(NOTE_MODAL)(adapter.on_note_submitted)
    return app


def slack_routes(app: AsyncApp, path: str = EVENTS_PATH, *, signing_secret: str | None = None,
                 now: Callable[[], float] = time.time) -> list[Route]:
    """The HTTP-mode endpoint for the web app (Events API, slash commands, interactivity).

    The signature is checked in front of bolt (``adapters.slack.verify``), before anything
    parses the body; ``signing_secret`` defaults to the one the app was built with."""
    handler = AsyncSlackRequestHandler(app)
    # bolt keeps the secret it was built with privately; callers pass it (the runtime does)
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
