"""People sign in: an access token may belong to a person of the plan.

access_tokens.person_id: the person a token was issued to (role "person"); their unit and
role are read from `people` when the token is used.

Revision ID: 0007_people
Revises: 0006
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_people"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("access_tokens") as batch:
        batch.add_column(sa.Column("person_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_access_tokens_person_id_people", "people", ["person_id"], ["id"]
        )
        batch.create_index("ix_access_tokens_person_id", ["person_id"])


def downgrade() -> None:
    with op.batch_alter_table("access_tokens") as batch:
        batch.drop_index("ix_access_tokens_person_id")
        batch.drop_constraint("fk_access_tokens_person_id_people", type_="foreignkey")
        batch.drop_column("person_id")
