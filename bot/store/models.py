"""SQLAlchemy 2 models: the schema every other part of sora-bot codes against.

The Alembic migrations in ``bot/store/migrations`` create exactly these tables; a test compares
the two so they cannot drift. Enumerated values (states, kinds) are plain strings checked in code
(the tuples below), not database CHECK constraints, so adding a value never needs a table rebuild
on SQLite.

Timestamps are stored as ``DateTime(timezone=True)`` and always come back as tz-aware UTC:
SQLite has no time zones, so :class:`UTCDateTime` converts on the way in and out.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bot.clock import as_utc

# Allowed values (validated by bot.store.Store, documented here once).
PROBE_KINDS: tuple[str, ...] = ("reachability", "auth", "videos", "generate")
SNAPSHOT_FORMATS: tuple[str, ...] = ("incidentio", "statuspage")
EVENT_SOURCES: tuple[str, ...] = ("probe", "chat", "ingest")
INCIDENT_KINDS: tuple[str, ...] = ("outage", "surge", "official", "flapping")
INCIDENT_STATES: tuple[str, ...] = ("open", "resolved")
SEVERITIES: tuple[str, ...] = ("warning", "error", "critical")
TIMELINE_KINDS: tuple[str, ...] = ("opened", "updated", "resolved", "flapping", "acknowledged")
TIMELINE_REASONS: tuple[str, ...] = (
    "first notice", "severity changed", "official update", "new evidence", "resolved", "flapping",
    "acknowledged", "sustained", "recovered", "reminder",
)
# Platforms are whatever adapters are registered (bot.platform): a name, not a closed list.
PLATFORM_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
SUBSCRIPTION_KINDS: tuple[str, ...] = ("all", "incidents", "status")
NOTICE_KINDS: tuple[str, ...] = ("opened", "updated", "resolved", "flapping", "status")
# 'suppressed': the mute stage decided not to send (reason in last_error); final like sent/dead.
OUTBOX_STATES: tuple[str, ...] = ("pending", "sending", "sent", "dead", "suppressed")
ATTEMPT_OUTCOMES: tuple[str, ...] = ("sent", "retry", "dead")

DETAIL_MAX = 2000
REDACTED_MAX = 4000


class UTCDateTime(TypeDecorator[datetime]):
    """``DateTime(timezone=True)`` that always stores and returns tz-aware UTC.

    Why: SQLite drops tzinfo (returns naive values) and would store a non-UTC aware value as
    its wall-clock time; normalising here keeps every comparison in SQL and Python correct.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else as_utc(value)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else as_utc(value)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime()}


class ProbeResult(Base):
    __tablename__ = "probe_results"
    __table_args__ = (Index("ix_probe_results_target_kind_at", "target", "kind", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    target: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(32))
    ok: Mapped[bool] = mapped_column(Boolean)
    http_status: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[float | None] = mapped_column(Float)
    category: Mapped[str | None] = mapped_column(String(32))
    error_code: Mapped[str | None] = mapped_column(String(200))
    request_id: Mapped[str | None] = mapped_column(String(200))
    detail: Mapped[str | None] = mapped_column(String(DETAIL_MAX))
    at: Mapped[datetime]
    # One word of bot.connectivity.FAILURES (dns, refused, ... http); None when ok (0005).
    failure: Mapped[str | None] = mapped_column(String(16))


class StatusSnapshot(Base):
    __tablename__ = "status_snapshots"
    __table_args__ = (Index("ix_status_snapshots_fetched_at", "fetched_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(String(500))
    fetched_at: Mapped[datetime]
    format: Mapped[str | None] = mapped_column(String(16))
    ok: Mapped[bool] = mapped_column(Boolean)
    indicator: Mapped[str | None] = mapped_column(String(32))
    components: Mapped[list[Any]] = mapped_column(JSON, default=list)
    incidents: Mapped[list[Any]] = mapped_column(JSON, default=list)
    etag: Mapped[str | None] = mapped_column(String(500))
    last_modified: Mapped[str | None] = mapped_column(String(100))
    error: Mapped[str | None] = mapped_column(String(DETAIL_MAX))
    failure: Mapped[str | None] = mapped_column(String(16))  # as ProbeResult.failure (0005)


class ErrorEvent(Base):
    __tablename__ = "error_events"
    __table_args__ = (
        Index("ix_error_events_at", "at"),
        Index("ix_error_events_target_at", "target", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime]
    source: Mapped[str] = mapped_column(String(16))
    target: Mapped[str | None] = mapped_column(String(100))
    category: Mapped[str] = mapped_column(String(32))
    fingerprint: Mapped[str | None] = mapped_column(String(100))
    http_status: Mapped[int | None] = mapped_column(Integer)
    error_code: Mapped[str | None] = mapped_column(String(200))
    channel_key: Mapped[str | None] = mapped_column(String(300))
    redacted: Mapped[str] = mapped_column(Text, default="")


class Incident(Base):
    __tablename__ = "incidents"
    __table_args__ = (
        Index("ix_incidents_key_state", "key", "state"),
        # At most one open incident per key (also checked in code, with a clear error).
        Index("uq_incidents_open_key", "key", unique=True,
              sqlite_where=text("state = 'open'"), postgresql_where=text("state = 'open'")),
        Index("ix_incidents_opened_at", "opened_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(16))
    target: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(16))
    severity: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(500))
    summary: Mapped[str] = mapped_column(Text, default="")
    opened_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    linked_incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"))
    seq: Mapped[int] = mapped_column(Integer, default=0)
    official_update_at: Mapped[str | None] = mapped_column(String(64))


class IncidentEvent(Base):
    __tablename__ = "incident_events"
    __table_args__ = (Index("ix_incident_events_incident_seq", "incident_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    at: Mapped[datetime]
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    severity: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text, default="")


class Subscription(Base):
    __tablename__ = "subscriptions"
    __table_args__ = (
        Index("uq_subscriptions_channel", "platform", "workspace", "channel", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    workspace: Mapped[str] = mapped_column(String(100))
    channel: Mapped[str] = mapped_column(String(100))
    kinds: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime]


class Mute(Base):
    __tablename__ = "mutes"
    __table_args__ = (Index("uq_mutes_channel", "platform", "workspace", "channel", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    workspace: Mapped[str] = mapped_column(String(100))
    channel: Mapped[str] = mapped_column(String(100))
    until: Mapped[datetime]
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime]


class ChannelSetting(Base):
    __tablename__ = "channel_settings"

    platform: Mapped[str] = mapped_column(String(16), primary_key=True)
    workspace: Mapped[str] = mapped_column(String(100), primary_key=True)
    channel: Mapped[str] = mapped_column(String(100), primary_key=True)
    paste_detection: Mapped[bool] = mapped_column(Boolean, default=True,
                                                  server_default=true())
    count_pastes: Mapped[bool] = mapped_column(Boolean, default=True,
                                               server_default=true())


class Outbox(Base):
    __tablename__ = "outbox"
    __table_args__ = (
        Index("uq_outbox_dedupe_key", "dedupe_key", unique=True),
        Index("ix_outbox_status_next", "status", "next_attempt_at"),
        Index("ix_outbox_channel", "platform", "workspace", "channel", "status"),
        Index("ix_outbox_incident_channel", "incident_id", "platform", "workspace", "channel",
              "seq"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(400))
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    notice_kind: Mapped[str] = mapped_column(String(16))
    platform: Mapped[str] = mapped_column(String(16))
    workspace: Mapped[str] = mapped_column(String(100))
    channel: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    locked_by: Mapped[str | None] = mapped_column(String(200))
    locked_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(DETAIL_MAX))
    platform_message_id: Mapped[str | None] = mapped_column(String(200))
    thread_id: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class DeliveryAttempt(Base):
    __tablename__ = "delivery_attempts"
    __table_args__ = (Index("ix_delivery_attempts_outbox_id", "outbox_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id", ondelete="CASCADE"))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(String(DETAIL_MAX))
    platform_message_id: Mapped[str | None] = mapped_column(String(200))


class JobRun(Base):
    __tablename__ = "job_runs"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    last_started_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(DETAIL_MAX))


class Budget(Base):
    __tablename__ = "budget"

    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    used: Mapped[int] = mapped_column(Integer, default=0)


# Team memory (Contract 5) ------------------------------------------------------------------------
# Events themselves are the ``error_events`` rows (pruned at RETENTION_DAYS); ``memory_events``
# only adds the team and the author of each one and goes with its row (ON DELETE CASCADE), so
# pruning needs no change. Every count below is kept independently of the events and survives
# their pruning (bot/memory/buckets.py explains the buckets and rolling windows).

TEAM_MAX = 140
MEMORY_SPANS: tuple[str, ...] = ("m", "h", "q")
MEMORY_WINDOWS: tuple[str, ...] = ("1h", "24h", "7d")


class MemoryEvent(Base):
    __tablename__ = "memory_events"
    __table_args__ = (
        Index("ix_memory_events_team_fp_author", "team", "fingerprint", "author"),
        Index("ix_memory_events_team_author", "team", "author", "event_id"),
    )

    event_id: Mapped[int] = mapped_column(ForeignKey("error_events.id", ondelete="CASCADE"),
                                          primary_key=True)
    team: Mapped[str] = mapped_column(String(TEAM_MAX))
    fingerprint: Mapped[str] = mapped_column(String(100))
    author: Mapped[str | None] = mapped_column(String(100))


class MemoryKind(Base):
    """One error kind as a team knows it: how often, since when, and its latest redacted text."""

    __tablename__ = "memory_kinds"
    __table_args__ = (Index("ix_memory_kinds_team_last_seen", "team", "last_seen"),)

    team: Mapped[str] = mapped_column(String(TEAM_MAX), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(100), primary_key=True)
    category: Mapped[str] = mapped_column(String(32))  # the engine's, for the latest event
    count: Mapped[int] = mapped_column(Integer)
    first_seen: Mapped[int] = mapped_column(BigInteger)  # epoch seconds
    last_seen: Mapped[int] = mapped_column(BigInteger)
    sample: Mapped[str] = mapped_column(Text)
    notes: Mapped[int] = mapped_column(Integer)  # how many notes it has (read only when > 0)


class MemoryBucket(Base):
    """Events of a kind (or of the whole team: fingerprint ``*``) in one time bucket."""

    __tablename__ = "memory_buckets"
    __table_args__ = (Index("ix_memory_buckets_team_span_start", "team", "span", "start"),)

    team: Mapped[str] = mapped_column(String(TEAM_MAX), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(100), primary_key=True)
    span: Mapped[str] = mapped_column(String(2), primary_key=True)
    start: Mapped[int] = mapped_column(BigInteger, primary_key=True)  # epoch seconds
    count: Mapped[int] = mapped_column(Integer)


class MemoryWindow(Base):
    """Events of a kind inside a rolling window (``top``'s ranking, one index read)."""

    __tablename__ = "memory_windows"
    __table_args__ = (Index("ix_memory_windows_rank", "team", "window", "count"),)

    team: Mapped[str] = mapped_column(String(TEAM_MAX), primary_key=True)
    window: Mapped[str] = mapped_column(String(4), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(100), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)


class MemoryRoll(Base):
    """How far a team's window has rolled: the oldest bucket start its counts include."""

    __tablename__ = "memory_rolls"

    team: Mapped[str] = mapped_column(String(TEAM_MAX), primary_key=True)
    window: Mapped[str] = mapped_column(String(4), primary_key=True)
    low: Mapped[int] = mapped_column(BigInteger)


class MemoryNote(Base):
    __tablename__ = "memory_notes"
    __table_args__ = (Index("ix_memory_notes_team_fp_at", "team", "fingerprint", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team: Mapped[str] = mapped_column(String(TEAM_MAX))
    fingerprint: Mapped[str] = mapped_column(String(100))
    author_id: Mapped[str | None] = mapped_column(String(100))
    author: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)  # redacted
    at: Mapped[datetime]


class MemoryCorrection(Base):
    """The team's category for a kind (the latest correction wins)."""

    __tablename__ = "memory_corrections"

    team: Mapped[str] = mapped_column(String(TEAM_MAX), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(100), primary_key=True)
    category: Mapped[str] = mapped_column(String(32))
    was: Mapped[str] = mapped_column(String(32))
    by_id: Mapped[str | None] = mapped_column(String(100))
    by: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime]


# -- leadership (migration 0003) -----------------------------------------------------------------

class SchedulerLease(Base):
    """Who leads the scheduler among PostgreSQL replicas, until when, and under which term.

    ``expires_at`` is set from the database's own clock; ``term`` grows on every acquisition,
    so a write fenced by a term fails once anyone else has led since (bot.scheduler.lease).
    """

    __tablename__ = "scheduler_lease"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    term: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[datetime]
    acquired_at: Mapped[datetime]
