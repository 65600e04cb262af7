"""Units' official abbreviation (ký hiệu) and the plan header's sample fields.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("units", sa.Column("abbreviation", sa.String(length=32), nullable=True))
    # Plans loaded before this revision carry no sample fields.
    op.add_column(
        "plans",
        sa.Column("sample_fields", sa.JSON(), nullable=False, server_default=sa.text("'[]'")),
    )


def downgrade() -> None:
    op.drop_column("plans", "sample_fields")
    op.drop_column("units", "abbreviation")
