"""What flows through delivery: the row a sink sees, what a sink returns, and decisions.

    Sink.send(OutboxRow) -> Delivered            or raises bot.errors.SendError
    Sink.find_existing(OutboxRow) -> Delivered | None   (reconcile after a crash or timeout)

Every decision the pipeline takes carries a :class:`Reason`, which is logged and stored
(``outbox.last_error`` / ``delivery_attempts.outcome``), so "why did (or didn't) the bot post?"
always has an answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True)
class OutboxRow:
    """One notice for one channel, as a sink sees it (no database object, no secrets).

    ``payload`` is the platform-neutral notice (see bot.store.notice_payload): title, severity,
    text, fields, links, incident state. ``thread_id`` is the message id of the incident's
    'opened' notice in this channel when this is a later notice (reply in that thread / edit it).
    """

    id: int
    dedupe_key: str
    incident_id: int
    seq: int
    notice_kind: str
    platform: str
    workspace: str
    channel: str
    payload: Mapping[str, Any]
    thread_id: str | None
    attempts: int
    created_at: datetime

    @property
    def channel_key(self) -> str:
        return f"{self.platform}:{self.workspace}/{self.channel}"

    @classmethod
    def from_model(cls, row: Any) -> OutboxRow:
        return cls(id=row.id, dedupe_key=row.dedupe_key, incident_id=row.incident_id,
                   seq=row.seq, notice_kind=row.notice_kind, platform=row.platform,
                   workspace=row.workspace, channel=row.channel, payload=dict(row.payload),
                   thread_id=row.thread_id, attempts=row.attempts, created_at=row.created_at)


@dataclass(frozen=True)
class Delivered:
    """The platform's id of the posted message (Slack ts, Discord message id, log line id)."""

    message_id: str
    thread_id: str | None = None


@runtime_checkable
class Sink(Protocol):
    """A platform's delivery. Raise SendError(retryable=..., retry_after=..., status=...) on
    failure, never with a token in the message. Optional attribute ``channel_interval_s``
    (float): the platform's minimum gap between two messages in one channel (Slack: 1 s)."""

    async def send(self, row: OutboxRow) -> Delivered: ...

    async def find_existing(self, row: OutboxRow) -> Delivered | None: ...


class Reason(StrEnum):
    FIRST_NOTICE = "first notice"
    RETRY_DUE = "retry due"
    UNCONFIRMED = "unconfirmed earlier attempt not found; resending"
    DUPLICATE = "duplicate"            # already delivered (found by find_existing): not resent
    MUTED = "muted"
    SENT = "sent"
    RETRY = "retry scheduled"
    DEAD = "dead-lettered"
    LEASE_LOST = "lease lost"          # another worker took the row over; nothing recorded


OUTCOMES = ("sent", "retry", "dead", "suppressed", "skip")


@dataclass(frozen=True)
class Decision:
    """What happens to a notice and why. ``detail`` is the human part (error text, mute end)."""

    outcome: str  # one of OUTCOMES
    reason: Reason
    detail: str = ""
    delivered: Delivered | None = None
    next_attempt_at: datetime | None = None
    maybe_sent: bool = False  # an ambiguous failure: reconcile before resending
    refund: bool = False      # a rate limit: do not count toward the dead-letter bound

    def text(self) -> str:
        return f"{self.reason}: {self.detail}" if self.detail else str(self.reason)


@dataclass
class Notice:
    """A claimed row on its way through the stages; the stage that decides sets ``decision``."""

    row: OutboxRow
    reclaimed: bool = False
    trail: list[Reason] = field(default_factory=list)
    decision: Decision | None = None
    attempt_id: int | None = None

    def decide(self, decision: Decision) -> None:
        self.decision = decision
        self.trail.append(decision.reason)
