"""What every CLI command shares: the console, the database, the clock at the edge."""

from __future__ import annotations

import errno
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from models.db import DatabaseMissing, make_engine, open_database, session_factory
from models.migrate import upgrade
from models.plan_years import past_plan_warnings, plan_years
from schedules import instants
from schedules.calendar import WorkCalendar
from settings import get_settings

console = Console()
err_console = Console(stderr=True)


@lru_cache(maxsize=1)
def engine() -> Engine:
    """dondoc's database; refuses politely when it was never initialised (`dondoc init`)."""
    try:
        return open_database(get_settings().database_url)
    except DatabaseMissing as exc:
        fail(str(exc))


def has_database() -> bool:
    """Whether dondoc's database exists, for the few commands useful without one."""
    try:
        open_database(get_settings().database_url).dispose()
    except DatabaseMissing:
        return False
    return True


def create_database() -> None:
    """Create dondoc's database, or migrate it to the current schema: `dondoc init` only."""
    created = make_engine(get_settings().database_url)
    try:
        upgrade(created)
    finally:
        created.dispose()


@contextmanager
def read_session() -> Iterator[Session]:
    """A session for reading dondoc's (initialised) database."""
    with session_factory(engine())() as session:
        yield session


@contextmanager
def write_session() -> Iterator[Session]:
    """A session that commits at the end of the block, or writes nothing on error."""
    with session_factory(engine()).begin() as session:
        yield session


def now() -> datetime:
    """The only place the CLI reads the clock; commands pass it on."""
    return datetime.now(UTC)


def parse_instant(value: str | None) -> datetime:
    """`--as-of` values: ISO dates or instants; a bare date or naive time is Vietnamese local."""
    if value is None:
        return now()
    try:
        return instants.parse_instant(value)
    except ValueError:
        fail(
            f"«{value}» không phải ngày hoặc thời điểm "
            "(viết ví dụ 2024-03-20 hoặc 2024-03-20T08:00+07:00)"
        )


def warn_past_plans(
    *, session: Session, calendar: WorkCalendar, today: date, summary: bool = False
) -> list[str]:
    """Say (`init`, `deploy`, `serve`) when the newest plan's year is over; the warnings said.

    With `summary`, first a line per plan: what of it is still scheduled.
    """
    years = plan_years(session=session, calendar=calendar, today=today)
    if summary:
        for year in years:
            console.print(escape(year.summary()), highlight=False, soft_wrap=True)
    warnings = past_plan_warnings(years)
    for warning in warnings:
        err_console.print(
            f"[bold yellow]Cảnh báo:[/] {escape(warning)}", highlight=False, soft_wrap=True
        )
    return warnings


# Why a file could not be read or written, in the user's words (the system says it in English).
_OS_REASONS = {
    errno.ENOENT: "không có tệp hoặc thư mục này",
    errno.EACCES: "không có quyền truy cập",
    errno.EPERM: "không có quyền truy cập",
    errno.EISDIR: "đây là một thư mục",
    errno.ENOTDIR: "một phần của đường dẫn không phải thư mục",
    errno.ENOSPC: "ổ đĩa đã đầy",
    errno.EROFS: "ổ đĩa chỉ cho đọc",
    errno.EEXIST: "đã có tệp này",
}


def os_reason(error: OSError) -> str:
    """What went wrong with a file, in Vietnamese; the system's own words when it is rare."""
    return _OS_REASONS.get(error.errno or 0) or error.strerror or str(error)


def print_json(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def fail(message: str, code: int = 1) -> NoReturn:
    # Escaped: a message quoting a pattern ("[a-z0-9]") would otherwise lose it as markup.
    err_console.print(f"[bold red]Lỗi:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)
