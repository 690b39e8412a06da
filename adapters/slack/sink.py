"""Alert delivery to Slack: the outbox's ``Sink`` for platform "slack".

One incident, one Slack thread:

- ``opened`` (or any notice with no parent yet) → a new channel message with an editable status
  line and Acknowledge / Mute 1 h buttons; its ``ts`` is the thread id of the incident;
- ``updated`` / ``flapping`` / ``status`` → a reply in that thread, then the parent's status
  line edited (``chat.update``) so the channel shows the current state at a glance;
- ``resolved`` → a reply in the thread, then the parent edited to "Resolved", buttons removed.

Exactly once: ``chat.postMessage`` has no idempotency key, so every message carries
``metadata={"event_type": "sora_bot_notice", "event_payload": {"outbox_id", "dedupe_key"}}``;
after an ambiguous failure the outbox calls ``find_existing``, which looks for that metadata
(``conversations.history`` for parents, ``conversations.replies`` for thread replies).

The parent edit is best effort: the notice *is* the thread reply, and raising after it was
posted would make the outbox post it again. Failures are classified into ``SendError`` by
``adapters.slack.client.send_error`` (429 → retry after Retry-After, 5xx → retry, a missing
channel or a revoked token → dead letter); no message ever holds the token.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import blocks as bk
from adapters.slack.client import send_error
from bot.clock import as_utc
from bot.commands.notices import notice_reply, notice_style, status_line
from bot.commands.reply import Reply
from bot.errors import SendError
from bot.notify import Delivered, OutboxRow
from bot.operator_config import mention_due

log = logging.getLogger(__name__)

EVENT_TYPE = "sora_bot_notice"
CHANNEL_INTERVAL_S = 1.0  # Slack: about one message per second per channel
HISTORY_PAGES = 10
CLOCK_SKEW = timedelta(seconds=120)
_TS = re.compile(r"^\d{1,12}\.\d{6}$")  # a Slack message ts: epoch seconds.micros


def _metadata(row: OutboxRow) -> dict[str, Any]:
    return {"event_type": EVENT_TYPE,
            "event_payload": {"outbox_id": str(row.id), "dedupe_key": str(row.dedupe_key)}}


def _is_ours(message: Mapping[str, Any], row: OutboxRow) -> bool:
    meta = message.get("metadata") or {}
    if meta.get("event_type") != EVENT_TYPE:
        return False
    payload = meta.get("event_payload") or {}
    if str(payload.get("outbox_id")) != str(row.id):
        return False
    return payload.get("dedupe_key") in (None, str(row.dedupe_key))


class SlackSink:
    """``bot.notify.Sink`` for Slack. Give it a client from ``make_web_client(...,
    retry_connection_errors=False)``: blind re-posts are the outbox's call, not the client's."""

    channel_interval_s = CHANNEL_INTERVAL_S

    def __init__(self, client: AsyncWebClient, *, mention: str | None = None) -> None:
        self.client = client
        # A user group id (S0123ABC) paged on critical notices: the operator file's [mentions].
        self.mention = mention

    def _paged(self, row: OutboxRow, text: str, blocks: list[dict[str, Any]]) -> dict[str, Any]:
        """``text`` and ``blocks``, with the group mention when this notice pages someone."""
        if self.mention is None or not mention_due(row.payload):
            return {"text": text, "blocks": blocks}
        text = bk.truncate(f"{bk.group_mention(self.mention)} {text}", bk.LIMITS.fallback_text)
        return {"text": text, "blocks": bk.with_mention(blocks, self.mention)}

    async def send(self, row: OutboxRow) -> Delivered:
        payload = row.payload
        kind = row.notice_kind
        if not row.thread_id:
            reply = notice_reply(payload, parent=True)
            resolved = kind == "resolved"
            ts = await self._post(row, channel=row.channel, **self._paged(
                row, bk.fallback_text(reply),
                bk.alert_blocks(reply, status_line(kind, payload), buttons=not resolved)))
            return Delivered(message_id=ts, thread_id=ts)
        reply = notice_reply(payload, parent=False)
        ts = await self._post(row, channel=row.channel, thread_ts=row.thread_id,
                              **self._paged(row, bk.fallback_text(reply), bk.reply_blocks(reply)))
        await self._edit_parent(row)
        return Delivered(message_id=ts, thread_id=row.thread_id)

    async def _post(self, row: OutboxRow, **kwargs: Any) -> str:
        try:
            resp = await self.client.chat_postMessage(metadata=_metadata(row), **kwargs)
        except (SlackApiError, SlackClientError, OSError, TimeoutError) as exc:
            raise send_error("chat.postMessage", exc) from None
        ts = resp.get("ts")
        if not isinstance(ts, str) or not _TS.match(ts):
            # "ok" but no usable ts: maybe posted, maybe not. Never store it as the message id
            # (str(None) == "None" became a thread id once); status None makes the outbox
            # reconcile through find_existing before posting again.
            raise SendError("slack chat.postMessage: answer without a message ts", retryable=True)
        return ts

    async def _edit_parent(self, row: OutboxRow) -> None:
        """Point the parent's status line at the current state (resolved: no more buttons)."""
        payload, kind = row.payload, row.notice_kind
        resolved = kind == "resolved"
        line = status_line(kind, payload)
        parent = notice_reply(payload, parent=True)
        try:
            assert row.thread_id is not None
            current = await self._parent_blocks(row.channel, row.thread_id)
            if current is None:  # not readable: render it again from this notice
                blocks = bk.alert_blocks(parent, line, buttons=not resolved)
            else:
                blocks = bk.set_context_line(current, bk.STATUS_BLOCK_ID, line)
                header = bk.header_block(notice_reply(payload, parent=False) if resolved else parent)
                blocks = [header if b.get("type") == "header" else b for b in blocks]
                if resolved:
                    blocks = bk.without_actions(blocks, [bk.ACTION_ACK, bk.ACTION_MUTE_1H])
            text = bk.fallback_text(Reply(title=f"{notice_style(kind).label}: {parent.title}",
                                          severity=parent.severity))
            if self.mention and any(b.get("block_id") == bk.MENTION_BLOCK_ID for b in blocks):
                text = f"{bk.group_mention(self.mention)} {text}"  # an edit pages nobody again
            await self.client.chat_update(channel=row.channel, ts=row.thread_id, blocks=blocks, text=text)
        except (SlackApiError, SlackClientError, OSError, TimeoutError) as exc:
            err = send_error("chat.update", exc)
            log.warning("slack: parent of outbox %s not edited (%s)", row.id, err)

    async def _parent_blocks(self, channel: str, ts: str) -> list[dict[str, Any]] | None:
        try:
            resp = await self.client.conversations_history(channel=channel, latest=ts, oldest=ts,
                                                           inclusive=True, limit=1)
        except (SlackApiError, SlackClientError, OSError, TimeoutError):
            return None
        for message in resp.get("messages") or []:
            if message.get("ts") == ts and message.get("blocks"):
                return list(message["blocks"])
        return None

    async def find_existing(self, row: OutboxRow) -> Delivered | None:
        """Was this row already posted (an answer lost to a timeout or a crash)? Look for its
        outbox id in message metadata since the row was created."""
        oldest = f"{(as_utc(row.created_at) - CLOCK_SKEW).timestamp():.6f}"
        cursor: str | None = None
        method = "conversations.replies" if row.thread_id else "conversations.history"
        try:
            for _ in range(HISTORY_PAGES):
                if row.thread_id:
                    resp = await self.client.conversations_replies(
                        channel=row.channel, ts=row.thread_id, oldest=oldest, limit=200,
                        include_all_metadata=True, cursor=cursor)
                else:
                    resp = await self.client.conversations_history(
                        channel=row.channel, oldest=oldest, limit=200, include_all_metadata=True,
                        cursor=cursor)
                for message in resp.get("messages") or []:
                    if _is_ours(message, row):
                        ts = str(message["ts"])
                        return Delivered(message_id=ts, thread_id=row.thread_id or ts)
                cursor = (resp.get("response_metadata") or {}).get("next_cursor") or None
                if not cursor:
                    return None
        except (SlackApiError, SlackClientError, OSError, TimeoutError) as exc:
            raise send_error(method, exc) from None
        return None
