"""Queries over a province's year of items keep each IN list under the drivers' limits."""

from __future__ import annotations

from sqlalchemy import Engine

from models.db import chunked, session_factory
from notifications.outbox import recorded_keys
from notifications.routing import load_routes

# More ids than PostgreSQL accepts bound parameters in one statement (65,535).
MANY = range(1, 70_001)


def test_chunks_are_distinct_sorted_and_bounded() -> None:
    chunks = list(chunked([5, 3, 3, 9, 1], size=2))
    assert chunks == [[1, 3], [5, 9]]
    assert sum(len(c) for c in chunked(MANY)) == len(MANY)
    assert max(len(c) for c in chunked(MANY)) == 5_000


def test_daily_check_lookups_take_a_provinces_worth_of_items(engine: Engine) -> None:
    with session_factory(engine)() as session:
        assert recorded_keys(session=session, item_ids=MANY) == set()
        assert load_routes(session=session, item_ids=MANY) == {}
