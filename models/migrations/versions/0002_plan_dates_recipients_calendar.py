"""Plans the format could not express: obligation spans and recipients, calendar announcements.

Adds the `from`/`until` days of obligations and the `from` day of deliverables, every recipient
of an obligation (`obligation_recipients`, filled from the one recipient stored so far), and
the announcements the calendar's days off and make-up days come from.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "calendar_announcements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_announcements")),
        sa.UniqueConstraint("code", name=op.f("uq_calendar_announcements_code")),
    )
    with op.batch_alter_table("calendar_overrides") as batch:
        batch.add_column(sa.Column("announcement_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_calendar_overrides_announcement_id_calendar_announcements"),
            "calendar_announcements",
            ["announcement_id"],
            ["id"],
            ondelete="CASCADE",
        )
    with op.batch_alter_table("obligations") as batch:
        batch.add_column(sa.Column("starts_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("ends_on", sa.Date(), nullable=True))
    with op.batch_alter_table("deliverables") as batch:
        batch.add_column(sa.Column("starts_on", sa.Date(), nullable=True))
    op.create_table(
        "obligation_recipients",
        sa.Column("obligation_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["obligation_id"],
            ["obligations.id"],
            name=op.f("fk_obligation_recipients_obligation_id_obligations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_obligation_recipients_unit_id_units")
        ),
        sa.PrimaryKeyConstraint("obligation_id", "unit_id", name=op.f("pk_obligation_recipients")),
    )
    op.execute(
        "INSERT INTO obligation_recipients (obligation_id, unit_id, position) "
        "SELECT id, recipient_unit_id, 0 FROM obligations"
    )


def downgrade() -> None:
    op.drop_table("obligation_recipients")
    with op.batch_alter_table("deliverables") as batch:
        batch.drop_column("starts_on")
    with op.batch_alter_table("obligations") as batch:
        batch.drop_column("ends_on")
        batch.drop_column("starts_on")
    with op.batch_alter_table("calendar_overrides") as batch:
        batch.drop_constraint(
            op.f("fk_calendar_overrides_announcement_id_calendar_announcements"),
            type_="foreignkey",
        )
        batch.drop_column("announcement_id")
    op.drop_table("calendar_announcements")
