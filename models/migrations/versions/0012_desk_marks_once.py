"""Change marks on PostgreSQL: a transaction writes each mark once, and skips it for the
other rows it changed.

0010's desk_bump tried the write for every row (an INSERT ... ON CONFLICT, its conflict
check and row lock, at the commit): a bulk write of 120,000 items took two to three times
as long as without the triggers. The keys a transaction wrote are listed in a
transaction-local setting (reset at its end, and by a rolled-back savepoint, as the writes
are), so the marks read exactly as before. A list, not a lookup of the mark row: a plan
load writes a few hundred keys at most, and looking the row up per row cost half the time
the write did. SQLite is unchanged.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# chr(31) (unit separator) around each key: no key holds it, so no key matches part of
# another ('o:1:2024-1' in 'o:1:2024-10').
ONCE = """
CREATE OR REPLACE FUNCTION desk_bump(mark TEXT) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    done TEXT := COALESCE(current_setting('desk.bumped', true), '');
BEGIN
    IF position(chr(31) || mark || chr(31) IN done) > 0 THEN
        RETURN;
    END IF;
    INSERT INTO desk_marks (key, n) VALUES (mark, pg_current_xact_id()::text::bigint)
    ON CONFLICT (key) DO UPDATE SET n = EXCLUDED.n WHERE desk_marks.n <> EXCLUDED.n;
    PERFORM set_config('desk.bumped', done || chr(31) || mark || chr(31), true);
END
$$
"""
EVERY_ROW = """
CREATE OR REPLACE FUNCTION desk_bump(mark TEXT) RETURNS void LANGUAGE sql AS $$
    INSERT INTO desk_marks (key, n) VALUES (mark, pg_current_xact_id()::text::bigint)
    ON CONFLICT (key) DO UPDATE SET n = EXCLUDED.n WHERE desk_marks.n <> EXCLUDED.n
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(ONCE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(EVERY_ROW)
