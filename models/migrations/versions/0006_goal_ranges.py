"""Range and reduction goals.

targets.goal_upper: a range goal's upper bound (goal_number is its lower bound, comparator
".."). targets.baseline: the figure a reduction goal is measured from (comparator "-%",
goal_number the reduction in percent).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("targets") as batch:
        batch.add_column(sa.Column("goal_upper", sa.Numeric(20, 6), nullable=True))
        batch.add_column(sa.Column("baseline", sa.Numeric(20, 6), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("targets") as batch:
        batch.drop_column("baseline")
        batch.drop_column("goal_upper")
