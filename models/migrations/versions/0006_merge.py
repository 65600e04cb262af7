"""merge the intake, status and outbox branches into one line

Revision ID: 0006_merge
Revises: 0002_intake, 0003_status, 0005_outbox
"""

from collections.abc import Sequence

revision: str = "0006_merge"
down_revision: str | Sequence[str] | None = ("0002_intake", "0003_status", "0005_outbox")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
