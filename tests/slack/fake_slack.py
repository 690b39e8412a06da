"""A fake Slack Web API on loopback, speaking the real wire format, recording every call.

It runs on the test's own event loop (aiohttp), so tests wait on an ``asyncio.Condition``
(``await fake.wait_for(...)``) instead of sleeping. What it serves:

- Web API methods under ``/api/<method>`` (``auth.test``, ``chat.postMessage``, ``chat.update``,
  ``chat.postEphemeral``, ``conversations.history``/``info``/``members``, ``users.info``,
  ``usergroups.users.list``, ``apps.connections.open``), JSON or form bodies, GET or POST,
  bearer-token checked like Slack (``invalid_auth`` for an unknown token);
- ``/response/<id>``: a response_url receiver (what bolt's ``respond`` posts to);
- ``/files/<id>``: private file downloads (snippets), bearer-token checked;
- failures on demand: ``fail("chat.postMessage", status=429, retry_after=1, times=3)``,
  Slack errors (``error="channel_not_found"``), and "applied but the answer was lost"
  (``applied=True``) to exercise reconciliation.

Messages posted are kept per channel (with metadata), so ``conversations.history`` answers
like Slack and tests can read the channel as a user would.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from aiohttp import web

T = TypeVar("T")


@dataclass
class Call:
    """One request the fake received. ``token`` is what the bearer header carried."""

    method: str  # Web API method, or "response" / "file"
    http_method: str
    path: str
    args: dict[str, Any]
    token: str | None
    raw: bytes
    at: float = field(default_factory=time.monotonic)


@dataclass
class Failure:
    status: int = 200
    error: str | None = None
    retry_after: float | None = None
    applied: bool = False  # do the work, then answer with the failure (a lost response)


class FakeSlack:
    def __init__(self, *, bot_token: str = "xoxb-1-test", app_token: str = "xapp-1-test",
                 team_id: str = "T111", bot_user_id: str = "UBOT", bot_id: str = "BBOT") -> None:
        self.bot_token = bot_token
        self.app_token = app_token
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.calls: list[Call] = []
        self.messages: dict[str, list[dict[str, Any]]] = {}
        self.admins: set[str] = set()
        self.owners: set[str] = set()
        self.groups: dict[str, list[str]] = {}
        self.members: dict[str, list[str]] = {}
        self.files: dict[str, bytes] = {}
        self.ws_url: str | None = None
        self._failures: dict[str, list[Failure]] = {}
        self._ts = int(time.time() * 1_000_000)  # Slack ts are epoch seconds.micros
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.port = 0

    # Life cycle -------------------------------------------------------------------------------

    async def start(self) -> FakeSlack:
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/response/{rid}", self._response)
        app.router.add_get("/files/{fid}", self._file)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_url(self) -> str:
        """Pass as ``SLACK_API_URL`` / ``AsyncWebClient(base_url=...)`` (trailing slash)."""
        return f"http://127.0.0.1:{self.port}/api/"

    def response_url(self, rid: str = "r1") -> str:
        return f"http://127.0.0.1:{self.port}/response/{rid}"

    def file_url(self, fid: str) -> str:
        return f"http://127.0.0.1:{self.port}/files/{fid}"

    # Test controls ----------------------------------------------------------------------------

    def fail(self, method: str, *, status: int = 200, error: str | None = None,
             retry_after: float | None = None, times: int = 1, applied: bool = False) -> None:
        """Make the next ``times`` calls of ``method`` fail this way."""
        if status == 429 and error is None:
            error = "ratelimited"
        self._failures.setdefault(method, []).extend(
            Failure(status, error, retry_after, applied) for _ in range(times))

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def posts(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Messages that ended up in channels (after failures), oldest first."""
        chans = [channel] if channel else list(self.messages)
        return [m for c in chans for m in self.messages.get(c, [])]

    def received_text(self) -> str:
        """Everything the fake was sent (paths and bodies), for "no secret anywhere" checks."""
        return "\n".join(f"{c.path} {c.raw.decode('utf-8', 'replace')}" for c in self.calls)

    async def wait_for(self, predicate: Callable[[], T], timeout: float = 5.0) -> T:
        """Wait until ``predicate()`` is truthy (re-checked on every call the fake receives)."""
        async with self._changed:
            return await asyncio.wait_for(self._changed.wait_for(predicate), timeout)

    async def wait_calls(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        await self.wait_for(lambda: len(self.calls_to(method)) >= count, timeout)
        return self.calls_to(method)

    # HTTP handlers ----------------------------------------------------------------------------

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
        auth = request.headers.get("Authorization", "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else args.pop("token", None)
        call = Call(method, request.method, request.path_qs, args, token, raw)
        self.calls.append(call)
        return call

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

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
            await self._notify()

    def _answer(self, method: str, call: Call) -> web.Response:
        expected = self.app_token if method == "apps.connections.open" else self.bot_token
        if call.token != expected:
            return self._json({"ok": False, "error": "invalid_auth" if call.token else "not_authed"})
        pending = self._failures.get(method)
        failure = pending.pop(0) if pending else None
        if failure is not None and not failure.applied:
            return self._failure(failure)
        handler = getattr(self, "_m_" + method.replace(".", "_"), None)
        result = handler(call.args) if handler else {"ok": True}
        if failure is not None:
            return self._failure(failure)
        return self._json(result)

    def _failure(self, f: Failure) -> web.Response:
        headers = {"Retry-After": f"{f.retry_after:g}"} if f.retry_after is not None else {}
        if f.status >= 500:
            return web.Response(status=f.status, text="upstream trouble", headers=headers)
        return self._json({"ok": False, "error": f.error or "fatal_error"}, f.status, headers)

    # Web API methods ----------------------------------------------------------------------------

    def _m_auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": "https://fake.slack.test/", "team": "Fake Team", "user": "sora-bot",
                "team_id": self.team_id, "user_id": self.bot_user_id, "bot_id": self.bot_id,
                "is_enterprise_install": False}

    @staticmethod
    def _meta(args: dict[str, Any]) -> Any:
        meta = args.get("metadata")
        if isinstance(meta, str):
            try:
                meta = json.loads(meta)
            except ValueError:
                meta = None
        return meta

    @staticmethod
    def _blocks(args: dict[str, Any]) -> Any:
        blocks = args.get("blocks")
        return json.loads(blocks) if isinstance(blocks, str) else blocks

    def _m_chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel"))
        ts = self._next_ts()
        msg = {"type": "message", "ts": ts, "user": self.bot_user_id, "bot_id": self.bot_id,
               "text": args.get("text", ""), "blocks": self._blocks(args)}
        if args.get("thread_ts"):
            msg["thread_ts"] = args["thread_ts"]
        if meta := self._meta(args):
            msg["metadata"] = meta
        self.messages.setdefault(channel, []).append(msg)
        return {"ok": True, "channel": channel, "ts": ts, "message": msg}

    def _m_chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, ts = str(args.get("channel")), str(args.get("ts"))
        for msg in self.messages.get(channel, []):
            if msg["ts"] == ts:
                msg["text"] = args.get("text", msg["text"])
                if "blocks" in args:
                    msg["blocks"] = self._blocks(args)
                msg["edited"] = {"user": self.bot_user_id, "ts": self._next_ts()}
                return {"ok": True, "channel": channel, "ts": ts, "text": msg["text"]}
        return {"ok": False, "error": "message_not_found"}

    def _m_chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "message_ts": self._next_ts()}

    def _m_conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel"))
        oldest = float(args.get("oldest") or 0)
        latest = float(args["latest"]) if args.get("latest") else None
        inclusive = str(args.get("inclusive", "")).lower() in ("1", "true")
        with_meta = str(args.get("include_all_metadata", "")).lower() in ("1", "true")
        limit = int(args.get("limit") or 100)
        out = []
        for msg in reversed(self.messages.get(channel, [])):
            if "thread_ts" in msg and msg["thread_ts"] != msg["ts"]:
                continue  # history lists parents, like Slack
            ts = float(msg["ts"])
            if ts < oldest or (latest is not None and (ts > latest or (ts == latest and not inclusive))):
                continue
            item = dict(msg)
            if not with_meta:
                item.pop("metadata", None)
            out.append(item)
        return {"ok": True, "messages": out[:limit], "has_more": len(out) > limit}

    def _m_conversations_replies(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, ts = str(args.get("channel")), str(args.get("ts"))
        oldest = float(args.get("oldest") or 0)
        with_meta = str(args.get("include_all_metadata", "")).lower() in ("1", "true")
        thread = [m for m in self.messages.get(channel, [])
                  if m["ts"] == ts or m.get("thread_ts") == ts]
        if not any(m["ts"] == ts for m in thread):
            return {"ok": False, "error": "thread_not_found"}
        out = []
        for msg in thread:
            if msg["ts"] != ts and float(msg["ts"]) < oldest:
                continue
            item = dict(msg)
            if not with_meta:
                item.pop("metadata", None)
            out.append(item)
        return {"ok": True, "messages": out, "has_more": False}

    def _m_conversations_info(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel"))
        return {"ok": True, "channel": {"id": channel, "name": channel.lower(), "is_member": True,
                                        "is_channel": channel.startswith("C"),
                                        "is_private": channel.startswith("G")}}

    def _m_conversations_members(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel"))
        if channel not in self.members:
            return {"ok": False, "error": "channel_not_found"}
        return {"ok": True, "members": list(self.members[channel]),
                "response_metadata": {"next_cursor": ""}}

    def _m_users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = str(args.get("user"))
        return {"ok": True, "user": {"id": user, "team_id": self.team_id, "name": user.lower(),
                                     "is_admin": user in self.admins or user in self.owners,
                                     "is_owner": user in self.owners, "is_bot": False}}

    def _m_usergroups_users_list(self, args: dict[str, Any]) -> dict[str, Any]:
        group = str(args.get("usergroup"))
        if group not in self.groups:
            return {"ok": False, "error": "no_such_subteam"}
        return {"ok": True, "users": list(self.groups[group])}

    def _m_apps_connections_open(self, args: dict[str, Any]) -> dict[str, Any]:
        if not self.ws_url:
            return {"ok": False, "error": "socket_mode_not_enabled"}
        return {"ok": True, "url": self.ws_url}

    # Non-API endpoints -----------------------------------------------------------------------------

    async def _response(self, request: web.Request) -> web.Response:
        await self._record(request, "response")
        await self._notify()
        return web.Response(text="ok")

    async def _file(self, request: web.Request) -> web.Response:
        call = await self._record(request, "file")
        await self._notify()
        if call.token != self.bot_token:
            return web.Response(status=302, headers={"Location": "/login"})
        data = self.files.get(request.match_info["fid"])
        if data is None:
            return web.Response(status=404)
        return web.Response(body=data, content_type="text/plain")

    def responses(self) -> list[dict[str, Any]]:
        return [c.args for c in self.calls_to("response")]


class FakeSocketMode:
    """Slack's Socket Mode endpoint on loopback (``websockets``): says hello, sends envelopes,
    and collects what the app sends back (acks carry the same ``envelope_id``)."""

    def __init__(self) -> None:
        self.connected = asyncio.Event()
        self.received: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
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
            await self.received.put(json.loads(message))

    async def send(self, envelope: dict[str, Any]) -> None:
        await asyncio.wait_for(self.connected.wait(), 5)
        await self._ws.send(json.dumps(envelope))

    async def ack_for(self, envelope_id: str, timeout: float = 3.0) -> dict[str, Any]:
        """The app's answer to ``envelope_id`` (other messages are skipped)."""
        async def _next() -> dict[str, Any]:
            while True:
                msg = await self.received.get()
                if msg.get("envelope_id") == envelope_id:
                    return msg

        return await asyncio.wait_for(_next(), timeout)
