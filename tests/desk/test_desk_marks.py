"""The change marks' triggers (migration 0010) are all in place at the newest schema, and on
PostgreSQL a bulk write costs one mark write per key, not one per row."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest
from sqlalchemy import Engine, text

from models.marks import MEMBERS

VERSIONS = Path(__file__).parents[2] / "models" / "migrations" / "versions"


def _migration_0010() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "desk_marks_0010", VERSIONS / "0010_desk_marks.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_mark_trigger_survives_the_later_migrations(engine: Engine) -> None:
    # SQLite drops a table's triggers when a migration rebuilds it (batch_alter_table).
    expected = {
        (name, table) for name, table, _ in _migration_0010()._triggers(engine.dialect.name)
    }
    query = (
        "SELECT tgname, tgrelid::regclass::text FROM pg_trigger WHERE NOT tgisinternal"
        if engine.dialect.name == "postgresql"
        else "SELECT name, tbl_name FROM sqlite_master WHERE type = 'trigger'"
    )
    with engine.connect() as conn:
        found = {(name, table) for name, table in conn.execute(text(query))}
    assert expected - found == set()


JSON = "'[]'"
SETUP = [
    "INSERT INTO units (id, code, name, kind) VALUES (1, 'u1', 'Xã Một', 'commune')",
    "INSERT INTO plans (id, issuer_unit_id, year, legal_bases, distribution, sample_fields,"
    f" code, title, place) VALUES (1, 1, 2024, {JSON}, {JSON}, {JSON}, 'p', 'p', 'p')",
    "INSERT INTO obligations (id, plan_id, recipient_unit_id, narrative_sections, escalation,"
    f" code, title, kind, window_convention) VALUES (1, 1, 1, {JSON}, {JSON}, 'o', 'o',"
    " 'periodic', 'x')",
]
ITEMS = """
    INSERT INTO due_items (plan_id, obligation_id, unit_id, kind, key, period_label,
        window_start, window_end, deadline_on, deadline_at, opens_at)
    SELECT 1, 1, 1, 'periodic', 'k' || g, '2024-0' || (g % 2 + 1), '2024-01-01', '2024-01-31',
        '2024-02-05', '2024-02-05 02:00:00+00', '2024-01-01 00:00:00+00'
    FROM generate_series(1, 2000) g
"""


@pytest.mark.postgres
def test_a_bulk_write_writes_each_mark_once_on_postgresql(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite counts every row, in the writer's own statement")
    with engine.begin() as conn:
        for statement in SETUP:
            conn.execute(text(statement))
    with engine.begin() as conn:
        conn.execute(text(ITEMS))  # 2,000 items in two periods: three marks
        conn.execute(text("SET CONSTRAINTS ALL IMMEDIATE"))  # the deferred triggers, now
        lookups = conn.scalar(
            text("SELECT idx_scan FROM pg_stat_xact_user_tables WHERE relname = 'desk_marks'")
        )
        xid = conn.scalar(text("SELECT pg_current_xact_id()::text::bigint"))
    with engine.connect() as conn:
        marks = dict(conn.execute(text("SELECT key, n FROM desk_marks")).all())
    for key in (MEMBERS, "o:1:2024-01", "o:1:2024-02"):
        assert marks[key] == xid, key
    # A write tried per row (4,000 conflict checks here) made bulk writes 2-3x slower.
    assert lookups is not None and lookups < 50, lookups
