"""Why a probe or a status-page poll failed, in one word (issue 14, own connectivity): the
own-connectivity rule (``bot.connectivity``) reads it from the stored latest results, so the
CLI, /healthz and every replica apply it to the same evidence. Nullable: older rows have none.

Revision ID: 0005_failure
Revises: 0004_memory
Create Date: 2026-12-03 00:00:00
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0005_failure"
down_revision: Union[str, Sequence[str], None] = "0004_memory"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # batch mode: SQLite cannot ALTER every column kind in place; PostgreSQL alters directly
    with op.batch_alter_table("probe_results") as batch:
        batch.add_column(sa.Column("failure", sa.String(16), nullable=True))
    with op.batch_alter_table("status_snapshots") as batch:
        batch.add_column(sa.Column("failure", sa.String(16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("status_snapshots") as batch:
        batch.drop_column("failure")
    with op.batch_alter_table("probe_results") as batch:
        batch.drop_column("failure")
