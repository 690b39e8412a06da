"""A fake Slack Web API on loopback, as strict as Slack, speaking the real wire format.

It runs on the test's own event loop (aiohttp), so tests wait on the fake's state
(``await fake.wait_for(...)``) instead of sleeping. Recording and failure injection are shared
with the Discord fake (``tests/platform_fake.py``). What it serves:

- Web API methods under ``/api/<method>`` (the table in ``slack_rules.METHODS``), JSON or form
  bodies, GET or POST, bearer-token checked like Slack (``not_authed`` / ``invalid_auth``; the
  app-level token only for ``apps.connections.open``); any other method is ``unknown_method``;
- ``/response/<id>``: response_urls (what bolt's ``respond`` posts to), usable 5 times within
  30 minutes like Slack's (then 404 ``used_url`` / ``expired_url``);
- ``/files/<id>``: private file downloads (snippets), bearer-token checked;
- ``views.open``: a modal opened with a ``trigger_id`` the fake issued for an interaction
  (``fake.trigger()``), used once within 3 s like Slack's (``invalid_trigger_id``,
  ``expired_trigger_id``, ``exchanged_trigger_id``), the view checked like Slack checks it
  (``invalid_arguments`` with JSON pointers, ``view_too_large``); ``fake.submission(view_id,
  …)`` is then what Slack sends when the person submits it (``view_submission``), refusing
  what Slack's own form would not let them submit (an empty required input, too long a text).

Strict like Slack: every ``blocks`` argument is parsed with slack_sdk's models and Slack's
documented limits (``invalid_blocks`` with JSON pointers, ``invalid_blocks_format``), ``text``
over 40,000 characters is ``msg_too_long``, a message with nothing in it ``no_text``, a missing
required argument ``invalid_arguments``; channels must exist (``channel_not_found``) and have the
bot in them to be posted to (``not_in_channel``, no ``chat:write.public``); a ``thread_ts`` must
name a message of that channel (``thread_not_found``), ``chat.update`` a message of the bot's
(``message_not_found`` / ``cant_update_message``). ``conversations.history`` / ``replies`` /
``members`` are cursor-paginated (``response_metadata.next_cursor``) and, like Slack, may return
fewer items than ``limit`` (``page_size``), so code that reads only the first page misses data.
Every such refusal is recorded in ``fake.rejections`` (see ``platform_fake``).

Messages posted are kept per channel (with metadata), so ``conversations.history`` answers
like Slack and tests can read the channel as a user would.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from tests.platform_fake import Call, Failure, PlatformFake
from tests.slack import slack_rules as rules
from tests.slack.slack_rules import SlackRefusal

RESPONSE_URL_USES = 5  # "use a response_url up to five times within thirty minutes"
RESPONSE_URL_TTL_S = 30 * 60
DEFAULT_PAGE_SIZE = 10  # Slack may return fewer items than ``limit``; so does the fake


@dataclass
class ResponseURL:
    issued_at: float
    uses: int = 0


@dataclass
class Trigger:
    issued_at: float
    user: str
    used: bool = False


@dataclass
class OpenView:
    view: dict[str, Any]
    user: str
    submitted: bool = False


@dataclass
class Channel:
    id: str
    bot_member: bool = True
    archived: bool = False


@dataclass(eq=False, repr=False)
class FakeSlack(PlatformFake):
    bot_token: str = "xoxb-1-test"
    app_token: str = "xapp-1-test"
    team_id: str = "T111"
    bot_user_id: str = "UBOT"
    bot_id: str = "BBOT"
    page_size: int | None = DEFAULT_PAGE_SIZE
    now: Callable[[], float] = time.monotonic
    channels: dict[str, Channel] = field(default_factory=dict)
    messages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    members: dict[str, list[str]] = field(default_factory=dict)
    admins: set[str] = field(default_factory=set)
    owners: set[str] = field(default_factory=set)
    groups: dict[str, list[str]] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    ws_url: str | None = None

    def __post_init__(self) -> None:
        PlatformFake.__init__(self)
        self._ts = int(time.time() * 1_000_000)  # Slack ts are epoch seconds.micros
        self._response_urls: dict[str, ResponseURL] = {}
        self._triggers: dict[str, Trigger] = {}
        self.views: dict[str, OpenView] = {}

    def build_app(self) -> web.Application:
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/response/{rid}", self._response)
        app.router.add_get("/files/{fid}", self._file)
        return app

    @property
    def api_url(self) -> str:
        """Pass as ``SLACK_API_URL`` / ``AsyncWebClient(base_url=...)`` (trailing slash)."""
        return f"http://127.0.0.1:{self.port}/api/"

    def response_url(self, rid: str = "r1") -> str:
        """A fresh response_url (as Slack puts in a slash command or an interactive payload)."""
        self._response_urls.setdefault(rid, ResponseURL(self.now()))
        return f"http://127.0.0.1:{self.port}/response/{rid}"

    def trigger(self, user: str = "U222") -> str:
        """A fresh trigger_id, as Slack puts in an interactive payload (valid 3 s, once)."""
        self._ts += 7
        tid = f"{self._ts // 1_000_000}.{self._ts % 1_000_000}.{self._ts:x}"
        self._triggers[tid] = Trigger(self.now(), user)
        return tid

    @staticmethod
    def menu_choice(message: dict[str, Any], action_id: str, value: str) -> dict[str, Any]:
        """The ``actions[0]`` of a ``block_actions`` payload for choosing ``value`` in the
        ``static_select`` ``action_id`` of ``message``: only an option the menu offers."""
        for block in message.get("blocks") or []:
            for element in block.get("elements") or [] if block.get("type") == "actions" else []:
                if element.get("type") == "static_select" and element.get("action_id") == action_id:
                    option = next((o for o in element["options"] if o["value"] == value), None)
                    assert option is not None, f"{value!r} is not an option of {action_id!r}"
                    return {"type": "static_select", "action_id": action_id,
                            "block_id": block.get("block_id"), "selected_option": option,
                            "placeholder": element.get("placeholder"),
                            "action_ts": "1700000200.000200"}
        raise AssertionError(f"the message has no menu {action_id!r}")

    def submission(self, view_id: str, values: dict[str, str], *, team: str | None = None
                   ) -> dict[str, Any]:
        """The ``view_submission`` payload Slack sends when the person who opened ``view_id``
        fills its inputs (``values``: action_id → text) and presses the submit button."""
        opened = self.views[view_id]
        assert not opened.submitted, "that modal was already submitted (Slack closed it)"
        state: dict[str, dict[str, Any]] = {}
        inputs = {b["element"]["action_id"]: b for b in opened.view.get("blocks", [])
                  if b.get("type") == "input"}
        assert set(values) <= set(inputs), f"the modal has no input {set(values) - set(inputs)}"
        for action_id, block in inputs.items():
            value = values.get(action_id, "")
            element = block["element"]
            assert value or block.get("optional"), f"Slack will not submit an empty {action_id}"
            assert len(value) <= int(element.get("max_length") or rules.TEXT_INPUT_MAX), \
                f"Slack's form does not take {len(value)} characters in {action_id}"
            state.setdefault(block["block_id"], {})[action_id] = {
                "type": element["type"], "value": value or None}
        opened.submitted = True
        team_id = team or self.team_id
        return {"type": "view_submission", "team": {"id": team_id, "domain": "fake"},
                "user": {"id": opened.user, "username": opened.user.lower(),
                         "name": opened.user.lower(), "team_id": team_id},
                "api_app_id": "A111", "token": "legacy", "trigger_id": self.trigger(opened.user),
                "view": {**opened.view, "state": {"values": state}},
                "response_urls": [], "is_enterprise_install": False, "enterprise": None}

    def file_url(self, fid: str) -> str:
        return f"http://127.0.0.1:{self.port}/files/{fid}"

    # Workspace state ----------------------------------------------------------------------------

    def add_channel(self, channel_id: str, *, bot_member: bool = True,
                    members: list[str] | None = None) -> str:
        self.channels[channel_id] = Channel(channel_id, bot_member=bot_member)
        if members is not None:
            self.members[channel_id] = list(members)
        return channel_id

    def saw_message(self, event: dict[str, Any]) -> None:
        """A message Slack told the app about exists in Slack: keep it (and its thread parent)
        so replies to it are threaded, as in Slack. The bot receives channel messages only
        where it is a member."""
        channel = str(event.get("channel") or "")
        if channel not in self.channels:
            self.add_channel(channel)
        stored = self.messages.setdefault(channel, [])
        known = {m["ts"] for m in stored}
        parent = event.get("thread_ts")
        if parent and parent not in known:
            stored.append({"type": "message", "ts": parent, "user": event.get("user"), "text": ""})
            known.add(parent)
        if event.get("ts") and event["ts"] not in known:
            msg = {k: v for k, v in event.items() if k in ("type", "ts", "user", "text", "thread_ts",
                                                           "bot_id", "subtype")}
            stored.append({**msg, "type": "message"})
        stored.sort(key=lambda m: float(m["ts"]))

    def posts(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Messages the bot posted, oldest first (after failures)."""
        chans = [channel] if channel else list(self.messages)
        return [m for c in chans for m in self.messages.get(c, []) if m.get("bot_id") == self.bot_id]

    def responses(self) -> list[dict[str, Any]]:
        return [c.body for c in self.calls_to("response")]

    # HTTP plumbing ------------------------------------------------------------------------------

    async def _record(self, request: web.Request, method: str) -> Call:
        raw = await request.read()
        args: dict[str, Any] = dict(request.query)
        ctype = request.headers.get("Content-Type", "")
        if raw:
            if ctype.startswith("application/json") or raw.lstrip().startswith(b"{"):
                try:
                    body = json.loads(raw)
                    if isinstance(body, dict):
                        args.update(body)
                except ValueError:
                    pass
            else:
                args.update(dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True)))
        auth = request.headers.get("Authorization")
        token = auth[7:].strip() if auth and auth.lower().startswith("bearer ") else args.pop("token", None)
        call = Call(method, request.method, request.path_qs, dict(request.query), args, raw, auth,
                    token, dict(request.match_info))
        self.calls.append(call)
        return call

    def _next_ts(self) -> str:
        self._ts += 100
        return f"{self._ts // 1_000_000}.{self._ts % 1_000_000:06d}"

    @staticmethod
    def _json(data: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
              ) -> web.Response:
        return web.Response(status=status, body=json.dumps(data).encode(),
                            headers={"Content-Type": "application/json; charset=utf-8",
                                     **(headers or {})})

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        call = await self._record(request, method)
        try:
            return self._answer(method, call)
        finally:
            await self.notify()

    def _answer(self, method: str, call: Call) -> web.Response:
        spec = rules.METHODS.get(method)
        expected = self.app_token if spec is not None and spec.token == "app" else self.bot_token
        if not call.token:
            return self._json({"ok": False, "error": "not_authed"})
        if call.token != expected:
            return self._json({"ok": False, "error": "invalid_auth"})
        if spec is None:
            self.reject(method, "unknown_method")
            return self._json({"ok": False, "error": "unknown_method", "req_method": method})
        failure = self.take_failure(method)
        if failure is not None and not failure.applied:
            return self._failure(failure)
        try:
            refusal = rules.missing_arguments(method, call.body)
            if refusal is not None:
                raise refusal
            result = getattr(self, "_m_" + method.replace(".", "_"))(call.body)
        except SlackRefusal as refusal:
            if refusal.error not in rules.AUTH_ERRORS:
                self.reject(method, refusal.error, "; ".join(refusal.messages))
            return self._json(refusal.body())
        if failure is not None:
            if failure.omit:
                return self._json({k: v for k, v in result.items() if k not in failure.omit})
            return self._failure(failure)
        return self._json(result)

    def _failure(self, f: Failure) -> web.Response:
        error = f.error or ("ratelimited" if f.status == 429 else "fatal_error")
        headers = {"Retry-After": f"{f.retry_after:g}"} if f.retry_after is not None else {}
        if f.status >= 500:
            return web.Response(status=f.status, text="upstream trouble", headers=headers)
        return self._json({"ok": False, "error": str(error)}, f.status, headers)

    # Channels, messages, pages -------------------------------------------------------------------

    def _channel(self, args: dict[str, Any]) -> Channel:
        channel = self.channels.get(str(args.get("channel")))
        if channel is None:
            raise SlackRefusal("channel_not_found")
        return channel

    def _message(self, channel: str, ts: str) -> dict[str, Any] | None:
        return next((m for m in self.messages.get(channel, []) if m["ts"] == ts), None)

    @staticmethod
    def _flag(args: dict[str, Any], name: str) -> bool:
        return str(args.get(name, "")).lower() in ("1", "true")

    def _page(self, items: list[Any], args: dict[str, Any], method: str, key: str) -> dict[str, Any]:
        """One page of ``items`` as Slack pages: ``limit`` (capped, and maybe fewer), an opaque
        ``cursor``, ``response_metadata.next_cursor`` empty on the last page."""
        spec = rules.METHODS[method]
        try:
            limit = int(args.get("limit") or 100)
        except ValueError:
            raise SlackRefusal("invalid_limit") from None
        if limit < 1:
            raise SlackRefusal("invalid_limit")
        limit = min(limit, spec.max_limit or limit, self.page_size or limit)
        start = 0
        if args.get("cursor"):
            try:
                kind, _, offset = base64.b64decode(str(args["cursor"])).decode().partition(":")
                start = int(offset)
                assert kind == "next" and 0 <= start <= len(items)
            except (ValueError, AssertionError, UnicodeDecodeError):
                raise SlackRefusal("invalid_cursor") from None
        page = items[start:start + limit]
        more = start + limit < len(items)
        cursor = base64.b64encode(f"next:{start + limit}".encode()).decode() if more else ""
        return {"ok": True, key: page, "has_more": more, "response_metadata": {"next_cursor": cursor}}

    @staticmethod
    def _in_range(ts: float, args: dict[str, Any], inclusive: bool) -> bool:
        oldest = float(args["oldest"]) if args.get("oldest") else None
        latest = float(args["latest"]) if args.get("latest") else None
        if oldest is not None and (ts < oldest or (ts == oldest and not inclusive)):
            return False
        return not (latest is not None and (ts > latest or (ts == latest and not inclusive)))

    def _shown(self, msg: dict[str, Any], with_meta: bool) -> dict[str, Any]:
        item = dict(msg)
        if not with_meta:
            item.pop("metadata", None)
        return item

    # Web API methods ------------------------------------------------------------------------------

    def _m_auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": "https://fake.slack.test/", "team": "Fake Team", "user": "sora-bot",
                "team_id": self.team_id, "user_id": self.bot_user_id, "bot_id": self.bot_id,
                "is_enterprise_install": False}

    def _m_chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        if not channel.bot_member and not channel.id.startswith("D"):
            raise SlackRefusal("not_in_channel")
        rules.check_message(args)
        thread_ts = args.get("thread_ts")
        if thread_ts and self._message(channel.id, str(thread_ts)) is None:
            raise SlackRefusal("thread_not_found")
        ts = self._next_ts()
        msg: dict[str, Any] = {"type": "message", "ts": ts, "user": self.bot_user_id,
                               "bot_id": self.bot_id, "text": args.get("text", ""),
                               "blocks": rules.parse_json_arg(args.get("blocks"))}
        if thread_ts:
            msg["thread_ts"] = str(thread_ts)
        if args.get("metadata"):
            msg["metadata"] = rules.parse_json_arg(args["metadata"])
        self.messages.setdefault(channel.id, []).append(msg)
        return {"ok": True, "channel": channel.id, "ts": ts, "message": msg}

    def _m_chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        msg = self._message(channel.id, str(args.get("ts")))
        if msg is None:
            raise SlackRefusal("message_not_found")
        if msg.get("user") != self.bot_user_id:
            raise SlackRefusal("cant_update_message")
        rules.check_message(args, require_content=False)
        if "text" in args:
            msg["text"] = args["text"]
        if "blocks" in args:
            msg["blocks"] = rules.parse_json_arg(args["blocks"])
        msg["edited"] = {"user": self.bot_user_id, "ts": self._next_ts()}
        return {"ok": True, "channel": channel.id, "ts": msg["ts"], "text": msg["text"]}

    def _m_chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        rules.check_message(args)
        if not channel.id.startswith("D") and str(args.get("user")) not in self.members.get(channel.id, []):
            raise SlackRefusal("user_not_in_channel")
        return {"ok": True, "message_ts": self._next_ts()}

    def _m_conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        inclusive = self._flag(args, "inclusive")
        with_meta = self._flag(args, "include_all_metadata")
        out = [self._shown(m, with_meta) for m in reversed(self.messages.get(channel.id, []))
               if not ("thread_ts" in m and m["thread_ts"] != m["ts"])  # parents only, like Slack
               and self._in_range(float(m["ts"]), args, inclusive)]
        return self._page(out, args, "conversations.history", "messages")

    def _m_conversations_replies(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        ts = str(args.get("ts"))
        parent = self._message(channel.id, ts)
        if parent is None:
            raise SlackRefusal("thread_not_found")
        inclusive = self._flag(args, "inclusive")
        with_meta = self._flag(args, "include_all_metadata")
        replies = [self._shown(m, with_meta) for m in self.messages.get(channel.id, [])
                   if m.get("thread_ts") == ts and m["ts"] != ts
                   and self._in_range(float(m["ts"]), args, inclusive)]
        return self._page([self._shown(parent, with_meta), *replies], args,
                          "conversations.replies", "messages")

    def _m_conversations_info(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        return {"ok": True, "channel": {"id": channel.id, "name": channel.id.lower(),
                                        "is_member": channel.bot_member,
                                        "is_channel": channel.id.startswith("C"),
                                        "is_private": channel.id.startswith("G")}}

    def _m_conversations_members(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        return self._page(list(self.members.get(channel.id, [])), args, "conversations.members",
                          "members")

    def _m_users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = str(args.get("user"))
        return {"ok": True, "user": {"id": user, "team_id": self.team_id, "name": user.lower(),
                                     "is_admin": user in self.admins or user in self.owners,
                                     "is_owner": user in self.owners, "is_bot": False}}

    def _m_usergroups_users_list(self, args: dict[str, Any]) -> dict[str, Any]:
        group = str(args.get("usergroup"))
        if group not in self.groups:
            raise SlackRefusal("no_such_subteam")
        return {"ok": True, "users": list(self.groups[group])}

    def _m_views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        tid = str(args.get("trigger_id") or args.get("interactivity_pointer") or "")
        if not tid:
            raise SlackRefusal("invalid_arguments", ["missing required field: trigger_id"])
        trigger = self._triggers.get(tid)
        if trigger is None or not rules.TRIGGER_FORMAT.match(tid):
            raise SlackRefusal("invalid_trigger_id")
        if self.now() - trigger.issued_at > rules.TRIGGER_TTL_S:
            raise SlackRefusal("expired_trigger_id")
        if trigger.used:
            raise SlackRefusal("exchanged_trigger_id")
        raw = args.get("view")
        if isinstance(raw, str) and len(raw.encode()) > rules.MAX_VIEW_BYTES:
            raise SlackRefusal("view_too_large")
        view = rules.parse_json_arg(raw)
        errors = rules.view_errors(view)
        if errors:
            raise SlackRefusal("invalid_arguments", errors)
        trigger.used = True
        vid = f"V{len(self.views) + 1:09d}"
        full = {**view, "id": vid, "team_id": self.team_id, "state": {"values": {}},
                "hash": f"{int(time.time())}.{self._ts:x}", "root_view_id": vid,
                "app_id": "A111", "bot_id": self.bot_id, "external_id": "",
                "clear_on_close": False, "notify_on_close": False, "previous_view_id": None}
        self.views[vid] = OpenView(full, trigger.user)
        return {"ok": True, "view": full}

    def _m_apps_connections_open(self, args: dict[str, Any]) -> dict[str, Any]:
        if not self.ws_url:
            raise SlackRefusal("socket_mode_not_enabled")
        return {"ok": True, "url": self.ws_url}

    # Non-API endpoints -----------------------------------------------------------------------------

    async def _response(self, request: web.Request) -> web.Response:
        """A response_url: 5 uses within 30 minutes; the payload follows the message rules."""
        call = await self._record(request, "response")
        try:
            url = self._response_urls.get(call.params["rid"])
            if url is None:
                return self._webhook_error("response", 404, "no_service")
            if self.now() - url.issued_at > RESPONSE_URL_TTL_S:
                return self._webhook_error("response", 404, "expired_url")
            if url.uses >= RESPONSE_URL_USES:
                return self._webhook_error("response", 404, "used_url")
            url.uses += 1
            try:
                rules.check_message(call.body, require_content="delete_original" not in call.body)
            except SlackRefusal as refusal:
                return self._webhook_error("response", 400, refusal.error, "; ".join(refusal.messages))
            return web.Response(text="ok")
        finally:
            await self.notify()

    def _webhook_error(self, name: str, status: int, error: str, detail: str = "") -> web.Response:
        """Webhook-style endpoints answer errors as plain text with an HTTP status."""
        self.reject(name, error, detail)
        return web.Response(status=status, text=error)

    def check_ack(self, body: dict[str, Any]) -> None:
        """A slash-command / Socket Mode ack carrying a message is a message too."""
        if body.get("blocks") is not None or body.get("text") is not None:
            try:
                rules.check_message(body)
            except SlackRefusal as refusal:
                self.reject("ack", refusal.error, "; ".join(refusal.messages))

    async def _file(self, request: web.Request) -> web.Response:
        call = await self._record(request, "file")
        await self.notify()
        if call.token != self.bot_token:
            return web.Response(status=302, headers={"Location": "/login"})
        data = self.files.get(request.match_info["fid"])
        if data is None:
            return web.Response(status=404)
        return web.Response(body=data, content_type="text/plain")


class FakeSocketMode:
    """Slack's Socket Mode endpoint on loopback (``websockets``): says hello, sends envelopes,
    and collects what the app sends back. Strict like Slack: each envelope is acked once (a
    second ack, or an ack for an envelope never sent, is recorded on the Web API fake's
    ``rejections``), and an ack's message payload follows the message rules."""

    def __init__(self, api: FakeSlack | None = None) -> None:
        self.api = api
        self.connected = asyncio.Event()
        self.received: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.sent: dict[str, int] = {}  # envelope id → acks received
        self._ws: Any = None
        self._server: Any = None
        self.url = ""

    async def start(self) -> FakeSocketMode:
        from websockets.asyncio.server import serve

        self._server = await serve(self._handler, "127.0.0.1", 0)
        port = next(iter(self._server.sockets)).getsockname()[1]
        self.url = f"ws://127.0.0.1:{port}/link/?ticket=t1&app_id=A111"
        return self

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handler(self, ws: Any) -> None:
        self._ws = ws
        await ws.send(json.dumps({"type": "hello", "num_connections": 1,
                                  "debug_info": {"host": "fake", "approximate_connection_time": 18060},
                                  "connection_info": {"app_id": "A111"}}))
        self.connected.set()
        async for message in ws:
            msg = json.loads(message)
            self._check_ack(msg)
            await self.received.put(msg)

    def _check_ack(self, msg: dict[str, Any]) -> None:
        eid = msg.get("envelope_id")
        if eid is None or self.api is None:
            return
        if eid not in self.sent:
            self.api.reject("ack", "unknown envelope", str(eid))
            return
        self.sent[eid] += 1
        if self.sent[eid] > 1:
            self.api.reject("ack", "already acknowledged", str(eid))
        if isinstance(msg.get("payload"), dict):
            self.api.check_ack(msg["payload"])

    async def send(self, envelope: dict[str, Any]) -> None:
        await asyncio.wait_for(self.connected.wait(), 5)
        self.sent.setdefault(envelope["envelope_id"], 0)
        await self._ws.send(json.dumps(envelope))

    async def ack_for(self, envelope_id: str, timeout: float = 3.0) -> dict[str, Any]:
        """The app's answer to ``envelope_id`` (other messages are skipped)."""
        async def _next() -> dict[str, Any]:
            while True:
                msg = await self.received.get()
                if msg.get("envelope_id") == envelope_id:
                    return msg

        return await asyncio.wait_for(_next(), timeout)
