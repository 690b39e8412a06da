"""Team memory (Contract 5): per-event team and author, kinds, bucket and window counts,
rolls, notes, corrections. tests/store checks this file against the models.

Revision ID: 0004_memory
Revises: 0003_scheduler_lease
Create Date: 2026-02-01 00:00:00
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0004_memory"
down_revision: Union[str, Sequence[str], None] = "0003_scheduler_lease"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

TS = sa.DateTime(timezone=True)
TEAM = sa.String(140)
FP = sa.String(100)


def upgrade() -> None:
    op.create_table(
        "memory_events",
        sa.Column("event_id", sa.Integer(), sa.ForeignKey("error_events.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("team", TEAM, nullable=False),
        sa.Column("fingerprint", FP, nullable=False),
        sa.Column("author", sa.String(100), nullable=True),
    )
    op.create_index("ix_memory_events_team_fp_author", "memory_events",
                    ["team", "fingerprint", "author"])
    op.create_index("ix_memory_events_team_author", "memory_events",
                    ["team", "author", "event_id"])

    op.create_table(
        "memory_kinds",
        sa.Column("team", TEAM, primary_key=True),
        sa.Column("fingerprint", FP, primary_key=True),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("first_seen", sa.BigInteger(), nullable=False),
        sa.Column("last_seen", sa.BigInteger(), nullable=False),
        sa.Column("sample", sa.Text(), nullable=False),
        sa.Column("notes", sa.Integer(), nullable=False),
    )
    op.create_index("ix_memory_kinds_team_last_seen", "memory_kinds", ["team", "last_seen"])

    op.create_table(
        "memory_buckets",
        sa.Column("team", TEAM, primary_key=True),
        sa.Column("fingerprint", FP, primary_key=True),
        sa.Column("span", sa.String(2), primary_key=True),
        sa.Column("start", sa.BigInteger(), primary_key=True),
        sa.Column("count", sa.Integer(), nullable=False),
    )
    op.create_index("ix_memory_buckets_team_span_start", "memory_buckets",
                    ["team", "span", "start"])

    op.create_table(
        "memory_windows",
        sa.Column("team", TEAM, primary_key=True),
        sa.Column("window", sa.String(4), primary_key=True),
        sa.Column("fingerprint", FP, primary_key=True),
        sa.Column("count", sa.Integer(), nullable=False),
    )
    op.create_index("ix_memory_windows_rank", "memory_windows", ["team", "window", "count"])

    op.create_table(
        "memory_rolls",
        sa.Column("team", TEAM, primary_key=True),
        sa.Column("window", sa.String(4), primary_key=True),
        sa.Column("low", sa.BigInteger(), nullable=False),
    )

    op.create_table(
        "memory_notes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("team", TEAM, nullable=False),
        sa.Column("fingerprint", FP, nullable=False),
        sa.Column("author_id", sa.String(100), nullable=True),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("at", TS, nullable=False),
    )
    op.create_index("ix_memory_notes_team_fp_at", "memory_notes", ["team", "fingerprint", "at"])

    op.create_table(
        "memory_corrections",
        sa.Column("team", TEAM, primary_key=True),
        sa.Column("fingerprint", FP, primary_key=True),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("was", sa.String(32), nullable=False),
        sa.Column("by_id", sa.String(100), nullable=True),
        sa.Column("by", sa.String(200), nullable=False),
        sa.Column("at", TS, nullable=False),
    )


def downgrade() -> None:
    for table in ("memory_corrections", "memory_notes", "memory_rolls", "memory_windows",
                  "memory_buckets", "memory_kinds", "memory_events"):
        op.drop_table(table)
