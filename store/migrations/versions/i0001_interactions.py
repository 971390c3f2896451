"""interaction queue

A branch of its own: on SQLite the queue lives in its own file (store.engine.interactions_url),
which holds this table only; on PostgreSQL both branches share the database. (The store is
always migrated to every head, so a SQLite store also has an empty copy of the table.)

Revision ID: i0001
Revises:
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import switchboard.store.types

revision: str = "i0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("interactions",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "interaction",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("received_at", switchboard.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "pending", "claimed", "failed", name="interactionstate", native_enum=False, length=15
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claim_token", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
        sa.Column("claim_expires_at", switchboard.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_interaction_state_id", "interaction", ["state", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_interaction_state_id", table_name="interaction")
    op.drop_table("interaction")
