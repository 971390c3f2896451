"""import records: when each import brought new rows, per file and source (stale sources)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import switchboard.store.types

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = switchboard.store.types.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "import_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("imported_at", UTC(timezone=True), nullable=False),
        sa.Column("imported_on", sa.Date(), nullable=False),
        sa.Column("file", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("new_rows", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_import_record_source_imported_on",
        "import_record",
        ["source", "imported_on"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_import_record_source_imported_on", table_name="import_record")
    op.drop_table("import_record")
