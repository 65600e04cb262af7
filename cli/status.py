"""`dondoc status`, `dondoc extend`, `dondoc exempt`: who has reported, who is late."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from access.actor import Actor
from cli.common import console, fail, now, parse_instant, print_json, read_session, write_session
from intake.reliefs import exempt_item, extend_deadline, item_by_key, read_new_deadline
from models.access import Role
from models.calendar import load_calendar
from notifications.outbox import last_reminders
from status.states import STATUS_VI, ItemState, item_states, rates
from submissions.errors import IntakeError
from wording import vietnamese
from wording.collation import sort_key
from wording.vietnamese import local_iso


def _rate_row(states: list[ItemState]) -> dict[str, object]:
    r = rates(states)
    return {
        "expected": r.expected,
        "received": r.received,
        "on_time": r.on_time,
        "reporting_rate": r.reporting_rate,
        "timeliness": r.timeliness,
    }


def status(
    period: Annotated[str, typer.Option(help="Kỳ báo cáo, ví dụ 2024-03, 2024-Q1.")],
    obligation: Annotated[str | None, typer.Option(help="Mã báo cáo (chế độ báo cáo).")] = None,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Thời điểm hoặc ngày (giờ Việt Nam); mặc định: bây giờ."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="In JSON cho máy đọc.")] = False,
) -> None:
    """Tình hình báo cáo của từng đơn vị trong một kỳ, tỷ lệ báo cáo và tỷ lệ đúng hạn."""
    instant = parse_instant(as_of)
    with read_session() as session:
        states = item_states(
            session=session,
            as_of=instant,
            calendar=load_calendar(session=session),
            period=period,
            obligation=obligation,
        )
        reminded = last_reminders(
            session=session, item_ids=[s.item_id for s in states], as_of=instant
        )
    if not states:
        fail(
            f"không có việc phải nộp nào của kỳ {period}"
            + (f" và báo cáo {obligation}" if obligation else "")
        )
    by_obligation: dict[str, list[ItemState]] = {}
    # Units in Vietnamese alphabetical order within each obligation.
    for s in sorted(states, key=lambda s: sort_key(s.unit_name)):
        by_obligation.setdefault(s.source_code, []).append(s)
    if as_json:
        print_json(
            {
                "period": period,
                "as_of": local_iso(instant),
                "items": [
                    {
                        "key": s.key,
                        "obligation": s.source_code,
                        "unit": s.unit_code,
                        "unit_name": s.unit_name,
                        "deadline": local_iso(s.deadline_at),
                        "status": s.status.value,
                        "extended": s.extended,
                        "submitted_at": local_iso(s.first_accepted_at)
                        if s.first_accepted_at
                        else None,
                        "working_days_overdue": s.working_days_overdue,
                        "last_reminder": reminded[s.item_id].label_vi
                        if s.item_id in reminded
                        else None,
                    }
                    for s in states
                ],
                "rates": {code: _rate_row(group) for code, group in by_obligation.items()},
            }
        )
        return
    for group in by_obligation.values():
        as_of_vi = vietnamese.date_short(instant)
        table = Table(
            "Đơn vị",
            "Hạn gửi",
            "Tình trạng",
            "Gửi lúc",
            "Số ngày làm việc quá hạn",
            "Lần nhắc gần nhất",
            title=f"{group[0].source_title} — {vietnamese.period(period)} (tính đến {as_of_vi})",
        )
        for s in group:
            table.add_row(
                s.unit_name,
                vietnamese.date_short(s.deadline_on) + (" (gia hạn)" if s.extended else ""),
                STATUS_VI[s.status],
                local_iso(s.first_accepted_at)[:16].replace("T", " ")
                if s.first_accepted_at
                else "",
                str(s.working_days_overdue or ""),
                reminded[s.item_id].label_vi if s.item_id in reminded else "",
            )
        console.print(table)
        r = rates(group)
        rate = vietnamese.percent(r.reporting_rate) if r.reporting_rate is not None else "—"
        timely = vietnamese.percent(r.timeliness) if r.timeliness is not None else "—"
        console.print(
            f"Phải báo cáo: {r.expected}; đã nhận: {r.received}; đúng hạn: {r.on_time}; "
            f"tỷ lệ báo cáo: {rate}; tỷ lệ đúng hạn: {timely}\n"
        )


def _granted(by: str) -> Actor:
    """Whoever runs the CLI has the database's credentials: an admin, named as --by says."""
    return Actor(role=Role.ADMIN, label=by[:128])


def extend(
    item: Annotated[str, typer.Option(help="Mã việc, như `dondoc dues --json` in ra.")],
    until: Annotated[str, typer.Option(help="Hạn mới, ví dụ 25/03/2024 hoặc 2024-03-25.")],
    reason: Annotated[str, typer.Option(help="Lý do (được lưu lại).")],
    by: Annotated[str, typer.Option(help="Người cho gia hạn.")] = "admin",
) -> None:
    """Gia hạn nộp cho một việc."""
    try:
        with write_session() as session:
            row = extend_deadline(
                item_by_key(item, session=session),
                until=read_new_deadline(until),
                reason=reason,
                session=session,
                actor=_granted(by),
                now=now(),
                calendar=load_calendar(session=session),
            )
            assert row.deadline_on is not None
            new_day = row.deadline_on
    except IntakeError as error:
        fail("; ".join(error.lines()))
    console.print(f"Đã gia hạn {item} đến hết ngày {vietnamese.date_short(new_day)}.")


def exempt(
    item: Annotated[str, typer.Option(help="Mã việc, như `dondoc dues --json` in ra.")],
    reason: Annotated[str, typer.Option(help="Lý do (được lưu lại).")],
    by: Annotated[str, typer.Option(help="Người cho miễn.")] = "admin",
) -> None:
    """Miễn báo cáo cho một việc: việc đó không còn được tính là phải nộp."""
    try:
        with write_session() as session:
            exempt_item(
                item_by_key(item, session=session),
                reason=reason,
                session=session,
                actor=_granted(by),
                now=now(),
                calendar=load_calendar(session=session),
            )
    except IntakeError as error:
        fail("; ".join(error.lines()))
    console.print(f"Đã miễn báo cáo cho {item}.")
