"""Alert delivery to Discord: the outbox's ``Sink`` for platform "discord".

One incident, one parent message per channel:

- ``opened`` (or any notice with no parent yet) → ``POST /channels/{id}/messages``: a one-line
  ``content`` (what notifications show), the incident embed with a ``Status`` field, and
  Acknowledge / Mute 1 h buttons; its id is the incident's thread id in that channel;
- ``updated`` / ``flapping`` / ``status`` → a reply to the parent (``message_reference``), then
  the parent edited (``PATCH``) so its Status field shows the current state at a glance;
- ``resolved`` → a reply, then the parent edited to "Resolved" (green, buttons removed).

Exactly once: every create carries a ``nonce`` derived from the outbox row with
``enforce_nonce: true``, so Discord itself answers a re-sent create (within a few minutes) with
the message it already made. Discord does not return nonces when a channel is read, so the
same reference is also written in the embed footer (``ref sb42-…``); after a crash or a lost
answer the outbox calls ``find_existing``, which reads the channel's recent messages
(``GET /channels/{id}/messages?limit=50``, newest first, back to the row's creation) for it.

The parent edit is best effort: the notice *is* the reply, and raising after it was posted
would make the outbox post it again. Failures are ``SendError`` from ``adapters.discord.rest``;
no message ever holds the token.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from adapters.discord import embeds as em
from adapters.discord.rest import call, make_http_client
from bot.clock import as_utc
from bot.commands.notices import notice_reply, notice_style, status_line
from bot.commands.reply import ActionKind, Reply
from bot.errors import SendError
from bot.notify import Delivered, OutboxRow
from bot.operator_config import mention_due

log = logging.getLogger(__name__)

CHANNEL_INTERVAL_S = 1.0  # Discord: 5 messages / 5 s per channel; an update is 2 requests
HISTORY_PAGE = 50
HISTORY_PAGES = 4
CLOCK_SKEW = timedelta(seconds=120)
DISCORD_EPOCH_MS = 1420070400000
NO_MENTIONS: dict[str, Any] = {"parse": []}

# Component ids of the alert buttons (the core's wire ids); adapters.discord.bot handles clicks.
ACTION_ACK = ActionKind.ACK.value
ACTION_MUTE_1H = ActionKind.MUTE.value


def role_mention(role_id: str) -> str:
    """A role mention in ``content`` (it pings only when ``allowed_mentions`` names the role)."""
    return f"<@&{role_id}>"


def delivery_ref(row: OutboxRow) -> str:
    """The row's reference, ≤ 25 characters (Discord's nonce limit): the outbox id plus a hash
    of the dedupe key and channel, so two databases never share a reference in one channel."""
    digest = hashlib.sha256(f"{row.dedupe_key}|{row.channel}".encode()).hexdigest()[:8]
    return f"sb{row.id}-{digest}"[:25]


def ref_footer(row: OutboxRow) -> str:
    return f"ref {delivery_ref(row)}"


def alert_components(reply: Reply) -> list[dict[str, Any]]:
    """The alert's controls, as the core declared them on the notice (none once resolved)."""
    return em.components(reply.actions)


def snowflake_time(snowflake: str | int) -> datetime | None:
    """When a Discord id was made (ids are time-ordered)."""
    try:
        ms = (int(snowflake) >> 22) + DISCORD_EPOCH_MS
    except (TypeError, ValueError):
        return None
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def _is_ours(message: Mapping[str, Any], row: OutboxRow) -> bool:
    ref = ref_footer(row)
    for embed in message.get("embeds") or ():
        footer = str((embed.get("footer") or {}).get("text") or "")
        if footer == ref or footer.endswith(" · " + ref):
            return True
    return False


class DiscordSink:
    """``bot.notify.Sink`` for Discord over raw REST (see ``adapters.discord.rest`` for why)."""

    channel_interval_s = CHANNEL_INTERVAL_S

    def __init__(self, token: str, api_url: str | None = None, *,
                 transport: httpx.AsyncBaseTransport | None = None, timeout: float = 15.0,
                 mention: str | None = None) -> None:
        self._token = token
        # A role id paged on critical notices: the operator file's [mentions].
        self.mention = mention
        self.http = make_http_client(token, api_url, transport=transport, timeout=timeout)

    def __repr__(self) -> str:  # never the token
        return f"DiscordSink(base_url={str(self.http.base_url)!r})"

    async def aclose(self) -> None:
        await self.http.aclose()

    async def _call(self, method: str, path: str, op: str, **kwargs: Any) -> Any:
        return await call(self.http, method, path, op, token=self._token, **kwargs)

    def _paged(self, row: OutboxRow, body: dict[str, Any]) -> dict[str, Any]:
        """The body with the role mention first in ``content`` when this notice pages someone;
        ``allowed_mentions`` names that role only, so nothing else in the text can ping."""
        if self.mention is None or not mention_due(row.payload):
            return body
        content = em.truncate(f"{role_mention(self.mention)} {body['content']}", em.LIMITS.content)
        return {**body, "content": content,
                "allowed_mentions": {"parse": [], "roles": [self.mention]}}

    # Sink ----------------------------------------------------------------------------------

    async def send(self, row: OutboxRow) -> Delivered:
        payload, kind = row.payload, row.notice_kind
        if not row.thread_id:
            reply = notice_reply(payload, parent=True)
            line = status_line(kind, payload)
            parent: dict[str, Any] = {
                "content": em.headline(reply, notice_style(kind).status),
                "embeds": [em.reply_embed(reply, status_line=line, footer_extra=[ref_footer(row)]).to_dict()],
                "components": alert_components(reply)}
            message_id = await self._create(row, self._paged(row, parent))
            return Delivered(message_id=message_id, thread_id=message_id)
        reply = notice_reply(payload, parent=False)
        body: dict[str, Any] = {"content": em.headline(reply),
                "embeds": [em.reply_embed(reply, footer_extra=[ref_footer(row)]).to_dict()],
                "message_reference": {"message_id": row.thread_id, "channel_id": row.channel,
                                      "fail_if_not_exists": False}}
        message_id = await self._create(row, self._paged(row, body))
        await self._edit_parent(row)
        return Delivered(message_id=message_id, thread_id=row.thread_id)

    async def _create(self, row: OutboxRow, body: dict[str, Any]) -> str:
        body = {"allowed_mentions": NO_MENTIONS, **body, "nonce": delivery_ref(row),
                "enforce_nonce": True}
        message = await self._call("POST", f"channels/{row.channel}/messages", "create message",
                                   json=body)
        message_id = message.get("id") if isinstance(message, dict) else None
        if not isinstance(message_id, str) or not message_id.isdigit():
            # maybe posted, maybe not: the outbox reconciles (find_existing) before resending;
            # never store str(None) as the message id
            raise SendError("discord create message: answer without a message id", retryable=True)
        return message_id

    async def _edit_parent(self, row: OutboxRow) -> None:
        """Point the parent's Status field at the current state (resolved: green, no buttons).

        Reads the parent first so fields added since (who acknowledged, who muted) stay."""
        payload, kind = row.payload, row.notice_kind
        resolved = kind == "resolved"
        line = status_line(kind, payload)
        parent = notice_reply(payload, parent=True)
        assert row.thread_id is not None
        path = f"channels/{row.channel}/messages/{row.thread_id}"
        try:
            current = await self._call("GET", path, "get parent")
            embed = dict((current.get("embeds") or [{}])[0]) if isinstance(current, dict) else {}
            content = str(current.get("content") or "") if isinstance(current, dict) else ""
        except SendError as exc:
            log.info("discord: parent of outbox %s not readable (%s); rendering it again", row.id, exc)
            embed, content = {}, ""
        if embed:
            embed = em.set_field(embed, em.STATUS_FIELD, line)
            if resolved:
                embed = em.retitle(embed, notice_reply(payload, parent=False))
        else:
            shown = notice_reply(payload, parent=False) if resolved else parent
            embed = dict(em.reply_embed(shown, status_line=line).to_dict())
        headline = em.headline(parent, notice_style(kind).status)
        if self.mention is not None and content.startswith(role_mention(self.mention)):
            # the page stays visible on the parent (an edit never pings again: mentions off)
            headline = em.truncate(f"{role_mention(self.mention)} {headline}", em.LIMITS.content)
        body: dict[str, Any] = {"content": headline, "embeds": [embed],
                                "allowed_mentions": NO_MENTIONS}
        if resolved:
            body["components"] = []
        try:
            await self._call("PATCH", path, "edit parent", json=body)
        except SendError as exc:
            log.warning("discord: parent of outbox %s not edited (%s)", row.id, exc)

    async def find_existing(self, row: OutboxRow) -> Delivered | None:
        """Was this row already posted (an answer lost to a timeout or a crash)? Look for its
        reference in the footers of the channel's messages since the row was created."""
        oldest = as_utc(row.created_at) - CLOCK_SKEW
        params: dict[str, Any] = {"limit": HISTORY_PAGE}
        for _ in range(HISTORY_PAGES):
            page = await self._call("GET", f"channels/{row.channel}/messages", "read channel",
                                    params=params)
            if not isinstance(page, list) or not page:
                return None
            for message in page:
                if isinstance(message, dict) and _is_ours(message, row):
                    message_id = str(message["id"])
                    return Delivered(message_id=message_id, thread_id=row.thread_id or message_id)
            last = page[-1]
            when = snowflake_time(str(last.get("id") or "")) if isinstance(last, dict) else None
            if len(page) < HISTORY_PAGE or when is None or when < oldest:
                return None
            params = {"limit": HISTORY_PAGE, "before": last["id"]}
        return None
