"""jobs, worker heartbeats and status, outbox DMs and replies

Adds the `job` table (slow work on the lease mechanism) and `runtime_status` (worker
heartbeats, the outbox's pause, channels Slack refuses). The outbox gains the `respond`
kind (its rows have no channel), the producing agent, and the channel a message landed in
(for a DM, the conversation opened for the person), backfilled for messages already sent.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import switchboard.store.types

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = switchboard.store.types.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "job",
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claim_token", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
        sa.Column("claim_expires_at", UTC(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("artifact", sa.LargeBinary(), nullable=True),
        sa.Column("agent", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column(
            "state",
            sa.Enum(
                "pending", "running", "done", "failed", name="jobstate", native_enum=False,
                length=15,
            ),
            nullable=False,
        ),
        sa.Column("run_at", UTC(timezone=True), nullable=False),
        sa.Column("created_at", UTC(timezone=True), nullable=False),
        sa.Column("finished_at", UTC(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_index("ix_job_state_run_at", "job", ["state", "run_at"], unique=False)
    op.create_table(
        "runtime_status",
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("since", UTC(timezone=True), nullable=False),
        sa.Column("checked_at", UTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("outbox_message") as batch:
        batch.add_column(
            sa.Column("agent", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch.add_column(
            sa.Column("posted_channel", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True)
        )
        batch.alter_column(
            "key",
            existing_type=sa.VARCHAR(length=200),
            type_=sqlmodel.sql.sqltypes.AutoString(length=300),
            existing_nullable=False,
        )
        batch.alter_column(
            "parent_key",
            existing_type=sa.VARCHAR(length=200),
            type_=sqlmodel.sql.sqltypes.AutoString(length=300),
            existing_nullable=True,
        )
        batch.alter_column(
            "kind",
            existing_type=sa.VARCHAR(length=14),
            type_=sa.Enum(
                "post", "dm", "update", "respond", name="outboxkind", native_enum=False, length=15
            ),
            existing_nullable=False,
        )
        batch.alter_column("channel", existing_type=sa.VARCHAR(length=32), nullable=True)
    op.execute("UPDATE outbox_message SET posted_channel = channel WHERE ts IS NOT NULL")


def downgrade() -> None:
    op.execute("DELETE FROM outbox_message WHERE kind = 'respond'")
    with op.batch_alter_table("outbox_message") as batch:
        batch.alter_column("channel", existing_type=sa.VARCHAR(length=32), nullable=False)
        batch.alter_column(
            "kind",
            existing_type=sa.Enum(
                "post", "dm", "update", "respond", name="outboxkind", native_enum=False, length=15
            ),
            type_=sa.VARCHAR(length=14),
            existing_nullable=False,
        )
        batch.alter_column("parent_key", type_=sa.VARCHAR(length=200), existing_nullable=True)
        batch.alter_column("key", type_=sa.VARCHAR(length=200), existing_nullable=False)
        batch.drop_column("posted_channel")
        batch.drop_column("agent")
    op.drop_table("runtime_status")
    op.drop_index("ix_job_state_run_at", table_name="job")
    op.drop_table("job")
