"""Zalo fallbacks and the spent first refresh token.

outbox_messages.fallback_of: the message a fallback stands in for (its recipient could not be
reached on that channel). channel_tokens.seed_digest: the SHA-256 of the configured first
refresh token once it was spent, so it is never sent again.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_messages") as batch:
        batch.add_column(sa.Column("fallback_of", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            batch.f("fk_outbox_messages_fallback_of_outbox_messages"),
            "outbox_messages",
            ["fallback_of"],
            ["id"],
        )
        batch.create_index(batch.f("ix_outbox_messages_fallback_of"), ["fallback_of"])
    with op.batch_alter_table("channel_tokens") as batch:
        batch.add_column(sa.Column("seed_digest", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("channel_tokens") as batch:
        batch.drop_column("seed_digest")
    with op.batch_alter_table("outbox_messages") as batch:
        batch.drop_index(batch.f("ix_outbox_messages_fallback_of"))
        batch.drop_constraint(
            batch.f("fk_outbox_messages_fallback_of_outbox_messages"), type_="foreignkey"
        )
        batch.drop_column("fallback_of")
