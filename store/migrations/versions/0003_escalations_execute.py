"""escalations that execute: leases, steps, agent runs

The escalation table gains the lease columns (due escalations are claimed like any queue),
a nullable next step (none while a step waits for delivery), the level up to which lateness
was reported, a wider subject (`email:` and a 200-character message id), the index of the
due query, and one active escalation per subject. `escalation_step` records each level's
step; `agent_run` records every agent run, so an agent is due exactly when its schedule says.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import switchboard.store.types

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = switchboard.store.types.UTCDateTime
ACTIVE = sa.text("status IN ('open', 'exhausted')")


def upgrade() -> None:
    op.create_table(
        "agent_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("ran_at", UTC(timezone=True), nullable=False),
        sa.Column("trigger", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_agent_run_agent_ran_at", "agent_run", ["agent", "ran_at"], unique=False)
    with op.batch_alter_table("escalation") as batch:
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(
            sa.Column("claim_token", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True)
        )
        batch.add_column(sa.Column("claim_expires_at", UTC(timezone=True), nullable=True))
        batch.add_column(sa.Column("last_error", sa.Text(), nullable=True))
        batch.add_column(
            sa.Column("late_reported_level", sa.Integer(), nullable=False, server_default="0")
        )
        batch.alter_column(
            "subject",
            existing_type=sa.VARCHAR(length=200),
            type_=sqlmodel.sql.sqltypes.AutoString(length=300),
            existing_nullable=False,
        )
        batch.alter_column("next_step_at", existing_type=UTC(timezone=True), nullable=True)
        batch.drop_index("ix_escalation_next_step_at")
        batch.create_index("ix_escalation_status_next_step_at", ["status", "next_step_at"])
        batch.create_index(
            "uq_escalation_active_subject",
            ["subject"],
            unique=True,
            sqlite_where=ACTIVE,
            postgresql_where=ACTIVE,
        )
    # The server defaults only filled existing rows; the models give the values from now on.
    with op.batch_alter_table("escalation") as batch:
        batch.alter_column("attempts", server_default=None, existing_type=sa.Integer())
        batch.alter_column("late_reported_level", server_default=None, existing_type=sa.Integer())
    op.create_table(
        "escalation_step",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("escalation_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("notify", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column(
            "via",
            sa.Enum("dm", "channel", name="via", native_enum=False, length=15),
            nullable=False,
        ),
        sa.Column("target", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("person", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column(
            "state",
            sa.Enum(
                "queued", "delivered", "failed", name="stepstate", native_enum=False, length=17
            ),
            nullable=False,
        ),
        sa.Column("outbox_key", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.Column("queued_at", UTC(timezone=True), nullable=False),
        sa.Column("delivered_at", UTC(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["escalation_id"], ["escalation.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("escalation_id", "level", name="uq_escalation_step_level"),
    )
    op.create_index(
        "ix_escalation_step_escalation_id", "escalation_step", ["escalation_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_escalation_step_escalation_id", table_name="escalation_step")
    op.drop_table("escalation_step")
    op.execute("DELETE FROM escalation WHERE next_step_at IS NULL")
    with op.batch_alter_table("escalation") as batch:
        batch.drop_index("uq_escalation_active_subject")
        batch.drop_index("ix_escalation_status_next_step_at")
        batch.create_index("ix_escalation_next_step_at", ["next_step_at"])
        batch.alter_column("next_step_at", existing_type=UTC(timezone=True), nullable=False)
        batch.alter_column(
            "subject", type_=sa.VARCHAR(length=200), existing_nullable=False
        )
        for column in ("late_reported_level", "last_error", "claim_expires_at", "claim_token"):
            batch.drop_column(column)
        batch.drop_column("attempts")
    op.drop_index("ix_agent_run_agent_ran_at", table_name="agent_run")
    op.drop_table("agent_run")
