"""item exceptions: extensions and exemptions

Revision ID: 0003_status
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_status"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "item_exceptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("deadline_on", sa.Date(), nullable=True),
        sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("granted_by", sa.String(length=128), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["due_items.id"], name=op.f("fk_item_exceptions_item_id_due_items")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_item_exceptions")),
    )
    op.create_index(
        op.f("ix_item_exceptions_item_id"), "item_exceptions", ["item_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_item_exceptions_item_id"), table_name="item_exceptions")
    op.drop_table("item_exceptions")
