"""`dondoc calendar`: the country's working-day calendar, and adding a year's announcement."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.table import Table
from sqlalchemy import inspect, select

from cli.common import (
    console,
    engine,
    fail,
    has_database,
    now,
    print_json,
    read_session,
    write_session,
)
from cli.intake import cli_actor, say
from models.calendar import CalendarAnnouncement, CalendarOverrideRow, load_calendar
from plan_sync.calendar import CalendarChange, store_announcements
from plans.announcements import AnnouncedDay, Announcement, read_announcements, vietnamese_message
from plans.loader import PlanError
from schedules.calendar import LAW, DayKind, WorkCalendar

calendar_app = typer.Typer(
    help="Lịch làm việc của cả nước: ngày nghỉ, ngày làm bù và các thông báo lịch nghỉ.",
    invoke_without_command=True,
)


@calendar_app.callback()
def show(
    ctx: typer.Context,
    year: Annotated[int | None, typer.Option(help="Năm cần xem.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="In JSON cho máy đọc.")] = False,
) -> None:
    """Ngày nghỉ và ngày làm bù của một năm, mỗi ngày ghi rõ căn cứ (luật hay thông báo)."""
    if ctx.invoked_subcommand is not None:
        return
    if year is None:
        fail("cần chọn năm, ví dụ: dondoc calendar --year 2026")
    work_calendar = WorkCalendar()
    # Without a database the calendar is still useful: the law (holidays.VN) alone.
    if has_database() and inspect(engine()).has_table(CalendarOverrideRow.__tablename__):
        with read_session() as session:
            work_calendar = load_calendar(session=session)
    days = work_calendar.days(year)
    if as_json:
        print_json(
            [
                {
                    "date": d.day.isoformat(),
                    "kind": d.kind.value,
                    "name": d.name,
                    "source": d.source,
                    "basis": d.basis,
                }
                for d in days
            ]
        )
        return
    table = Table("Ngày", "Loại", "Tên", "Căn cứ", title=f"Lịch làm việc năm {year}")
    for d in days:
        kind = "nghỉ" if d.kind is DayKind.DAY_OFF else "làm bù"
        origin = "Luật" if d.source == LAW else "Thông báo"
        table.add_row(f"{d.day:%d/%m/%Y}", kind, d.name, f"{origin}: {d.basis}")
    console.print(table)


def _messages(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(map(str, e['loc']))}: {vietnamese_message(e)}"
        for e in exc.errors(include_url=False)
    )


def _report(change: CalendarChange, what: str) -> None:
    if not change.any:
        say(f"{what}: không có thay đổi (lịch đã như vậy).")
        return
    say(
        f"{what}: thêm {len(change.added)} ngày, sửa {len(change.changed)} ngày, "
        f"bỏ {len(change.removed)} ngày; {change.items_moved} hạn báo cáo đã được tính lại."
    )


@calendar_app.command("load")
def load(
    path: Annotated[
        Path, typer.Argument(help="Tệp thông báo lịch nghỉ (YAML).", show_default=False)
    ],
) -> None:
    """Nạp một tệp thông báo lịch nghỉ (ngày nghỉ, ngày hoán đổi, ngày làm bù); ghi nhật ký."""
    try:
        announcements = read_announcements(path)
    except PlanError as exc:
        fail(f"tệp có {len(exc.problems)} lỗi, chưa nạp gì:\n{exc}")
    with write_session() as session:
        change = store_announcements(
            announcements, session=session, source=str(path), actor=cli_actor(), now=now()
        )
    _report(change, f"Đã nạp {path}")


@calendar_app.command("add")
def add(
    date: Annotated[str, typer.Option("--date", help="Ngày, dạng YYYY-MM-DD.", show_default=False)],
    kind: Annotated[
        DayKind, typer.Option(help="day_off: ngày nghỉ; workday: ngày làm bù.", show_default=False)
    ],
    reason: Annotated[str, typer.Option(help="Lý do, như trong thông báo.", show_default=False)],
    announcement: Annotated[
        str, typer.Option(help="Mã của thông báo (chữ thường không dấu).", show_default=False)
    ],
    title: Annotated[
        str | None, typer.Option(help="Tên thông báo (bắt buộc khi mã còn mới).")
    ] = None,
) -> None:
    """Thêm một ngày vào một thông báo lịch nghỉ (tạo thông báo nếu chưa có); ghi nhật ký."""
    try:
        day = AnnouncedDay.model_validate({"date": date, "kind": kind, "reason": reason})
    except ValidationError as exc:
        fail(_messages(exc))
    with write_session() as session:
        stored = session.scalar(
            select(CalendarAnnouncement).where(CalendarAnnouncement.code == announcement)
        )
        if stored is None and title is None:
            fail(f"thông báo {announcement!r} chưa có: cần --title (tên thông báo)")
        days = [day]
        if stored is not None:
            rows = session.scalars(
                select(CalendarOverrideRow).where(CalendarOverrideRow.announcement_id == stored.id)
            )
            days += [
                AnnouncedDay(date=r.day, kind=DayKind(r.kind), reason=r.reason)
                for r in rows
                if r.day != day.date
            ]
        try:
            merged = Announcement(
                code=announcement,
                title=title or (stored.title if stored else ""),
                days=sorted(days, key=lambda d: d.date),
            )
        except ValidationError as exc:
            fail(_messages(exc))
        change = store_announcements(
            [merged], session=session, source="dondoc calendar add", actor=cli_actor(), now=now()
        )
    _report(change, f"Thông báo {announcement!r}, ngày {day.date:%d/%m/%Y}")
