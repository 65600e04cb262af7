"""Change marks for the dashboard, written by the database's triggers.

desk_marks holds one counter per key, raised by triggers in the same transaction as the
change, whatever program makes it (portal, flows, CLI, a hand-written UPDATE):
- "o:<obligation id>:<period>" or "d:<deliverable id>": a column of the dashboard, raised
  when one of its items is added, removed, moved, withdrawn, re-dated or first accepted,
  or when one of its items' reliefs changes;
- "other": items of neither an obligation nor a deliverable (on no dashboard);
- "members": raised when any item is added, removed, moved to another unit, column or plan,
  or withdrawn (which units owe what, which sources and years there are);
- "units": any change to units; "plans": any change to plans, obligations, deliverables or
  tasks (titles, recipients, leaders: what scope and the filters read).
status.kept uses an answer only while the marks it was computed under are unchanged.

On PostgreSQL the triggers are deferred to the commit (constraint triggers): a mark row is
locked only for the instant of the commit, so writers never wait on each other's marks
while they hold item rows (no deadlock between the inbox and a plan reload). There a mark
is the id of the last transaction that changed what it marks, written once per transaction:
a counter raised once per row would leave a plan load's 120,000 items a chain of 120,000
row versions to walk at every raise. Two transactions that each change items of the same
two columns and commit at the same instant can still deadlock on their marks; PostgreSQL
then aborts one (a submission or an office act changes a single column). Either way a mark
reads differently after every committed change, which is all its readers compare. SQLite
has one writer at a time, runs the triggers at once and counts.

SQLite drops a table's triggers when a migration rebuilds it (batch_alter_table): a later
migration that rebuilds due_items, item_reliefs, units, plans, obligations, deliverables or
plan_tasks must create its triggers again (tests/desk/test_desk_marks.py fails otherwise).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What moves an item between columns, units or plans, or out of the year's items.
MEMBERSHIP = (
    "plan_id",
    "obligation_id",
    "deliverable_id",
    "unit_id",
    "period_label",
    "withdrawn_at",
)
# What changes an item's state in its column.
STANDING = ("deadline_at", "deadline_on", "first_accepted_at")
PLAN_TABLES = ("plans", "obligations", "deliverables", "plan_tasks")


def _column_key(row: str) -> str:
    """The mark key of the column of the item `row` (NEW or OLD), as SQL."""
    return (
        f"CASE WHEN {row}.obligation_id IS NOT NULL"
        f" THEN 'o:' || CAST({row}.obligation_id AS TEXT)"
        f" || ':' || COALESCE({row}.period_label, '')"
        f" WHEN {row}.deliverable_id IS NOT NULL THEN 'd:' || CAST({row}.deliverable_id AS TEXT)"
        " ELSE 'other' END"  # an item of neither (never on the dashboard)
    )


def _changed(columns: Sequence[str]) -> str:
    return " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in columns)


# --- SQLite ---------------------------------------------------------------------------------


def _sqlite_bump(key: str) -> str:
    return (
        f"INSERT INTO desk_marks (key, n) VALUES ({key}, 1)"  # noqa: S608 (our SQL, no input)
        " ON CONFLICT (key) DO UPDATE SET n = n + 1;"
    )


def _sqlite_item_column(row: str) -> str:
    item = f"SELECT {_column_key('d')} FROM due_items d WHERE d.id = {row}.item_id"  # noqa: S608
    return _sqlite_bump(f"({item})")


def _sqlite_triggers() -> list[tuple[str, str, str]]:
    """(name, table, statement) of every trigger on SQLite."""
    members, new_col, old_col = (
        _sqlite_bump("'members'"),
        _sqlite_bump(_column_key("NEW")),
        _sqlite_bump(_column_key("OLD")),
    )
    moved = _changed(MEMBERSHIP).replace("IS DISTINCT FROM", "IS NOT")
    restated = _changed(STANDING).replace("IS DISTINCT FROM", "IS NOT")
    relief_old, relief_new = _sqlite_item_column("OLD"), _sqlite_item_column("NEW")
    found = [
        ("desk_items_added", "INSERT", "due_items", "", f"{members} {new_col}"),
        ("desk_items_removed", "DELETE", "due_items", "", f"{members} {old_col}"),
        ("desk_items_moved", "UPDATE", "due_items", moved, f"{members} {old_col} {new_col}"),
        ("desk_items_restated", "UPDATE", "due_items", restated, new_col),
        ("desk_reliefs_added", "INSERT", "item_reliefs", "", relief_new),
        ("desk_reliefs_changed", "UPDATE", "item_reliefs", "", f"{relief_old} {relief_new}"),
        ("desk_reliefs_removed", "DELETE", "item_reliefs", "", relief_old),
    ]
    for table, key in [("units", "'units'"), *((t, "'plans'") for t in PLAN_TABLES)]:
        for event in ("INSERT", "UPDATE", "DELETE"):
            found.append((f"desk_{table}_{event.lower()}", event, table, "", _sqlite_bump(key)))
    return [
        (
            name,
            table,
            f"CREATE TRIGGER {name} AFTER {event} ON {table}"
            f"{f' WHEN {when}' if when else ''} BEGIN {body} END",
        )
        for name, event, table, when, body in found
    ]


# --- PostgreSQL -----------------------------------------------------------------------------

POSTGRES_FUNCTIONS = [
    # The keys a transaction wrote are listed in a transaction-local setting (reset at its
    # end, and by a rolled-back savepoint, as the writes are): a plan load's 120,000 rows
    # skip the write, its conflict check and row lock for all but a few hundred keys.
    # chr(31) around each key: no key holds it, so no key matches part of another
    # ('o:1:2024-1' in 'o:1:2024-10').
    """
    CREATE FUNCTION desk_bump(mark TEXT) RETURNS void LANGUAGE plpgsql AS $$
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
    """,
    f"""
    CREATE FUNCTION desk_mark_item() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            PERFORM desk_bump('members');
            PERFORM desk_bump({_column_key("NEW")});
        ELSIF TG_OP = 'DELETE' THEN
            PERFORM desk_bump('members');
            PERFORM desk_bump({_column_key("OLD")});
        ELSIF {_changed(MEMBERSHIP)} THEN
            PERFORM desk_bump('members');
            PERFORM desk_bump({_column_key("OLD")});
            PERFORM desk_bump({_column_key("NEW")});
        ELSE
            PERFORM desk_bump({_column_key("NEW")});
        END IF;
        RETURN NULL;
    END
    $$
    """,
    f"""
    CREATE FUNCTION desk_mark_relief() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        target INTEGER := CASE WHEN TG_OP = 'DELETE' THEN OLD.item_id ELSE NEW.item_id END;
    BEGIN
        IF TG_OP = 'UPDATE' AND OLD.item_id <> NEW.item_id THEN
            PERFORM desk_bump({_column_key("d")}) FROM due_items d WHERE d.id = OLD.item_id;
        END IF;
        PERFORM desk_bump({_column_key("d")}) FROM due_items d WHERE d.id = target;
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE FUNCTION desk_mark_key() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM desk_bump(TG_ARGV[0]);
        RETURN NULL;
    END
    $$
    """,
]


def _postgres_trigger(
    name: str, events: str, table: str, call: str, when: str = ""
) -> tuple[str, str, str]:
    return (
        name,
        table,
        f"CREATE CONSTRAINT TRIGGER {name} AFTER {events} ON {table}"
        " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW"
        f"{f' WHEN ({when})' if when else ''} EXECUTE FUNCTION {call}",
    )


def _postgres_triggers() -> list[tuple[str, str, str]]:
    """(name, table, statement) of every trigger on PostgreSQL."""
    every = "INSERT OR UPDATE OR DELETE"
    found = [
        _postgres_trigger("desk_items_added", "INSERT OR DELETE", "due_items", "desk_mark_item()"),
        _postgres_trigger(
            "desk_items_changed",
            "UPDATE",
            "due_items",
            "desk_mark_item()",
            when=_changed((*MEMBERSHIP, *STANDING)),
        ),
        _postgres_trigger("desk_reliefs", every, "item_reliefs", "desk_mark_relief()"),
    ]
    for table, key in [("units", "units"), *((t, "plans") for t in PLAN_TABLES)]:
        found.append(_postgres_trigger(f"desk_{table}", every, table, f"desk_mark_key('{key}')"))
    return found


def _triggers(dialect: str) -> list[tuple[str, str, str]]:
    return _postgres_triggers() if dialect == "postgresql" else _sqlite_triggers()


def upgrade() -> None:
    op.create_table(
        "desk_marks",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("n", sa.BigInteger(), nullable=False),
    )
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        for function in POSTGRES_FUNCTIONS:
            op.execute(function)
    for _, _, statement in _triggers(dialect):
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for name, table, _ in _triggers(dialect):
        op.execute(
            f"DROP TRIGGER {name} ON {table}" if dialect == "postgresql" else f"DROP TRIGGER {name}"
        )
    if dialect == "postgresql":
        for function in ("desk_mark_key()", "desk_mark_relief()", "desk_mark_item()"):
            op.execute(f"DROP FUNCTION {function}")
        op.execute("DROP FUNCTION desk_bump(TEXT)")
    op.drop_table("desk_marks")
