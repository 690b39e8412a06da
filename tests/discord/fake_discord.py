"""A fake Discord REST API and gateway on loopback, as strict as Discord, in its wire format.

It runs on the test's own event loop (aiohttp on 127.0.0.1:0), so tests wait on its state
(``await fake.wait_calls(...)``) instead of sleeping; recording and failure injection are shared
with the Slack fake (``tests/platform_fake.py``). Real discord.py is pointed at it with
``DISCORD_API_URL`` (``…/api/v10``) and ``DISCORD_GATEWAY_URL`` (``…/gateway``).

REST (bot-token checked: ``Authorization: Bot <token>``, 401 otherwise): ``GET /users/@me``,
``GET /oauth2/applications/@me``, ``PUT/GET /applications/{id}/commands``, ``POST
/interactions/{id}/{token}/callback`` (an UPDATE_MESSAGE edits the clicked message), followups
``POST /webhooks/{app}/{token}`` and ``PATCH|GET|DELETE /webhooks/{app}/{token}/messages/{id}``,
channel messages ``POST|GET /channels/{id}/messages`` (``limit``/``before``/``after``, newest
first, ``nonce`` + ``enforce_nonce`` deduplication, no nonce in what a read returns), ``GET|PATCH
/channels/{id}/messages/{mid}``, and ``/attachments/…`` downloads. Answers are
``Content-Type: application/json`` exactly (discord.py parses nothing else).

Strict like Discord:

- bodies are validated against JSON Schemas written from the official OpenAPI description
  (``discord_schema.py``): a violation is HTTP 400 ``{"code": 50035, "message": "Invalid Form
  Body", "errors": {<nested by field>: {"_errors": [{"code", "message"}]}}}``; ids in the URL
  must be snowflakes (50035 ``NUMBER_TYPE_COERCE``); an empty message is 50006;
- channels must exist (10003 Unknown Channel), messages too (10008);
- an interaction is answered once: a second initial response is 400 40060 ("Interaction has
  already been acknowledged."), an unknown one 404 10062, a followup before the answer or for
  an unknown token 404 10015 (Unknown Webhook);
- every answer carries the rate-limit headers (``X-RateLimit-Limit/-Remaining/-Reset/
  -Reset-After/-Bucket``); past a bucket's limit, or when a test injects it, a 429 with
  ``{"message", "retry_after", "global"}``, ``Retry-After`` and ``X-RateLimit-Scope``;
- the ids it makes are real snowflakes (time-ordered, from Discord's epoch).

Every refusal the fake makes on its own lands in ``fake.rejections`` (see ``platform_fake``).

Gateway (``/gateway``; resumes go to READY's ``resume_gateway_url``, ``/gateway-resume``):
HELLO, heartbeat ACKs, IDENTIFY → READY + GUILD_CREATE (token checked: 4004; with
``refuse_message_content``, 4014 like Discord when the intent is not enabled), RESUME → the
missed events + RESUMED (an unknown session: op 9 ``false``), ``dispatch(event, data)`` for
tests, and on demand op 7 Reconnect (``request_reconnect``) and op 9 Invalid Session
(``invalidate_session(resumable=...)``). With ``compress=zlib-stream`` in the query every frame
is binary, from one zlib context per connection, each message ending in Z_SYNC_FLUSH
(``00 00 ff ff``), the big ones split over two frames, as Discord does.

Interactions the person makes are built from what the bot showed them, as Discord's client
would: ``interaction(None, component=…, values=[…], message=…)`` picks options of that
message's select (refusing a value it does not offer), ``modal_submit([...])`` fills the text
inputs of the modal the bot answered with, within their lengths, once.

Failures on demand: ``fail("create_message", status=429, retry_after=0.5, times=1)``, Discord
error codes (``code=50001``), "applied but the answer was lost" (``applied=True``) and "ok
without the id" (``omit="id"``).
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import math
import time
import uuid
import zlib
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import WSMsgType, web

from tests.discord import discord_schema as schema
from tests.platform_fake import Call, Failure, PlatformFake

DISCORD_EPOCH_MS = 1420070400000
BASE_MS = 1717200000000  # 2024-06-01: the fake's fixed ids are made "then"
NONCE_WINDOW_S = 300.0

# Permission bits (discord.com/developers/docs/topics/permissions).
ADMINISTRATOR = 1 << 3
MANAGE_CHANNELS = 1 << 4
MANAGE_GUILD = 1 << 5
EMBED_LINKS = 1 << 14
MEMBER = (1 << 10) | (1 << 11) | (1 << 16) | (1 << 31) | (1 << 6) | EMBED_LINKS  # view, send, history, app cmds
ALL = (1 << 50) - 1
MESSAGE_CONTENT_INTENT = 1 << 15
ZLIB_SUFFIX = b"\x00\x00\xff\xff"

WEBHOOK_ROUTES = frozenset({"interaction_callback", "followup", "edit_followup", "get_followup",
                            "delete_followup"})
# Discord's JSON errors the fake answers on its own: (HTTP status, code, message)
UNKNOWN_CHANNEL = (404, 10003, "Unknown Channel")
UNKNOWN_MESSAGE = (404, 10008, "Unknown Message")
UNKNOWN_WEBHOOK = (404, 10015, "Unknown Webhook")
UNKNOWN_INTERACTION = (404, 10062, "Unknown interaction")
EMPTY_MESSAGE = (400, 50006, "Cannot send an empty message")
ALREADY_ACKNOWLEDGED = (400, 40060, "Interaction has already been acknowledged.")


def snowflake_at(ms: int, seq: int) -> int:
    """A Discord id: milliseconds since Discord's epoch, then worker/process/increment bits."""
    return ((ms - DISCORD_EPOCH_MS) << 22) | (seq & 0xFFF)


class Refusal(Exception):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(body.get("message"))
        self.status = status
        self.body = body


def refusal(error: tuple[int, int, str]) -> Refusal:
    status, code, message = error
    return Refusal(status, {"message": message, "code": code})


@dataclass
class Interaction:
    token: str
    kind: int  # 2 command, 3 component, 5 modal submit
    acked: bool = False
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass
class ShownModal:
    """A modal the bot answered an interaction with (callback type 9), until it is submitted."""

    data: dict[str, Any]
    opened_by: dict[str, Any]  # the interaction it answered
    submitted: bool = False


@dataclass
class Session:
    id: str
    events: list[dict[str, Any]] = field(default_factory=list)  # dispatched while it was away
    valid: bool = True


@dataclass
class Bucket:
    limit: int
    window_s: float
    reset_at: float = 0.0
    used: int = 0


class FakeDiscord(PlatformFake):
    def __init__(self, *, token: str = "MTA.fake-bot-token.Secret-XYZ", rate_limit: int = 50,
                 rate_window_s: float = 1.0) -> None:
        super().__init__()
        self.token = token
        ids = (snowflake_at(BASE_MS, i) for i in itertools.count(1))
        self.guild_id, self.channel_id, self.app_id, self.bot_id = next(ids), next(ids), next(ids), next(ids)
        self.mods_role_id, self.owner_id, self.user_id = next(ids), next(ids), next(ids)
        self.command_id = str(next(ids))
        # a channel where @everyone (so the bot too) may not embed links
        self.plain_channel_id = self.channel_id + 1
        self.channels: set[str] = {str(self.channel_id), str(self.plain_channel_id)}
        self.messages: dict[str, list[dict[str, Any]]] = {}
        self.commands: list[dict[str, Any]] = []
        self.attachments: dict[str, bytes] = {}
        self.identifies: list[dict[str, Any]] = []
        self.resumes: list[dict[str, Any]] = []
        self.refuse_message_content = False
        self.gateway_sockets: list[web.WebSocketResponse] = []
        self.compressed: list[bool] = []  # per connection: did it speak zlib-stream?
        self.sent_events: list[dict[str, Any]] = []
        self.rate_limit = rate_limit
        self.rate_window_s = rate_window_s
        self.now = time.monotonic
        self._buckets: dict[str, Bucket] = {}
        self._sessions: dict[str, Session] = {}
        self._socket_session: dict[int, Session] = {}
        self._zlib: dict[int, Any] = {}
        self._nonces: dict[str, tuple[float, dict[str, Any]]] = {}
        self._interactions: dict[str, Interaction] = {}
        self._interaction_messages: dict[str, tuple[str, str]] = {}
        self.modals: list[ShownModal] = []
        self._seq = itertools.count(1)
        self._ids = itertools.count(1)

    def build_app(self) -> web.Application:
        app = web.Application(client_max_size=8 * 1024 * 1024)
        app.router.add_get("/gateway", self._gateway)
        app.router.add_get("/gateway-resume", self._gateway)
        app.router.add_get("/attachments/{name}", self._attachment)
        app.router.add_route("*", "/api/v10/{tail:.*}", self._rest)
        return app

    async def close(self) -> None:
        for ws in list(self.gateway_sockets):
            await ws.close()
        await super().close()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    @property
    def resume_gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway-resume"

    # Test helpers -----------------------------------------------------------------------------

    def snowflake(self) -> str:
        """A fresh id made now (ids are time-ordered, as the sink's history walk assumes)."""
        return str(snowflake_at(int(time.time() * 1000), next(self._ids)))

    def add_channel(self, channel_id: int | str | None = None) -> str:
        cid = str(channel_id) if channel_id is not None else self.snowflake()
        self.channels.add(cid)
        return cid

    def fail(self, route: str, *, status: int = 200, code: int | None = None,  # type: ignore[override]
             **kw: Any) -> None:
        """Discord's vocabulary for the shared ``fail``: ``code`` is Discord's JSON error code."""
        super().fail(route, status=status, error=code, **kw)

    def posts(self, channel: str | int) -> list[dict[str, Any]]:
        """The bot's messages in the channel, oldest first (as stored: edits applied)."""
        return [m for m in self.messages.get(str(channel), [])
                if (m.get("author") or {}).get("id") == str(self.bot_id)]

    def received_text(self) -> str:
        """Everything sent to the fake (REST bodies and gateway frames), for leak checks."""
        return super().received_text() + "\n" + "\n".join(json.dumps(i) for i in self.identifies)

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
            "owner_id": str(self.owner_id), "afk_channel_id": None, "afk_timeout": 300, "verification_level": 0,
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
                      {"id": str(self.mods_role_id), "name": "mods", "permissions": str(MEMBER | MANAGE_CHANNELS),
                       "position": 1, "color": 0, "hoist": False, "managed": False,
                       "mentionable": False, "flags": 0}],
            "emojis": [], "stickers": [], "threads": [],
            "channels": [self.channel(), {**self.channel(self.plain_channel_id), "name": "plain",
                                          "permission_overwrites": [{"id": g, "type": 0, "allow": "0",
                                                                     "deny": str(EMBED_LINKS)}]}],
            "members": [self.member(self.bot_id, "sora-bot")], "voice_states": [], "presences": [],
            "stage_instances": [], "guild_scheduled_events": [], "soundboard_sounds": [],
        }

    def message(self, content: str, *, author_id: int | str | None = None, name: str = "alice",
                channel_id: int | str | None = None, guild: bool = True, bot: bool = False,
                roles: list[str] | None = None, attachments: list[dict[str, Any]] | None = None,
                mention_bot: bool = False, webhook_id: str | None = None, msg_type: int = 0
                ) -> dict[str, Any]:
        """A MESSAGE_CREATE payload as Discord sends it to a bot."""
        author_id = author_id if author_id is not None else self.user_id
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
                    user_id: int | str | None = None, permissions: int = MEMBER, guild: bool = True,
                    channel_id: int | str | None = None, component: str | None = None,
                    message: dict[str, Any] | None = None,
                    values: list[str] | None = None) -> dict[str, Any]:
        """An INTERACTION_CREATE payload: ``/sora <sub> options…``, a button click, or (with
        ``values``) a choice in a select menu of ``message``."""
        user_id = user_id if user_id is not None else self.user_id
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
            if values is not None:
                d["data"].update(component_type=3, values=self._choose(message, component, values))
        else:
            types = {bool: 5, int: 4, str: 3}
            opts = [{"name": k, "type": types[type(v)], "value": v}
                    for k, v in (options or {}).items()]
            d["data"] = {"id": self.command_id, "name": "sora", "type": 1,
                         "options": [{"name": sub, "type": 1, "options": opts}]}
        return d

    @staticmethod
    def _choose(message: dict[str, Any] | None, custom_id: str, values: list[str]) -> list[str]:
        """What Discord's client lets a person pick: options of that select, within its
        min/max number of values."""
        assert message is not None, "a select choice comes from a message's select menu"
        select = next((c for row in message.get("components") or [] for c in row["components"]
                       if c.get("type") == 3 and c.get("custom_id") == custom_id), None)
        assert select is not None, f"the message has no select {custom_id!r}"
        allowed = {o["value"] for o in select["options"]}
        assert set(values) <= allowed, f"{set(values) - allowed} is not an option of {custom_id!r}"
        low, high = int(select.get("min_values", 1)), int(select.get("max_values", 1))
        assert low <= len(values) <= high, f"{len(values)} values; the menu takes {low}..{high}"
        return list(values)

    def modal_submit(self, values: list[str], *, modal: ShownModal | None = None) -> dict[str, Any]:
        """The INTERACTION_CREATE (type 5) Discord sends when the person the bot showed
        ``modal`` (default: the last one) fills its text inputs, in order, and submits."""
        shown = modal or self.modals[-1]
        assert not shown.submitted, "that modal was already submitted (Discord closed it)"
        inputs = [c for row in shown.data["components"] for c in row["components"]]
        assert len(values) == len(inputs), f"the modal has {len(inputs)} text input(s)"
        rows = []
        for field_, value in zip(inputs, values, strict=True):
            low = int(field_.get("min_length") or (1 if field_.get("required", True) else 0))
            high = int(field_.get("max_length") or 4000)
            assert low <= len(value) <= high, f"Discord's form takes {low}..{high} characters"
            rows.append({"type": 1, "components": [{"type": 4, "custom_id": field_["custom_id"],
                                                    "value": value}]})
        shown.submitted = True
        opened = shown.opened_by
        iid = self.snowflake()
        d = {k: v for k, v in opened.items() if k not in ("data", "id", "token")}
        d.update(id=iid, type=5, token=f"itok-{iid}",
                 data={"custom_id": shown.data["custom_id"], "components": rows})
        return d

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Send a DISPATCH to every connected gateway session (what Discord knows from it, the
        channel and the interaction, exists from now on). Between a disconnect and a RESUME the
        event waits, as on Discord: RESUME replays what came after the client's ``seq``."""
        if not self._sessions:
            raise AssertionError("no gateway session to dispatch to")
        if data.get("channel_id"):
            self.channels.add(str(data["channel_id"]))
        if event == "MESSAGE_CREATE":
            self.messages.setdefault(str(data["channel_id"]), []).append(data)
        if event == "INTERACTION_CREATE":
            self._interactions[str(data["id"])] = Interaction(str(data["token"]), int(data["type"]),
                                                              payload=data)
            if data.get("message"):
                self._interaction_messages[str(data["id"])] = (str(data["message"]["channel_id"]),
                                                              str(data["message"]["id"]))
        frame = {"op": 0, "t": event, "s": next(self._seq), "d": data}
        self.sent_events.append(frame)
        for ws in list(self.gateway_sockets):
            await self._send(ws, frame)

    async def request_reconnect(self) -> None:
        """op 7 Reconnect: the client must close and RESUME on ``resume_gateway_url``."""
        for ws in list(self.gateway_sockets):
            await self._send(ws, {"op": 7, "d": None, "s": None, "t": None})

    async def invalidate_session(self, *, resumable: bool) -> None:
        """op 9 Invalid Session: ``d=true`` the client may RESUME, ``d=false`` it must IDENTIFY."""
        for ws in list(self.gateway_sockets):
            if not resumable:
                session = self._socket_session.get(id(ws))
                if session is not None:
                    session.valid = False
            await self._send(ws, {"op": 9, "d": resumable, "s": None, "t": None})

    # Gateway ----------------------------------------------------------------------------------

    async def _send(self, ws: web.WebSocketResponse, frame: dict[str, Any]) -> None:
        data = json.dumps(frame).encode()
        compressor = self._zlib.get(id(ws))
        if compressor is None:
            await ws.send_str(data.decode())
            return
        payload = compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)
        assert payload.endswith(ZLIB_SUFFIX)
        if len(payload) > 512:  # Discord may split a message; the client must buffer
            await ws.send_bytes(payload[:len(payload) // 2])
            payload = payload[len(payload) // 2:]
        await ws.send_bytes(payload)

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        compress = request.query.get("compress")
        if compress == "zlib-stream":
            self._zlib[id(ws)] = zlib.compressobj()
        elif compress:
            self.reject("gateway", f"unsupported compress={compress} (the fake speaks zlib-stream)")
        self.compressed.append(compress == "zlib-stream")
        await self._send(ws, {"op": 10, "d": {"heartbeat_interval": 41250}, "s": None, "t": None})
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                frame = json.loads(msg.data)
                op = frame.get("op")
                if op == 1:
                    await self._send(ws, {"op": 11, "d": None, "s": None, "t": None})
                elif op == 2:
                    await self._identify(ws, frame["d"])
                elif op == 6:
                    await self._resume(ws, frame["d"])
        finally:
            if ws in self.gateway_sockets:
                self.gateway_sockets.remove(ws)
            self._zlib.pop(id(ws), None)
            self._socket_session.pop(id(ws), None)
            await self.notify()
        return ws

    async def _identify(self, ws: web.WebSocketResponse, d: dict[str, Any]) -> None:
        self.identifies.append(d)
        if d.get("token") != self.token:
            await ws.close(code=4004, message=b"Authentication failed.")
            return
        if self.refuse_message_content and int(d.get("intents", 0)) & MESSAGE_CONTENT_INTENT:
            await ws.close(code=4014, message=b"Disallowed intent(s).")
            return
        session = Session(uuid.uuid4().hex)
        self._sessions[session.id] = session
        self._socket_session[id(ws)] = session
        self.gateway_sockets.append(ws)
        ready = {"v": 10, "user": self.bot_user(), "guilds": [{"id": str(self.guild_id), "unavailable": True}],
                 "session_id": session.id, "resume_gateway_url": self.resume_gateway_url,
                 "application": {"id": str(self.app_id), "flags": 0}, "private_channels": [],
                 "relationships": [], "user_settings": {}}
        await self._send(ws, {"op": 0, "t": "READY", "s": next(self._seq), "d": ready})
        await self._send(ws, {"op": 0, "t": "GUILD_CREATE", "s": next(self._seq), "d": self.guild()})
        await self.notify()

    async def _resume(self, ws: web.WebSocketResponse, d: dict[str, Any]) -> None:
        self.resumes.append(d)
        session = self._sessions.get(str(d.get("session_id")))
        if d.get("token") != self.token:
            await ws.close(code=4004, message=b"Authentication failed.")
            return
        if session is None or not session.valid:
            await self._send(ws, {"op": 9, "d": False, "s": None, "t": None})
            return
        self._socket_session[id(ws)] = session
        self.gateway_sockets.append(ws)
        seq = int(d.get("seq") or 0)
        for frame in self.sent_events:  # what it missed, then RESUMED
            if frame["s"] > seq and frame not in session.events:
                session.events.append(frame)
        for frame in session.events:
            await self._send(ws, frame)
        session.events.clear()
        await self._send(ws, {"op": 0, "t": "RESUMED", "s": next(self._seq), "d": {}})
        await self.notify()

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
        auth = request.headers.get("Authorization")
        token = auth[4:] if auth and auth.startswith("Bot ") else None
        call = Call(route, request.method, "/" + tail, dict(parse_qsl(request.query_string)),
                    body, raw, auth, token, params)
        self.calls.append(call)
        try:
            return await self._answer(call)
        finally:
            await self.notify()

    def _bucket(self, call: Call) -> tuple[str, Bucket]:
        major = call.params.get("cid") or call.params.get("itoken") or call.params.get("app") or ""
        key = f"{call.name}:{major}"
        bucket = self._buckets.setdefault(key, Bucket(self.rate_limit, self.rate_window_s))
        now = self.now()
        if now >= bucket.reset_at:
            bucket.reset_at, bucket.used = now + bucket.window_s, 0
        return hashlib.sha1(key.encode()).hexdigest()[:16], bucket

    def _limit_headers(self, bucket_id: str, bucket: Bucket) -> dict[str, str]:
        reset_after = max(0.0, bucket.reset_at - self.now())
        return {"X-RateLimit-Limit": str(bucket.limit),
                "X-RateLimit-Remaining": str(max(0, bucket.limit - bucket.used)),
                "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
                "X-RateLimit-Reset-After": f"{reset_after:.3f}", "X-RateLimit-Bucket": bucket_id}

    async def _answer(self, call: Call) -> web.Response:
        if call.name not in WEBHOOK_ROUTES and call.auth != f"Bot {self.token}":
            return self._json({"message": "401: Unauthorized", "code": 0}, 401)
        if call.name == "unknown":
            self.reject("unknown", "404: Not Found", f"{call.http_method} {call.path}")
            return self._json({"message": "404: Not Found", "code": 0}, 404)
        bucket_id, bucket = self._bucket(call)
        failure = self.take_failure(call.name)
        if failure is None and bucket.used >= bucket.limit:
            failure = Failure(429, retry_after=round(bucket.reset_at - self.now(), 3),
                              header_retry_after=str(math.ceil(bucket.reset_at - self.now())))
            self.reject(call.name, "429 rate limited", f"bucket {bucket_id} past {bucket.limit}")
        bucket.used += 1
        headers = self._limit_headers(bucket_id, bucket)
        if failure is not None and not failure.applied:
            return self._failure(failure, headers)
        try:
            invalid = schema.path_errors(call.params) or schema.invalid_form_body(call.name, call.body)
            if invalid is not None:
                raise Refusal(400, invalid)
            result = getattr(self, f"_r_{call.name}")(call)
        except Refusal as r:
            detail = schema.describe(r.body) if r.body.get("code") == 50035 else ""
            self.reject(call.name, f"{r.body.get('code')} {r.body.get('message')}", detail)
            return self._json(r.body, r.status, headers)
        if failure is not None:
            if failure.omit and isinstance(result, dict):
                return self._json({k: v for k, v in result.items() if k not in failure.omit}, 200, headers)
            return self._failure(failure, headers)
        if result is None:
            return web.Response(status=204, headers=headers)
        return self._json(result, 200, headers)

    def _failure(self, f: Failure, headers: dict[str, str]) -> web.Response:
        headers = {**headers, "Via": "1.1 google"}
        if f.status == 429:
            body: dict[str, Any] = {"message": f.message or "You are being rate limited.",
                                    "global": f.is_global}
            if f.retry_after is not None:
                body["retry_after"] = f.retry_after
            if f.header_retry_after is not None:
                headers["Retry-After"] = f.header_retry_after
            headers["X-RateLimit-Scope"] = "global" if f.is_global else "user"
            if f.is_global:
                headers["X-RateLimit-Global"] = "true"
            return self._json(body, 429, headers)
        if f.status >= 500:
            return web.Response(status=f.status, body=b"<html>upstream error</html>",
                                headers={"Content-Type": "text/html"})
        return self._json({"message": f.message or "error", "code": f.error or 0}, f.status, headers)

    # Route handlers ---------------------------------------------------------------------------

    def _channel(self, call: Call) -> str:
        cid = call.params["cid"]
        if cid not in self.channels:
            raise refusal(UNKNOWN_CHANNEL)
        return cid

    @staticmethod
    def _check_not_empty(body: dict[str, Any]) -> None:
        if not any(body.get(k) for k in ("content", "embeds", "components", "sticker_ids",
                                         "attachments", "poll")):
            raise refusal(EMPTY_MESSAGE)

    def _r_users_me(self, call: Call) -> dict[str, Any]:
        return self.bot_user()

    def _r_app_info(self, call: Call) -> dict[str, Any]:
        return {"id": str(self.app_id), "name": "sora-bot", "icon": None, "description": "",
                "rpc_origins": [], "bot_public": True, "bot_require_code_grant": False,
                "verify_key": "0" * 64, "flags": 0, "team": None, "summary": "",
                "owner": self.user(self.owner_id, "owner"), "bot": self.bot_user()}

    def _r_bulk_commands(self, call: Call) -> list[dict[str, Any]]:
        if call.params["app"] != str(self.app_id):
            raise Refusal(403, {"message": "Missing Access", "code": 50001})
        out = []
        for cmd in call.body or []:
            out.append({**cmd, "id": self.snowflake(), "application_id": str(self.app_id),
                        "version": self.snowflake(),
                        "default_member_permissions": cmd.get("default_member_permissions"),
                        "type": cmd.get("type", 1)})
        self.commands = out
        return out

    def _r_get_commands(self, call: Call) -> list[dict[str, Any]]:
        return self.commands

    def _r_interaction_callback(self, call: Call) -> dict[str, Any]:
        body = call.body or {}
        data = body.get("data") or {}
        interaction = self._interactions.get(call.params["iid"])
        if interaction is None or interaction.token != call.params["itoken"]:
            raise refusal(UNKNOWN_INTERACTION)
        if interaction.acked:
            raise refusal(ALREADY_ACKNOWLEDGED)
        if body.get("type") == 4:
            self._check_not_empty(data)
        if body.get("type") == 9 and interaction.kind == 5:
            # docs (interaction response types): MODAL is "not available for MODAL_SUBMIT and
            # PING interactions"; the exact answer is not documented: a form-body refusal here
            raise Refusal(400, {"message": "Invalid Form Body", "code": 50035, "errors": {
                "type": {"_errors": [{"code": "INTERACTION_RESPONSE_TYPE_INVALID",
                                      "message": "Not available for modal submissions."}]}}})
        interaction.acked = True
        if body.get("type") == 9:
            self.modals.append(ShownModal(data, interaction.payload))
        where = self._interaction_messages.get(call.params["iid"])
        if body.get("type") == 7 and where is not None:  # UPDATE_MESSAGE edits the clicked message
            msg = self._find(*where)
            for key in ("content", "embeds", "components"):
                if msg is not None and key in data:
                    msg[key] = data[key]
        return {"interaction": {"id": call.params["iid"], "type": interaction.kind,
                                "response_message_id": self.snowflake(),
                                "response_message_loading": body.get("type") == 5,
                                "response_message_ephemeral": bool(int(data.get("flags") or 0) & 64)}}

    def _webhook(self, call: Call) -> Interaction:
        """Followups: for this application, to an interaction that was answered (15 min)."""
        token = call.params["itoken"]
        found = next((i for i in self._interactions.values() if i.token == token), None)
        if call.params["app"] != str(self.app_id) or found is None or not found.acked:
            raise refusal(UNKNOWN_WEBHOOK)
        return found

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
        cid = self._channel(call)
        self._check_not_empty(body)
        ref = body.get("message_reference") or {}
        if ref and ref.get("fail_if_not_exists") is not False and self._find(
                str(ref.get("channel_id") or cid), str(ref["message_id"])) is None:
            raise Refusal(400, {"message": "Invalid Form Body", "code": 50035, "errors": {
                "message_reference": {"_errors": [{"code": "MESSAGE_REFERENCE_UNKNOWN_MESSAGE",
                                                   "message": "Unknown message"}]}}})
        nonce = body.get("nonce")
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
        msgs = sorted(self.messages.get(self._channel(call), []), key=lambda m: int(m["id"]),
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
        msg = self._find(self._channel(call), call.params["mid"])
        if msg is None:
            raise refusal(UNKNOWN_MESSAGE)
        return msg

    def _r_edit_message(self, call: Call) -> Any:
        msg = self._find(self._channel(call), call.params["mid"])
        if msg is None:
            raise refusal(UNKNOWN_MESSAGE)
        for key in ("content", "embeds", "components"):
            if key in (call.body or {}):
                msg[key] = call.body[key]
        msg["edited_timestamp"] = "2024-06-01T12:01:00.000000+00:00"
        return msg

    def _r_typing(self, call: Call) -> None:
        self._channel(call)
        return None

    def _r_followup(self, call: Call) -> dict[str, Any]:
        self._webhook(call)
        self._check_not_empty(call.body or {})
        return self._new_message(str(self.channel_id), call.body or {}, webhook=True)

    def _r_edit_followup(self, call: Call) -> dict[str, Any]:
        self._webhook(call)
        return self._new_message(str(self.channel_id), call.body or {}, webhook=True)

    def _r_get_followup(self, call: Call) -> dict[str, Any]:
        self._webhook(call)
        return self._new_message(str(self.channel_id), {}, webhook=True)

    def _r_delete_followup(self, call: Call) -> None:
        self._webhook(call)
        return None

    async def _attachment(self, request: web.Request) -> web.Response:
        data = self.attachments.get(request.match_info["name"])
        if data is None:
            return web.Response(status=404)
        self.calls.append(Call("attachment", "GET", request.path, {}, None, b"",
                               request.headers.get("Authorization")))
        await self.notify()
        return web.Response(body=data, headers={"Content-Type": "text/plain"})

    # Reading what the bot answered --------------------------------------------------------------

    def responses(self) -> list[dict[str, Any]]:
        """Interaction answers in order: callback bodies with data, then followup bodies."""
        out = []
        for c in self.calls:
            if c.name == "interaction_callback" and (c.body or {}).get("data"):
                out.append({"via": "callback", "type": c.body.get("type"), **c.body["data"]})
            elif c.name == "followup":
                out.append({"via": "followup", **(c.body or {})})
        return out
