"""Shared fixtures: a migrated database on SQLite and on PostgreSQL, emptied after each test."""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import OperationalError

import models
from models.db import make_engine
from models.migrate import upgrade

# The command line's tables are read by the tests one row a line: the consoles take their
# width when cli.common is first imported, so it is fixed here, before any test imports it
# (otherwise it depends on which test, in which worker, imported it first).
os.environ["COLUMNS"] = "250"

# Quiet, local Prefect for flow tests; set before Prefect is first imported.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")

# Fixture modules every test folder may use; declared here, once, as pytest wants.
pytest_plugins = ["tests.support.intake", "tests.support.servers", "tests.support.desk_unit"]


# The tests need no durability against a power cut, and a commit waiting for the disk costs
# about 4 ms, thousands of times a run: every SQLite connection this process opens, and every
# connection to the session's PostgreSQL database (the servers the tests start too), commits
# without waiting. A killed process loses nothing by it: its writes are with the kernel.
@event.listens_for(Engine, "connect")
def _commit_without_waiting_for_the_disk(dbapi_connection: object, _record: object) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.execute("PRAGMA synchronous=OFF")


PG_ADMIN_URL = os.environ.get(
    "DONDOC_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _pg_admin() -> Engine | None:
    engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect():
            return engine
    except OperationalError:
        if os.environ.get("CI"):
            raise  # CI promises PostgreSQL: a missing server is a failure, not a skip
        return None


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for this test session, dropped afterwards."""
    admin = _pg_admin()
    if admin is None:
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
    name = f"dondoc_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
        conn.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _empty(engine: Engine) -> None:
    """Delete every row, in one round trip (a statement each costs a trip to PostgreSQL)."""
    quote = engine.dialect.identifier_preparer.quote
    tables = reversed(models.Base.metadata.sorted_tables)
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":  # its driver runs one statement at a time
            for table in tables:
                conn.execute(table.delete())
        else:
            conn.exec_driver_sql("; ".join(f"DELETE FROM {quote(t.name)}" for t in tables))


@pytest.fixture(scope="session")
def _sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    path = tmp_path_factory.mktemp("db") / "dondoc.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def _pg_engine(pg_url: str) -> Iterator[Engine]:
    engine = make_engine(pg_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """A migrated, empty database, on each backend in turn, left empty for the next test.

    Only this fixture writes to these databases, and it empties them after each test: they
    are empty before."""
    engine: Engine = request.getfixturevalue(
        "_sqlite_engine" if request.param == "sqlite" else "_pg_engine"
    )
    yield engine
    _empty(engine)


@pytest.fixture
def db_env(engine: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Engine]:
    """Point the settings (and so the CLI) at the test database."""
    from cli import common
    from settings import get_settings

    monkeypatch.setenv("DONDOC_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("DONDOC_DATA_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    common.engine.cache_clear()
    yield engine
    get_settings.cache_clear()
    common.engine.cache_clear()


@pytest.fixture(scope="session")
def prefect_api() -> Iterator[None]:
    """One real, temporary Prefect API for the whole session; flow tests run against it.

    Heartbeats are off: a sync flow run otherwise waits about 1 s for its heartbeat thread.
    """
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    with (
        prefect_test_harness(server_startup_timeout=60),
        temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}),
    ):
        yield
