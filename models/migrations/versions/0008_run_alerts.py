"""Run alerts: the failed or crashed flow runs the admin was told about, one mail per run.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "run_alerts",
        sa.Column("flow_run_id", sa.String(length=64), nullable=False),
        sa.Column("flow_name", sa.String(length=128), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("flow_run_id", name=op.f("pk_run_alerts")),
    )


def downgrade() -> None:
    op.drop_table("run_alerts")
