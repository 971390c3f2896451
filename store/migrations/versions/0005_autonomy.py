"""autonomy: the level a pause interrupted, failed runs in a row, shadow outputs and reviews

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import switchboard.store.types

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = switchboard.store.types.UTCDateTime
AUTONOMY = sa.Enum(
    "shadow", "supervised", "autonomous", "paused", name="autonomy", native_enum=False, length=18
)


def upgrade() -> None:
    op.create_table(
        "shadow_output",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("agent", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("what", sa.Text(), nullable=False),
        sa.Column("for_whom", sa.Text(), nullable=False),
        sa.Column("why", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("created_at", UTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_index(
        "ix_shadow_output_agent_created", "shadow_output", ["agent", "created_at"], unique=False
    )
    op.create_table(
        "shadow_review",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("output_id", sa.Integer(), nullable=False),
        sa.Column("reviewer", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column(
            "verdict",
            sa.Enum("agree", "disagree", name="shadowverdict", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("at", UTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["output_id"], ["shadow_output.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_shadow_review_output_reviewer",
        "shadow_review",
        ["output_id", "reviewer"],
        unique=True,
    )
    with op.batch_alter_table("agent_state") as batch:
        batch.add_column(sa.Column("paused_from", AUTONOMY, nullable=True))
        batch.add_column(sa.Column("failures", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("agent_state") as batch:
        batch.alter_column("failures", server_default=None, existing_type=sa.Integer())


def downgrade() -> None:
    with op.batch_alter_table("agent_state") as batch:
        batch.drop_column("failures")
        batch.drop_column("paused_from")
    op.drop_index("ix_shadow_review_output_reviewer", table_name="shadow_review")
    op.drop_table("shadow_review")
    op.drop_index("ix_shadow_output_agent_created", table_name="shadow_output")
    op.drop_table("shadow_output")
