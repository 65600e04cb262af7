"""Instants: stored in UTC, read back as the same aware instant on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Column, Engine, Integer, MetaData, Table, insert, select, text
from sqlalchemy.exc import StatementError

from models.base import UTCDateTime

metadata = MetaData()
moments = Table(
    "test_moments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", UTCDateTime),
)

VN = ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.fixture
def table(engine: Engine) -> Iterator[Engine]:
    metadata.create_all(engine)
    yield engine
    metadata.drop_all(engine)


@pytest.mark.parametrize(
    "written",
    [
        datetime(2024, 6, 20, 9, 0, tzinfo=VN),  # 02:00 UTC
        datetime(2024, 6, 20, 23, 59, 59, 999_999, tzinfo=VN),  # the last microsecond of a day
        datetime(2024, 1, 1, 0, 0, tzinfo=UTC),
        datetime(2024, 3, 31, 3, 30, tzinfo=ZoneInfo("Europe/Paris")),  # just after a DST jump
        datetime(2024, 12, 31, 17, 0, 0, 1, tzinfo=timezone(timedelta(hours=-5))),
    ],
)
def test_an_instant_reads_back_as_the_same_instant_in_utc(table: Engine, written: datetime) -> None:
    with table.begin() as conn:
        conn.execute(insert(moments).values(id=1, at=written))
        read = conn.execute(select(moments.c.at)).scalar_one()
    assert read == written
    assert read.utcoffset() == timedelta(0)
    assert read.microsecond == written.microsecond


def test_a_naive_datetime_is_refused(table: Engine) -> None:
    with pytest.raises(StatementError, match="naive datetime"), table.begin() as conn:
        conn.execute(insert(moments).values(id=1, at=datetime(2024, 6, 20, 9, 0)))


def test_an_sqlite_instant_written_without_fractions_still_reads(table: Engine) -> None:
    if table.dialect.name != "sqlite":
        pytest.skip("SQLite keeps instants as text")
    with table.begin() as conn:
        conn.execute(text("INSERT INTO test_moments (id, at) VALUES (1, '2024-06-20 02:00:00')"))
        read = conn.execute(select(moments.c.at)).scalar_one()
    assert read == datetime(2024, 6, 20, 9, 0, tzinfo=VN)
