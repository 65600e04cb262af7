"""Databases seeded once per test process: the rows a seeding left, put back for each later test.

Loading a plan and playing its submissions costs about a second a test on each backend; putting
the same rows back costs a tenth of that. The seeding's result is kept too, so it must be plain
data (never a session's objects).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Engine, select

from models.base import Base

T = TypeVar("T")
Rows = dict[str, list[dict[str, Any]]]

_DONE: dict[tuple[str, str], tuple[Rows, Any]] = {}


# The database's triggers write the change marks again as the rows go back (migration 0010).
_TABLES = [t for t in Base.metadata.sorted_tables if t.name != "desk_marks"]


def _rows(engine: Engine) -> Rows:
    with engine.connect() as conn:
        return {
            table.name: [
                dict(row._mapping)
                for row in conn.execute(select(table).order_by(*table.primary_key.columns))
            ]
            for table in _TABLES
        }


def _put_back(engine: Engine, rows: Rows) -> None:
    with engine.begin() as conn:
        for table in _TABLES:  # each after the tables it refers to
            if rows[table.name]:
                conn.execute(table.insert(), rows[table.name])


def seeded(engine: Engine, name: str, seed: Callable[[], T]) -> T:
    """`seed()`'s result, with the rows it leaves in the empty database `engine`: the first
    time for this database and name, by running it; afterwards by putting its rows back."""
    key = (str(engine.url), name)
    if key in _DONE:
        rows, result = _DONE[key]
        _put_back(engine, rows)
        return copy.deepcopy(result)  # type: ignore[no-any-return]
    result = seed()
    _DONE[key] = (_rows(engine), copy.deepcopy(result))
    return result
