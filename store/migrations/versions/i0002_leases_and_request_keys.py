"""interaction queue on the shared lease mechanism, with each request's identity

Adds `request_key` (unique: a replayed request is recognised), `run_at` (backoff),
`finished_at` (done rows are kept a day), and renames `error` to `last_error` as on every
leased table. Rows an earlier release left pending hold raw Slack payloads, which this
release's worker cannot read: they are marked failed, with the reason.

Revision ID: i0002
Revises: i0001
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import switchboard.store.types

revision: str = "i0002"
down_revision: str | None = "i0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("interaction") as batch:
        batch.alter_column("error", new_column_name="last_error", existing_type=sa.Text())
        batch.add_column(
            sa.Column("request_key", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True)
        )
        batch.add_column(
            sa.Column("run_at", switchboard.store.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch.add_column(
            sa.Column(
                "finished_at", switchboard.store.types.UTCDateTime(timezone=True), nullable=True
            )
        )
    op.execute("UPDATE interaction SET run_at = received_at")
    op.execute(
        "UPDATE interaction SET state = 'failed', claim_token = NULL, claim_expires_at = NULL, "
        "last_error = 'recorded by an earlier release in a format this release cannot apply' "
        "WHERE state IN ('pending', 'claimed')"
    )
    with op.batch_alter_table("interaction") as batch:
        batch.alter_column(
            "run_at",
            existing_type=switchboard.store.types.UTCDateTime(timezone=True),
            nullable=False,
        )
        batch.create_index("uq_interaction_request_key", ["request_key"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("interaction") as batch:
        batch.drop_index("uq_interaction_request_key")
        batch.drop_column("finished_at")
        batch.drop_column("run_at")
        batch.drop_column("request_key")
        batch.alter_column("last_error", new_column_name="error", existing_type=sa.Text())
