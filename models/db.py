"""Engines and sessions, built on demand from the settings."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Engine, create_engine, event, inspect, make_url
from sqlalchemy.orm import Session, sessionmaker


def sqlite_in_memory(url: URL) -> bool:
    """An in-memory SQLite database: one connection, held by this process only."""
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def make_engine(url: str, *, pool: tuple[int, int] | None = None, **kwargs: Any) -> Engine:
    """An engine for `url`; SQLite gets foreign keys, WAL and a busy timeout for concurrency.

    `pool` is (connections kept, extra under load); an in-memory SQLite database has one.
    """
    if pool is not None and not sqlite_in_memory(make_url(url)):
        kwargs.update(pool_size=pool[0], max_overflow=pool[1])
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"timeout": 30})
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    if url.startswith("postgresql"):
        # Instants come back in UTC, the zone they are stored and compared in.
        kwargs.setdefault("connect_args", {"options": "-c timezone=UTC"})
    return create_engine(url, **kwargs)


# A table every migrated dondoc database has (0001): its absence means "never initialised".
MARKER_TABLE = "plans"


class DatabaseMissing(RuntimeError):
    """dondoc's database does not exist yet, or holds none of dondoc's tables.

    Every command but `dondoc init` (and the demo, which builds its own) refuses to start
    rather than create an empty one: a process that runs in the wrong directory, or with a
    setting it did not read, would otherwise work on a new, empty database of its own.
    """


def where(url: URL) -> str:
    """The database as a person recognises it, never with its password."""
    if url.get_backend_name() == "sqlite":
        return str(url.database)
    return url.render_as_string(hide_password=True)


def open_database(url: str, *, pool: tuple[int, int] | None = None, **kwargs: Any) -> Engine:
    """An engine on dondoc's existing, initialised database; DatabaseMissing otherwise.

    A SQLite file is checked before connecting (connecting would create it empty). An
    in-memory database is new by nature and taken as it is.
    """
    parsed = make_url(url)
    if sqlite_in_memory(parsed):
        return make_engine(url, pool=pool, **kwargs)
    database = parsed.database or ""
    sqlite_file = parsed.get_backend_name() == "sqlite" and not database.startswith("file:")
    if sqlite_file and not Path(database).is_file():
        raise DatabaseMissing(_missing(where(parsed)))
    engine = make_engine(url, pool=pool, **kwargs)
    try:
        initialised = inspect(engine).has_table(MARKER_TABLE)
    except Exception:
        engine.dispose()
        raise
    if not initialised:
        engine.dispose()
        raise DatabaseMissing(_missing(f"{where(parsed)} (chưa có bảng nào của dondoc)"))
    return engine


def _missing(what: str) -> str:
    return (
        f"Chưa có cơ sở dữ liệu của dondoc: {what}. Chạy `dondoc init` để tạo, "
        "hoặc kiểm tra DONDOC_DATABASE_URL và DONDOC_HOME."
    )


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """A session whose work commits on success and rolls back on any error."""
    with session_factory(engine).begin() as session:
        yield session


# Each IN (...) list stays far below PostgreSQL's 65,535 bound parameters (and SQLite's own
# limit): a province's year is over 100,000 items.
IN_LIST_CHUNK = 5_000


def chunked(ids: Iterable[int], size: int = IN_LIST_CHUNK) -> Iterator[list[int]]:
    """The distinct ids, sorted, in lists of at most `size`."""
    unique = sorted(set(ids))
    for start in range(0, len(unique), size):
        yield unique[start : start + size]
