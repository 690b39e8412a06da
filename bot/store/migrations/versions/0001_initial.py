"""Initial schema: evidence, incidents, subscriptions, outbox, jobs, budget.

Every table of bot.store.models is created here at once (the later features' tables included),
so that the history stays linear. tests/store checks this file against the models.

Revision ID: 0001_initial
Revises:
Create Date: 2026-01-01 00:00:00
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0001_initial"
down_revision: Union[str, Sequence[str], None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "probe_results",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("target", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=True),
        sa.Column("category", sa.String(32), nullable=True),
        sa.Column("error_code", sa.String(200), nullable=True),
        sa.Column("request_id", sa.String(200), nullable=True),
        sa.Column("detail", sa.String(2000), nullable=True),
        sa.Column("at", TS, nullable=False),
    )
    op.create_index("ix_probe_results_target_kind_at", "probe_results", ["target", "kind", "at"])

    op.create_table(
        "status_snapshots",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("url", sa.String(500), nullable=False),
        sa.Column("fetched_at", TS, nullable=False),
        sa.Column("format", sa.String(16), nullable=True),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("indicator", sa.String(32), nullable=True),
        sa.Column("components", sa.JSON(), nullable=False),
        sa.Column("incidents", sa.JSON(), nullable=False),
        sa.Column("etag", sa.String(500), nullable=True),
        sa.Column("last_modified", sa.String(100), nullable=True),
        sa.Column("error", sa.String(2000), nullable=True),
    )
    op.create_index("ix_status_snapshots_fetched_at", "status_snapshots", ["fetched_at"])

    op.create_table(
        "error_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", TS, nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("target", sa.String(100), nullable=True),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("fingerprint", sa.String(100), nullable=True),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("error_code", sa.String(200), nullable=True),
        sa.Column("channel_key", sa.String(300), nullable=True),
        sa.Column("redacted", sa.Text(), nullable=False),
    )
    op.create_index("ix_error_events_at", "error_events", ["at"])
    op.create_index("ix_error_events_target_at", "error_events", ["target", "at"])

    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("target", sa.String(100), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("title", sa.String(500), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("opened_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("resolved_at", TS, nullable=True),
        sa.Column("linked_incident_id", sa.Integer(), sa.ForeignKey("incidents.id"),
                  nullable=True),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("official_update_at", sa.String(64), nullable=True),
    )
    op.create_index("ix_incidents_key_state", "incidents", ["key", "state"])
    op.create_index("uq_incidents_open_key", "incidents", ["key"], unique=True,
                    sqlite_where=sa.text("state = 'open'"),
                    postgresql_where=sa.text("state = 'open'"))
    op.create_index("ix_incidents_opened_at", "incidents", ["opened_at"])

    op.create_table(
        "incident_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("incident_id", sa.Integer(),
                  sa.ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
    )
    op.create_index("ix_incident_events_incident_seq", "incident_events", ["incident_id", "seq"])

    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("workspace", sa.String(100), nullable=False),
        sa.Column("channel", sa.String(100), nullable=False),
        sa.Column("kinds", sa.String(16), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=True),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("uq_subscriptions_channel", "subscriptions",
                    ["platform", "workspace", "channel"], unique=True)

    op.create_table(
        "mutes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("workspace", sa.String(100), nullable=False),
        sa.Column("channel", sa.String(100), nullable=False),
        sa.Column("until", TS, nullable=False),
        sa.Column("created_by", sa.String(100), nullable=True),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("uq_mutes_channel", "mutes", ["platform", "workspace", "channel"],
                    unique=True)

    op.create_table(
        "channel_settings",
        sa.Column("platform", sa.String(16), primary_key=True),
        sa.Column("workspace", sa.String(100), primary_key=True),
        sa.Column("channel", sa.String(100), primary_key=True),
        sa.Column("paste_detection", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("count_pastes", sa.Boolean(), nullable=False, server_default=sa.true()),
    )

    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("dedupe_key", sa.String(400), nullable=False),
        sa.Column("incident_id", sa.Integer(),
                  sa.ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("notice_kind", sa.String(16), nullable=False),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("workspace", sa.String(100), nullable=False),
        sa.Column("channel", sa.String(100), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("locked_by", sa.String(200), nullable=True),
        sa.Column("locked_until", TS, nullable=True),
        sa.Column("last_error", sa.String(2000), nullable=True),
        sa.Column("platform_message_id", sa.String(200), nullable=True),
        sa.Column("thread_id", sa.String(200), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("sent_at", TS, nullable=True),
    )
    op.create_index("uq_outbox_dedupe_key", "outbox", ["dedupe_key"], unique=True)
    op.create_index("ix_outbox_status_next", "outbox", ["status", "next_attempt_at"])
    op.create_index("ix_outbox_channel", "outbox", ["platform", "workspace", "channel", "status"])
    op.create_index("ix_outbox_incident_channel", "outbox",
                    ["incident_id", "platform", "workspace", "channel", "seq"])

    op.create_table(
        "delivery_attempts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("outbox_id", sa.Integer(), sa.ForeignKey("outbox.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("finished_at", TS, nullable=True),
        sa.Column("outcome", sa.String(16), nullable=True),
        sa.Column("error", sa.String(2000), nullable=True),
        sa.Column("platform_message_id", sa.String(200), nullable=True),
    )
    op.create_index("ix_delivery_attempts_outbox_id", "delivery_attempts", ["outbox_id"])

    op.create_table(
        "job_runs",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("last_started_at", TS, nullable=True),
        sa.Column("last_success_at", TS, nullable=True),
        sa.Column("last_error", sa.String(2000), nullable=True),
    )

    op.create_table(
        "budget",
        sa.Column("day", sa.String(10), primary_key=True),
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("used", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    for table in ("budget", "job_runs", "delivery_attempts", "outbox", "channel_settings",
                  "mutes", "subscriptions", "incident_events", "incidents", "error_events",
                  "status_snapshots", "probe_results"):
        op.drop_table(table)
