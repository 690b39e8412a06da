"""The scheduler lease: one leader among PostgreSQL replicas, with a fencing term.

Revision ID: 0003_scheduler_lease
Revises: 0001_initial
Create Date: 2026-02-01 00:00:00
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0003_scheduler_lease"
down_revision: Union[str, Sequence[str], None] = "0001_initial"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "scheduler_lease",
        sa.Column("name", sa.String(50), primary_key=True),
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("term", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("acquired_at", TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("scheduler_lease")
