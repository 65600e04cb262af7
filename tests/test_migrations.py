"""Migrations build the schema the models describe, from an empty database, on both backends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

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
