"""Engines and sessions, built on demand from the settings."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import URL, Engine, create_engine, event, make_url
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
