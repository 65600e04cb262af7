"""Migrations build the schema the models describe, from an empty database, on both backends."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, UniqueConstraint, inspect

from models.base import Base


def test_migrated_schema_matches_the_models(engine: Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
    tables = set(inspect(engine).get_table_names())
    assert {"units", "people", "plans", "targets", "plan_tasks", "deliverables"} <= tables
    assert {"obligations", "due_items", "submissions", "calendar_overrides"} <= tables


def test_migrations_form_one_line() -> None:
    from alembic.script import ScriptDirectory

    from models.migrate import alembic_config

    heads = ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()
    assert len(heads) == 1, f"several heads {heads}: add a merge revision"


def test_migrated_constraints_carry_the_models_names(engine: Engine) -> None:
    """The naming convention names every key, unique constraint and index as the models do."""
    inspector = inspect(engine)
    migrated = {}
    for table in inspector.get_table_names():
        if table == "alembic_version":
            continue
        migrated[table] = {
            "pk": {inspector.get_pk_constraint(table)["name"]},
            "fk": {fk["name"] for fk in inspector.get_foreign_keys(table)},
            "uq": {uq["name"] for uq in inspector.get_unique_constraints(table)},
            # PostgreSQL also lists the index behind each unique constraint: not an index of ours.
            "ix": {
                ix["name"]
                for ix in inspector.get_indexes(table)
                if "duplicates_constraint" not in ix
            },
        }
    described = {}
    for table in Base.metadata.sorted_tables:
        described[table.name] = {
            "pk": {table.primary_key.name},
            "fk": {fk.name for fk in table.foreign_key_constraints},
            "uq": {c.name for c in table.constraints if isinstance(c, UniqueConstraint)},
            "ix": {ix.name for ix in table.indexes},
        }
    assert migrated == described


def test_an_older_database_keeps_each_obligations_recipient(tmp_path: Path) -> None:
    """Upgrading a database made before obligations had several recipients lists the one
    recipient each already had, as its main recipient."""
    from sqlalchemy import text

    from models.db import make_engine
    from models.migrate import upgrade

    engine = make_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    upgrade(engine, "0001")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO units (id, code, name, kind) VALUES "
                "(1, 'ubnd', 'UBND huyện', 'committee'), (2, 'phong', 'Phòng', 'department')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO plans (id, code, issuer_unit_id, year, title, place, legal_bases, "
                "distribution) VALUES (1, 'kh', 1, 2024, 'Kế hoạch', 'Nơi', '[]', '[]')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO obligations (id, plan_id, code, title, kind, window_convention, "
                "recipient_unit_id, narrative_sections, escalation) "
                "VALUES (1, 1, 'bc', 'Báo cáo', 'periodic', 'decree09', 2, '[]', '[]')"
            )
        )
    upgrade(engine)
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT obligation_id, unit_id, position FROM obligation_recipients")
        ).all()
    assert [tuple(r) for r in rows] == [(1, 2, 0)]
    engine.dispose()


def test_an_older_database_gets_each_items_first_acceptance(tmp_path: Path) -> None:
    """Upgrading fills due_items.first_accepted_at from the submissions already stored: the
    earliest accepted version's receipt (a late first version stays late), none for an item
    never accepted, and an item's refused version is not an acceptance."""
    from datetime import UTC, datetime

    from sqlalchemy import select, text

    from models.db import make_engine, session_factory
    from models.items import DueItem
    from models.migrate import upgrade

    engine = make_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    upgrade(engine, "0006")
    item = (
        "INSERT INTO due_items (id, key, plan_id, kind, obligation_id, unit_id, period_label, "
        "window_start, window_end, deadline_on, deadline_at, opens_at) VALUES "
        "(:id, :key, 1, 'report', 1, 2, :period, '2024-01-01', '2024-01-31', '2024-02-05', "
        "'2024-02-05 10:00:00.000000', '2024-01-01 00:00:00.000000')"
    )
    sent = (
        "INSERT INTO submissions (item_id, version, receipt_no, received_at, channel, "
        "submitted_by, accepted, narrative, content_hash) VALUES "
        "(:item, :version, :receipt, :at, 'web', 'xa', :accepted, '{}', 'h')"
    )
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO units (id, code, name, kind) VALUES "
                "(1, 'ubnd', 'UBND huyện', 'committee'), (2, 'xa', 'UBND xã', 'commune')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO plans (id, code, issuer_unit_id, year, title, place, legal_bases, "
                "distribution) VALUES (1, 'kh', 1, 2024, 'Kế hoạch', 'Nơi', '[]', '[]')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO obligations (id, plan_id, code, title, kind, window_convention, "
                "recipient_unit_id, narrative_sections, escalation) "
                "VALUES (1, 1, 'bc', 'Báo cáo', 'periodic', 'decree09', 1, '[]', '[]')"
            )
        )
        for number, period in ((1, "2024-01"), (2, "2024-02"), (3, "2024-03")):
            conn.execute(text(item), {"id": number, "key": f"k{number}", "period": period})
        for item_id, version, at, accepted in (
            (1, 1, "2024-02-07 08:00:00.000000", True),  # late first version
            (1, 2, "2024-02-01 08:00:00.000000", True),  # typed in later, received earlier
            (1, 3, "2024-03-01 08:00:00.000000", True),
            (3, 1, "2024-02-01 08:00:00.000000", False),  # refused: not an acceptance
            (3, 2, "2024-02-09 08:00:00.000000", True),
        ):
            receipt = f"BN-{item_id}-{version}"
            conn.execute(
                text(sent),
                {
                    "item": item_id,
                    "version": version,
                    "receipt": receipt,
                    "at": at,
                    "accepted": accepted,
                },
            )
    upgrade(engine)
    with session_factory(engine)() as session:
        found = dict(session.execute(select(DueItem.id, DueItem.first_accepted_at)).all())
    assert found == {
        1: datetime(2024, 2, 1, 8, tzinfo=UTC),
        2: None,
        3: datetime(2024, 2, 9, 8, tzinfo=UTC),
    }
    engine.dispose()
