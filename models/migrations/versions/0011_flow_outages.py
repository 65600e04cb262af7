"""Flow outages: a scheduled flow that keeps failing is one outage, alerted once, reminded
now and then, and reported over when a run completes again.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "flow_outages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("flow_name", sa.String(length=128), nullable=False),
        sa.Column("open_flow", sa.String(length=128), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failed_runs", sa.Integer(), nullable=False),
        sa.Column("last_run_name", sa.String(length=255), nullable=False),
        sa.Column("last_run_id", sa.String(length=64), nullable=False),
        sa.Column("last_state", sa.String(length=16), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("alerted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recovery_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flow_outages")),
        sa.UniqueConstraint("open_flow", name=op.f("uq_flow_outages_open_flow")),
    )
    op.create_index(
        op.f("ix_flow_outages_flow_name"), "flow_outages", ["flow_name"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_flow_outages_flow_name"), table_name="flow_outages")
    op.drop_table("flow_outages")
