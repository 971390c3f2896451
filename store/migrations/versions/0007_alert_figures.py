"""alert figures: the money and the threshold an alert's message shows

Spend to date, plan to date, budget, projected month-end (money, exact) and the threshold
crossed, as of the alert's last evaluation. Nullable: alerts stored before this release get
them the next time the pacing agent sees them.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import switchboard.store.types

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ExactDecimal = switchboard.store.types.ExactDecimal
MONEY = ("spend_to_date", "plan_to_date", "budget", "projected_month_end")


def upgrade() -> None:
    with op.batch_alter_table("alert") as batch:
        for name in MONEY:
            batch.add_column(sa.Column(name, ExactDecimal(14, 2), nullable=True))
        batch.add_column(sa.Column("threshold_pct", ExactDecimal(9, 2), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alert") as batch:
        batch.drop_column("threshold_pct")
        for name in reversed(MONEY):
            batch.drop_column(name)
