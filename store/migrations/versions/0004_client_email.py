"""client email: triage records, draft generations and sends, one approval per draft

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import switchboard.store.types

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = switchboard.store.types.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "email_triage",
        sa.Column("message_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column(
            "verdict",
            sa.Enum("human", "draft", name="verdict", native_enum=False, length=13),
            nullable=False,
        ),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("triaged_at", UTC(timezone=True), nullable=False),
        sa.Column("draft_attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("redraft_asked_by", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.ForeignKeyConstraint(["message_id"], ["inbound_email.message_id"]),
        sa.PrimaryKeyConstraint("message_id"),
    )
    with op.batch_alter_table("draft") as batch:
        batch.add_column(sa.Column("generation", sa.Integer(), nullable=False, server_default="1"))
        batch.add_column(sa.Column("sent_at", UTC(timezone=True), nullable=True))
        batch.add_column(sa.Column("send_error", sa.Text(), nullable=True))
        batch.create_index("ix_draft_sent_at", ["sent_at"], unique=False)
    with op.batch_alter_table("draft") as batch:
        batch.alter_column("generation", server_default=None, existing_type=sa.Integer())
    with op.batch_alter_table("approval") as batch:
        batch.add_column(
            sa.Column("edited", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.drop_index("ix_approval_draft_id")
        batch.create_index("ix_approval_draft_id", ["draft_id"], unique=True)
    with op.batch_alter_table("approval") as batch:
        batch.alter_column("edited", server_default=None, existing_type=sa.Boolean())


def downgrade() -> None:
    with op.batch_alter_table("approval") as batch:
        batch.drop_index("ix_approval_draft_id")
        batch.create_index("ix_approval_draft_id", ["draft_id"], unique=False)
        batch.drop_column("edited")
    with op.batch_alter_table("draft") as batch:
        batch.drop_index("ix_draft_sent_at")
        batch.drop_column("send_error")
        batch.drop_column("sent_at")
        batch.drop_column("generation")
    op.drop_table("email_triage")
