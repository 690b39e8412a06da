"""A fake Discord REST API and gateway on loopback, speaking the real wire format.

It runs on the test's own event loop (aiohttp on 127.0.0.1:0), so tests wait on an
``asyncio.Condition`` (``await fake.wait_calls(...)``) instead of sleeping. Real discord.py is
pointed at it with ``DISCORD_API_URL`` (``…/api/v10``) and ``DISCORD_GATEWAY_URL`` (``…/gateway``).

REST (bot-token checked like Discord: ``Authorization: Bot <token>``, 401 otherwise):
``GET /users/@me``, ``GET /oauth2/applications/@me``, ``PUT/GET /applications/{id}/commands``,
``POST /interactions/{id}/{token}/callback`` (an UPDATE_MESSAGE answer edits the clicked
message, as Discord does), followups ``POST /webhooks/{app}/{token}`` and
``PATCH|GET|DELETE /webhooks/{app}/{token}/messages/{id|@original}``, channel messages
``POST|GET /channels/{id}/messages`` (``limit``/``before``/``after``, newest first, with
``nonce`` + ``enforce_nonce`` deduplication like Discord, and — like Discord — no nonce in what
a read returns), ``GET|PATCH /channels/{id}/messages/{mid}``, and ``/attachments/…`` downloads.
Answers are ``Content-Type: application/json`` exactly (discord.py parses nothing else).

Gateway (``/gateway``): HELLO, heartbeat ACKs, IDENTIFY → READY + GUILD_CREATE (token checked:
4004 on a wrong one; ``refuse_message_content`` closes with 4014 like Discord does when the
intent is not enabled), RESUME → RESUMED, and ``dispatch(event, data)`` for tests.

Failures on demand: ``fail("create_message", status=429, retry_after=0.5, times=1)``, Discord
error codes (``code=50001``), and "applied but the answer was lost" (``applied=True``).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from aiohttp import WSMsgType, web

T = TypeVar("T")
DISCORD_EPOCH_MS = 1420070400000
NONCE_WINDOW_S = 300.0

# Permission bits (discord.com/developers/docs/topics/permissions).
ADMINISTRATOR = 1 << 3
MANAGE_CHANNELS = 1 << 4
MANAGE_GUILD = 1 << 5
EMBED_LINKS = 1 << 14
MEMBER = (1 << 10) | (1 << 11) | (1 << 16) | (1 << 31) | (1 << 6) | EMBED_LINKS  # view, send, history, app cmds
ALL = (1 << 50) - 1
MESSAGE_CONTENT_INTENT = 1 << 15


@dataclass
class Call:
    """One request the fake received."""

    route: str  # e.g. "create_message", "interaction_callback"
    http_method: str
    path: str
    query: dict[str, str]
    body: Any
    raw: bytes
    auth: str | None
    params: dict[str, str] = field(default_factory=dict)
    at: float = field(default_factory=time.monotonic)


@dataclass
class Failure:
    status: int
    code: int | None = None
    message: str | None = None
    retry_after: float | None = None
    header_retry_after: str | None = None
    is_global: bool = False
    applied: bool = False


class FakeDiscord:
    def __init__(self, *, token: str = "MTA.fake-bot-token.Secret-XYZ", guild_id: int = 900001,
                 channel_id: int = 900010, app_id: int = 900100, bot_id: int = 900200) -> None:
        self.token = token
        self.guild_id = guild_id
        self.channel_id = channel_id
        self.app_id = app_id
        self.bot_id = bot_id
        self.calls: list[Call] = []
        self.messages: dict[str, list[dict[str, Any]]] = {}
        self.commands: list[dict[str, Any]] = []
        self.attachments: dict[str, bytes] = {}
        self.identifies: list[dict[str, Any]] = []
        self.refuse_message_content = False
        # a channel where @everyone (so the bot too) may not embed links
        self.plain_channel_id = channel_id + 1
        self.gateway_sockets: list[web.WebSocketResponse] = []
        self.sent_events: list[dict[str, Any]] = []
        self._failures: dict[str, list[Failure]] = {}
        self._nonces: dict[str, tuple[float, dict[str, Any]]] = {}
        self._interaction_messages: dict[str, tuple[str, str]] = {}
        self._seq = itertools.count(1)
        self._ids = itertools.count(1)
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.port = 0

    # Life cycle -------------------------------------------------------------------------------

    async def start(self) -> FakeDiscord:
        app = web.Application(client_max_size=8 * 1024 * 1024)
        app.router.add_get("/gateway", self._gateway)
        app.router.add_get("/attachments/{name}", self._attachment)
        app.router.add_route("*", "/api/v10/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def close(self) -> None:
        for ws in list(self.gateway_sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    # Test helpers -----------------------------------------------------------------------------

    def snowflake(self) -> str:
        ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        return str((ms << 22) | (next(self._ids) & 0x3FFFFF))

    def fail(self, route: str, *, status: int, code: int | None = None, message: str | None = None,
             retry_after: float | None = None, header_retry_after: str | None = None,
             is_global: bool = False, applied: bool = False, times: int = 1) -> None:
        f = Failure(status, code, message, retry_after, header_retry_after, is_global, applied)
        self._failures.setdefault(route, []).extend([f] * times)

    def calls_to(self, route: str) -> list[Call]:
        return [c for c in self.calls if c.route == route]

    def posts(self, channel: str | int) -> list[dict[str, Any]]:
        """The channel's messages, oldest first (as stored: edits applied)."""
        return list(self.messages.get(str(channel), []))

    def received_text(self) -> str:
        """Everything sent to the fake (REST bodies and gateway frames), for leak checks."""
        rest = "\n".join(c.raw.decode("utf-8", "replace") + " " + c.path + " " + json.dumps(c.query)
                         for c in self.calls)
        return rest + "\n" + "\n".join(json.dumps(i) for i in self.identifies)

    async def wait_for(self, predicate: Callable[[], T], timeout: float = 5.0) -> T:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(predicate), timeout)
        return predicate()

    async def wait_calls(self, route: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        await self.wait_for(lambda: len(self.calls_to(route)) >= count, timeout)
        return self.calls_to(route)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # Objects ---------------------------------------------------------------------------------

    def bot_user(self) -> dict[str, Any]:
        return {"id": str(self.bot_id), "username": "sora-bot", "discriminator": "0",
                "global_name": None, "avatar": None, "bot": True, "flags": 0, "verified": True,
                "mfa_enabled": False, "public_flags": 0}

    @staticmethod
    def user(user_id: int | str, name: str = "alice", *, bot: bool = False) -> dict[str, Any]:
        return {"id": str(user_id), "username": name, "discriminator": "0", "global_name": name,
                "avatar": None, "bot": bot, "public_flags": 0}

    def member(self, user_id: int | str, name: str = "alice", *, roles: list[str] | None = None,
               permissions: int | None = None) -> dict[str, Any]:
        m: dict[str, Any] = {"user": self.user(user_id, name), "roles": roles or [], "nick": None,
                             "avatar": None, "joined_at": "2024-01-01T00:00:00+00:00",
                             "deaf": False, "mute": False, "flags": 0, "pending": False}
        if permissions is not None:
            m["permissions"] = str(permissions)
        return m

    def channel(self, channel_id: int | str | None = None) -> dict[str, Any]:
        return {"id": str(channel_id or self.channel_id), "type": 0, "guild_id": str(self.guild_id),
                "name": "general", "position": 0, "permission_overwrites": [], "nsfw": False,
                "parent_id": None, "topic": None, "last_message_id": None, "rate_limit_per_user": 0,
                "flags": 0}

    def guild(self) -> dict[str, Any]:
        g = str(self.guild_id)
        return {
            "id": g, "name": "Fake guild", "icon": None, "splash": None, "discovery_splash": None,
            "owner_id": "1", "afk_channel_id": None, "afk_timeout": 300, "verification_level": 0,
            "default_message_notifications": 0, "explicit_content_filter": 0, "features": [],
            "mfa_level": 0, "application_id": None, "system_channel_id": None,
            "system_channel_flags": 0, "rules_channel_id": None, "vanity_url_code": None,
            "description": None, "banner": None, "premium_tier": 0, "premium_subscription_count": 0,
            "preferred_locale": "en-US", "public_updates_channel_id": None, "nsfw_level": 0,
            "premium_progress_bar_enabled": False, "unavailable": False, "large": False,
            "member_count": 3, "joined_at": "2024-01-01T00:00:00+00:00",
            "roles": [{"id": g, "name": "@everyone", "permissions": str(MEMBER), "position": 0,
                       "color": 0, "hoist": False, "managed": False, "mentionable": False,
                       "flags": 0},
                      {"id": "900300", "name": "mods", "permissions": str(MEMBER | MANAGE_CHANNELS),
                       "position": 1, "color": 0, "hoist": False, "managed": False,
                       "mentionable": False, "flags": 0}],
            "emojis": [], "stickers": [], "threads": [],
            "channels": [self.channel(), {**self.channel(self.plain_channel_id), "name": "plain",
                                          "permission_overwrites": [{"id": g, "type": 0, "allow": "0",
                                                                     "deny": str(EMBED_LINKS)}]}],
            "members": [self.member(self.bot_id, "sora-bot")], "voice_states": [], "presences": [],
            "stage_instances": [], "guild_scheduled_events": [], "soundboard_sounds": [],
        }

    def message(self, content: str, *, author_id: int | str = 700001, name: str = "alice",
                channel_id: int | str | None = None, guild: bool = True, bot: bool = False,
                roles: list[str] | None = None, attachments: list[dict[str, Any]] | None = None,
                mention_bot: bool = False, webhook_id: str | None = None, msg_type: int = 0
                ) -> dict[str, Any]:
        """A MESSAGE_CREATE payload as Discord sends it to a bot."""
        d: dict[str, Any] = {
            "id": self.snowflake(), "channel_id": str(channel_id or self.channel_id),
            "author": self.user(author_id, name, bot=bot), "content": content,
            "timestamp": "2024-06-01T12:00:00.000000+00:00", "edited_timestamp": None, "tts": False,
            "mention_everyone": False, "mentions": [self.bot_user()] if mention_bot else [],
            "mention_roles": [], "attachments": attachments or [], "embeds": [], "pinned": False,
            "type": msg_type, "flags": 0, "components": [],
        }
        if webhook_id:
            d["webhook_id"] = webhook_id
        if guild:
            d["guild_id"] = str(self.guild_id)
            member = self.member(author_id, name, roles=roles)
            member.pop("user")
            d["member"] = member
        return d

    def attachment(self, name: str, data: bytes, content_type: str = "text/plain; charset=utf-8"
                   ) -> dict[str, Any]:
        self.attachments[name] = data
        url = f"{self.base}/attachments/{name}"
        return {"id": self.snowflake(), "filename": name, "size": len(data), "url": url,
                "proxy_url": url, "content_type": content_type}

    def interaction(self, sub: str | None, options: dict[str, Any] | None = None, *,
                    user_id: int | str = 700001, permissions: int = MEMBER, guild: bool = True,
                    channel_id: int | str | None = None, component: str | None = None,
                    message: dict[str, Any] | None = None) -> dict[str, Any]:
        """An INTERACTION_CREATE payload: ``/sora <sub> options…`` or a button click."""
        iid = self.snowflake()
        d: dict[str, Any] = {
            "id": iid, "application_id": str(self.app_id), "type": 2, "token": f"itok-{iid}",
            "version": 1, "channel_id": str(channel_id or self.channel_id),
            "app_permissions": str(ALL), "locale": "en-US", "entitlements": [],
            "attachment_size_limit": 10485760, "context": 0 if guild else 1,
        }
        if guild:
            d["guild_id"] = str(self.guild_id)
            d["guild_locale"] = "en-US"
            d["guild"] = {"id": str(self.guild_id), "locale": "en-US", "features": []}
            d["channel"] = self.channel(channel_id)
            d["member"] = self.member(user_id, permissions=permissions)
            d["authorizing_integration_owners"] = {"0": str(self.guild_id)}
        else:
            d["channel"] = {"id": str(channel_id or self.channel_id), "type": 1,
                            "recipients": [self.user(user_id)], "last_message_id": None, "flags": 0}
            d["user"] = self.user(user_id)
            d["authorizing_integration_owners"] = {"0": str(user_id)}
        if component is not None:
            d["type"] = 3
            d["data"] = {"custom_id": component, "component_type": 2}
            d["message"] = message
        else:
            types = {bool: 5, int: 4, str: 3}
            opts = [{"name": k, "type": types[type(v)], "value": v}
                    for k, v in (options or {}).items()]
            d["data"] = {"id": "1300", "name": "sora", "type": 1,
                         "options": [{"name": sub, "type": 1, "options": opts}]}
        return d

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Send a DISPATCH to every connected gateway session."""
        if not self.gateway_sockets:
            raise AssertionError("no gateway session to dispatch to")
        if event == "INTERACTION_CREATE" and data.get("message"):
            self._interaction_messages[str(data["id"])] = (str(data["message"]["channel_id"]),
                                                          str(data["message"]["id"]))
        frame = {"op": 0, "t": event, "s": next(self._seq), "d": data}
        self.sent_events.append(frame)
        for ws in list(self.gateway_sockets):
            await ws.send_str(json.dumps(frame))

    # Gateway ----------------------------------------------------------------------------------

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": 41250},
                                      "s": None, "t": None}))
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                frame = json.loads(msg.data)
                op = frame.get("op")
                if op == 1:
                    await ws.send_str(json.dumps({"op": 11}))
                elif op == 2:
                    await self._identify(ws, frame["d"])
                elif op == 6:
                    self.gateway_sockets.append(ws)
                    await ws.send_str(json.dumps({"op": 0, "t": "RESUMED", "s": next(self._seq), "d": {}}))
        finally:
            if ws in self.gateway_sockets:
                self.gateway_sockets.remove(ws)
            await self._notify()
        return ws

    async def _identify(self, ws: web.WebSocketResponse, d: dict[str, Any]) -> None:
        self.identifies.append(d)
        if d.get("token") != self.token:
            await ws.close(code=4004, message=b"Authentication failed.")
            return
        if self.refuse_message_content and int(d.get("intents", 0)) & MESSAGE_CONTENT_INTENT:
            await ws.close(code=4014, message=b"Disallowed intent(s).")
            return
        self.gateway_sockets.append(ws)
        ready = {"v": 10, "user": self.bot_user(), "guilds": [{"id": str(self.guild_id), "unavailable": True}],
                 "session_id": "fake-session", "resume_gateway_url": self.gateway_url,
                 "application": {"id": str(self.app_id), "flags": 0}, "private_channels": [],
                 "relationships": [], "user_settings": {}}
        await ws.send_str(json.dumps({"op": 0, "t": "READY", "s": next(self._seq), "d": ready}))
        await ws.send_str(json.dumps({"op": 0, "t": "GUILD_CREATE", "s": next(self._seq),
                                      "d": self.guild()}))
        await self._notify()

    # REST -------------------------------------------------------------------------------------

    ROUTES: tuple[tuple[str, str, str], ...] = (
        ("GET", "users/@me", "users_me"),
        ("GET", "oauth2/applications/@me", "app_info"),
        ("PUT", "applications/{app}/commands", "bulk_commands"),
        ("GET", "applications/{app}/commands", "get_commands"),
        ("POST", "interactions/{iid}/{itoken}/callback", "interaction_callback"),
        ("POST", "webhooks/{app}/{itoken}", "followup"),
        ("PATCH", "webhooks/{app}/{itoken}/messages/{mid}", "edit_followup"),
        ("GET", "webhooks/{app}/{itoken}/messages/{mid}", "get_followup"),
        ("DELETE", "webhooks/{app}/{itoken}/messages/{mid}", "delete_followup"),
        ("POST", "channels/{cid}/messages", "create_message"),
        ("GET", "channels/{cid}/messages", "get_messages"),
        ("GET", "channels/{cid}/messages/{mid}", "get_message"),
        ("PATCH", "channels/{cid}/messages/{mid}", "edit_message"),
        ("POST", "channels/{cid}/typing", "typing"),
    )

    def _match(self, method: str, tail: str) -> tuple[str, dict[str, str]] | None:
        parts = tail.strip("/").split("/")
        for m, pattern, name in self.ROUTES:
            pp = pattern.split("/")
            if m != method or len(pp) != len(parts):
                continue
            params: dict[str, str] = {}
            for want, got in zip(pp, parts, strict=False):
                if want.startswith("{"):
                    params[want[1:-1]] = got
                elif want != got:
                    break
            else:
                return name, params
        return None

    @staticmethod
    def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
        # exactly application/json: discord.py's json_or_text parses nothing else
        return web.Response(status=status, body=json.dumps(data).encode(),
                            headers={"Content-Type": "application/json", **(headers or {})})

    async def _rest(self, request: web.Request) -> web.Response:
        raw = await request.read()
        tail = request.match_info["tail"]
        matched = self._match(request.method, tail)
        route, params = matched if matched else ("unknown", {})
        body: Any = None
        if raw:
            if request.content_type == "application/json":
                body = json.loads(raw)
            elif request.content_type.startswith("multipart/"):
                body = {"multipart": raw.decode("utf-8", "replace")}
                for chunk in raw.decode("utf-8", "replace").split("\r\n"):
                    if chunk.startswith("{"):
                        body = json.loads(chunk)
                        break
        call = Call(route, request.method, "/" + tail, dict(parse_qsl(request.query_string)),
                    body, raw, request.headers.get("Authorization"), params)
        self.calls.append(call)
        try:
            return await self._answer(call)
        finally:
            await self._notify()

    async def _answer(self, call: Call) -> web.Response:
        is_webhook = call.route in ("interaction_callback", "followup", "edit_followup",
                                    "get_followup", "delete_followup")
        if not is_webhook and call.auth != f"Bot {self.token}":
            return self._json({"message": "401: Unauthorized", "code": 0}, 401)
        if call.route == "unknown":
            return self._json({"message": "404: Not Found", "code": 0}, 404)
        pending = self._failures.get(call.route)
        failure = pending.pop(0) if pending else None
        if failure is not None and not failure.applied:
            return self._failure(failure)
        result = getattr(self, f"_r_{call.route}")(call)
        if failure is not None:
            return self._failure(failure)
        if isinstance(result, web.Response):
            return result
        if result is None:
            return web.Response(status=204)
        return self._json(result)

    def _failure(self, f: Failure) -> web.Response:
        headers = {"Via": "1.1 google"}
        if f.status == 429:
            body: dict[str, Any] = {"message": f.message or "You are being rate limited.",
                                    "global": f.is_global}
            if f.retry_after is not None:
                body["retry_after"] = f.retry_after
            if f.header_retry_after is not None:
                headers["Retry-After"] = f.header_retry_after
            headers["X-RateLimit-Scope"] = "global" if f.is_global else "user"
            return self._json(body, 429, headers)
        if f.status >= 500:
            return web.Response(status=f.status, body=b"<html>upstream error</html>",
                                headers={"Content-Type": "text/html"})
        return self._json({"message": f.message or "error", "code": f.code or 0}, f.status, headers)

    # Route handlers ---------------------------------------------------------------------------

    def _r_users_me(self, call: Call) -> dict[str, Any]:
        return self.bot_user()

    def _r_app_info(self, call: Call) -> dict[str, Any]:
        return {"id": str(self.app_id), "name": "sora-bot", "icon": None, "description": "",
                "rpc_origins": [], "bot_public": True, "bot_require_code_grant": False,
                "verify_key": "0" * 64, "flags": 0, "team": None, "summary": "",
                "owner": self.user(1, "owner"), "bot": self.bot_user()}

    def _r_bulk_commands(self, call: Call) -> list[dict[str, Any]]:
        out = []
        for i, cmd in enumerate(call.body or []):
            out.append({**cmd, "id": str(1300 + i), "application_id": str(self.app_id),
                        "version": "1", "default_member_permissions": cmd.get("default_member_permissions"),
                        "type": cmd.get("type", 1)})
        self.commands = out
        return out

    def _r_get_commands(self, call: Call) -> list[dict[str, Any]]:
        return self.commands

    def _r_interaction_callback(self, call: Call) -> dict[str, Any]:
        body = call.body or {}
        data = body.get("data") or {}
        where = self._interaction_messages.get(call.params["iid"])
        if body.get("type") == 7 and where is not None:  # UPDATE_MESSAGE edits the clicked message
            msg = self._find(*where)
            for key in ("content", "embeds", "components"):
                if msg is not None and key in data:
                    msg[key] = data[key]
        return {"interaction": {"id": call.params["iid"], "type": 2,
                                "response_message_id": self.snowflake(),
                                "response_message_loading": body.get("type") == 5,
                                "response_message_ephemeral": bool(int(data.get("flags") or 0) & 64)}}

    def _new_message(self, channel_id: str, body: dict[str, Any], *, webhook: bool = False
                     ) -> dict[str, Any]:
        msg = {"id": self.snowflake(), "channel_id": channel_id, "type": 0,
               "author": self.bot_user(), "content": body.get("content") or "",
               "embeds": body.get("embeds") or [], "components": body.get("components") or [],
               "attachments": [], "mentions": [], "mention_roles": [], "mention_everyone": False,
               "pinned": False, "tts": False, "timestamp": "2024-06-01T12:00:00.000000+00:00",
               "edited_timestamp": None, "flags": int(body.get("flags") or 0)}
        ref = body.get("message_reference")
        if ref:
            msg["message_reference"] = {"message_id": str(ref.get("message_id")),
                                        "channel_id": str(ref.get("channel_id") or channel_id)}
            msg["type"] = 19
        if webhook:
            msg["webhook_id"] = str(self.app_id)
        return msg

    def _r_create_message(self, call: Call) -> dict[str, Any]:
        body = call.body or {}
        cid = call.params["cid"]
        nonce = body.get("nonce")
        if nonce is not None and len(str(nonce)) > 25:
            return self._json({"message": "Invalid Form Body", "code": 50035}, 400)  # type: ignore[return-value]
        if nonce is not None and body.get("enforce_nonce"):
            seen = self._nonces.get(str(nonce))
            if seen is not None and time.monotonic() - seen[0] < NONCE_WINDOW_S:
                return seen[1]
        msg = self._new_message(cid, body)
        self.messages.setdefault(cid, []).append(msg)
        answer = dict(msg)
        if nonce is not None:
            answer["nonce"] = nonce
            if body.get("enforce_nonce"):
                self._nonces[str(nonce)] = (time.monotonic(), msg)
        return answer

    def _r_get_messages(self, call: Call) -> list[dict[str, Any]]:
        msgs = sorted(self.messages.get(call.params["cid"], []), key=lambda m: int(m["id"]),
                      reverse=True)
        limit = max(1, min(100, int(call.query.get("limit", 50))))
        if "before" in call.query:
            msgs = [m for m in msgs if int(m["id"]) < int(call.query["before"])]
        if "after" in call.query:
            msgs = [m for m in msgs if int(m["id"]) > int(call.query["after"])][-limit:]
        return msgs[:limit]

    def _find(self, cid: str, mid: str) -> dict[str, Any] | None:
        return next((m for m in self.messages.get(cid, []) if m["id"] == mid), None)

    def _r_get_message(self, call: Call) -> Any:
        msg = self._find(call.params["cid"], call.params["mid"])
        if msg is None:
            return self._json({"message": "Unknown Message", "code": 10008}, 404)
        return msg

    def _r_edit_message(self, call: Call) -> Any:
        msg = self._find(call.params["cid"], call.params["mid"])
        if msg is None:
            return self._json({"message": "Unknown Message", "code": 10008}, 404)
        for key in ("content", "embeds", "components"):
            if key in (call.body or {}):
                msg[key] = call.body[key]
        msg["edited_timestamp"] = "2024-06-01T12:01:00.000000+00:00"
        return msg

    def _r_typing(self, call: Call) -> None:
        return None

    def _r_followup(self, call: Call) -> dict[str, Any]:
        return self._new_message(str(self.channel_id), call.body or {}, webhook=True)

    def _r_edit_followup(self, call: Call) -> dict[str, Any]:
        return self._new_message(str(self.channel_id), call.body or {}, webhook=True)

    def _r_get_followup(self, call: Call) -> dict[str, Any]:
        return self._new_message(str(self.channel_id), {}, webhook=True)

    def _r_delete_followup(self, call: Call) -> None:
        return None

    async def _attachment(self, request: web.Request) -> web.Response:
        data = self.attachments.get(request.match_info["name"])
        if data is None:
            return web.Response(status=404)
        self.calls.append(Call("attachment", "GET", request.path, {}, None, b"",
                               request.headers.get("Authorization")))
        await self._notify()
        return web.Response(body=data, headers={"Content-Type": "text/plain"})

    # Reading what the bot answered --------------------------------------------------------------

    def responses(self) -> list[dict[str, Any]]:
        """Interaction answers in order: callback bodies with data, then followup bodies."""
        out = []
        for c in self.calls:
            if c.route == "interaction_callback" and (c.body or {}).get("data"):
                out.append({"via": "callback", "type": c.body.get("type"), **c.body["data"]})
            elif c.route == "followup":
                out.append({"via": "followup", **(c.body or {})})
        return out
