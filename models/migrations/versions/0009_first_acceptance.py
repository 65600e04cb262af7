"""Each item's first acceptance, for the dashboard's counts.

due_items.first_accepted_at: when the item's first accepted submission was received (on
time is judged by it), filled here from the submissions already stored and kept since by
models.acceptance; ix_due_items_standing lets a year of an obligation be counted by period
and state from the index alone; ix_people_unit_id serves the unit page's list of people.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The earliest receipt among each item's accepted versions: status.states.classify's rule.
BACKFILL = """
UPDATE due_items SET first_accepted_at = (
    SELECT MIN(s.received_at) FROM submissions s
    WHERE s.item_id = due_items.id AND s.accepted = :accepted
)
"""


def upgrade() -> None:
    with op.batch_alter_table("due_items") as batch:
        batch.add_column(sa.Column("first_accepted_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(sa.text(BACKFILL).bindparams(accepted=True))
    op.create_index(
        "ix_due_items_standing",
        "due_items",
        [
            "obligation_id",
            "period_label",
            "plan_id",
            "withdrawn_at",
            "deadline_at",
            "first_accepted_at",
            "unit_id",
        ],
    )
    op.create_index("ix_people_unit_id", "people", ["unit_id"])


def downgrade() -> None:
    op.drop_index("ix_people_unit_id", table_name="people")
    op.drop_index("ix_due_items_standing", table_name="due_items")
    with op.batch_alter_table("due_items") as batch:
        batch.drop_column("first_accepted_at")
