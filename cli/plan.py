"""`dondoc init`, `dondoc plan ...`, `dondoc dues`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import select

from cli.common import (
    console,
    create_database,
    fail,
    now,
    print_json,
    read_session,
    warn_past_plans,
    write_session,
)
from models.calendar import load_calendar
from models.plan import Deliverable, Obligation, PlanTask, Target
from models.queries import latest_plan, list_due_items
from plan_sync.sync import load_plan
from plans import CAO_LOC_2024
from plans.loader import PlanError, read_plan
from plans.schema import DeadlineEntry, PlanFile
from reports.figures import TargetSpec
from reports.indicators import goal_cell
from schedules.calendar import local_date
from settings import get_settings
from wording import vietnamese
from wording.collation import sort_key
from wording.vietnamese import local_iso

plan_app = typer.Typer(help="Kiểm tra và xem tệp kế hoạch.", no_args_is_help=True)

PlanPath = Annotated[Path, typer.Argument(help="Tệp kế hoạch (YAML).", show_default=False)]


def _read(path: Path) -> PlanFile:
    try:
        return read_plan(path)
    except PlanError as exc:
        fail(f"Tệp kế hoạch có {len(exc.problems)} lỗi:\n{exc}")


def init(
    plan: Annotated[
        Path | None,
        typer.Option(
            help="Tệp kế hoạch cần nạp; mặc định là tệp DONDOC_PLAN_FILE nếu có đặt.",
            show_default=False,
        ),
    ] = None,
    sample: Annotated[
        bool,
        typer.Option("--sample", help="Nạp kế hoạch mẫu Cao Lộc 2024 (để thử, không dùng thật)."),
    ] = False,
) -> None:
    """Tạo hoặc nâng cấp cơ sở dữ liệu; chỉ nạp kế hoạch khi được chỉ rõ (--plan, --sample
    hoặc DONDOC_PLAN_FILE). Nạp kế hoạch năm mới không xóa kế hoạch các năm trước."""
    chosen = _plan_to_load(plan, sample)
    parsed = _read(chosen) if chosen else None  # validate before touching the database
    create_database()
    if parsed is None:
        console.print(
            "Cơ sở dữ liệu đã cập nhật; không nạp kế hoạch nào (nạp bằng --plan TỆP, "
            "hoặc đặt DONDOC_PLAN_FILE)."
        )
        return
    with write_session() as session:
        counter = load_plan(parsed, session=session, now=now())
    table = Table("Bảng", "Thêm mới", "Cập nhật", "Không đổi", "Rút khỏi", title=f"Đã nạp {chosen}")
    for row in counter.as_rows():
        table.add_row(*(str(x) for x in row))
    console.print(table)
    with read_session() as session:
        calendar = load_calendar(session=session)
        warn_past_plans(session=session, calendar=calendar, today=local_date(now()))


def _plan_to_load(plan: Path | None, sample: bool) -> Path | None:
    """The plan `init` loads: --plan, --sample, else the DONDOC_PLAN_FILE setting, else none."""
    if plan is not None and sample:
        fail("chọn một trong hai: --plan TỆP hoặc --sample, không dùng cả hai")
    if sample:
        return CAO_LOC_2024
    if plan is not None:
        return plan
    named = get_settings().plan_file
    if named is not None and not named.is_file():
        fail(f"DONDOC_PLAN_FILE chỉ tới {named}: không có tệp kế hoạch này")
    return named


@plan_app.command("validate")
def validate(path: PlanPath) -> None:
    """Kiểm tra một tệp kế hoạch; in từng lỗi kèm tệp:dòng và trường."""
    parsed = _read(path)
    console.print(
        f"[green]Hợp lệ[/] {path}: {len(parsed.units)} đơn vị, {len(parsed.people)} người, "
        f"{len(parsed.targets)} chỉ tiêu, {len(parsed.tasks)} nhiệm vụ, "
        f"{len(parsed.deliverables)} sản phẩm, {len(parsed.obligations)} chế độ báo cáo"
    )


@plan_app.command("show")
def show(
    code: Annotated[
        str | None, typer.Option(help="Mã kế hoạch; mặc định kế hoạch mới nhất.")
    ] = None,
) -> None:
    """Xem kế hoạch đã nạp: chỉ tiêu, nhiệm vụ, sản phẩm, chế độ báo cáo."""
    with read_session() as session:
        plan = latest_plan(session=session, code=code)
        if plan is None:
            fail(
                "chưa nạp kế hoạch nào"
                if code is None
                else f"không có kế hoạch nào mang mã {code!r}"
            )
        console.print(
            f"[bold]{plan.title}[/]  ({plan.code}, {plan.number or 'chưa có số'}, {plan.place})"
        )
        targets = Table("Mã", "Chỉ tiêu", "ĐVT", "Kế hoạch", "Cộng dồn", title="Chỉ tiêu")
        for t in session.scalars(
            select(Target).where(Target.plan_id == plan.id).order_by(Target.id)
        ):
            goal = goal_cell(TargetSpec.of(t))  # as the report's table writes it
            targets.add_row(t.code, t.name, t.unit_of_measure or "", goal, t.aggregation)
        console.print(targets)
        tasks = Table("Nhiệm vụ", "Lãnh đạo phụ trách", "Chủ trì", "Phối hợp", title="Nhiệm vụ")
        for task in session.scalars(
            select(PlanTask).where(PlanTask.plan_id == plan.id).order_by(PlanTask.number)
        ):
            tasks.add_row(
                f"{task.number}. {task.title}",
                task.leader.full_name if task.leader else "",
                task.lead_unit.name,
                f"{len(task.coordinating_units)} đơn vị",
            )
        console.print(tasks)
        deliverables = Table(
            "Mã", "Sản phẩm", "Hạn", "Đơn vị", title="Sản phẩm, nhiệm vụ có thời hạn"
        )
        for d in session.scalars(
            select(Deliverable).where(Deliverable.plan_id == plan.id).order_by(Deliverable.due_on)
        ):
            deliverables.add_row(
                d.code, d.title, d.due_on.strftime("%d/%m/%Y"), str(len(d.assignees))
            )
        console.print(deliverables)
        obligations = Table(
            "Mã", "Báo cáo", "Kỳ", "Hạn gửi", "Gửi", "Số đơn vị", title="Chế độ báo cáo"
        )
        for o in session.scalars(
            select(Obligation).where(Obligation.plan_id == plan.id).order_by(Obligation.id)
        ):
            rule = (
                DeadlineEntry.model_validate(o.deadline_rule).to_rule().describe_vi()
                if o.deadline_rule
                else "khi có yêu cầu"
            )
            obligations.add_row(
                o.code,
                o.title,
                o.cadence or "đột xuất",
                rule,
                "; ".join(r.unit.name for r in o.recipients) or o.recipient_unit.name,
                str(len(o.reporters)),
            )
        console.print(obligations)


def dues(
    year: Annotated[int | None, typer.Option(help="Năm của kế hoạch.")] = None,
    unit: Annotated[str | None, typer.Option(help="Mã đơn vị.")] = None,
    obligation: Annotated[str | None, typer.Option(help="Mã báo cáo hoặc mã sản phẩm.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="In JSON cho máy đọc.")] = False,
) -> None:
    """Mọi việc phải nộp: báo cáo hoặc sản phẩm, đơn vị, kỳ, kỳ số liệu và hạn.

    Với --json: kèm thời điểm hạn chính xác, giờ Việt Nam.
    """
    with read_session() as session:
        items = list_due_items(session=session, year=year, unit=unit, obligation=obligation)
        rows = [
            {
                "key": i.key,
                "kind": i.kind,
                "obligation": i.obligation.code if i.obligation else None,
                "deliverable": i.deliverable.code if i.deliverable else None,
                "title": i.obligation.title
                if i.obligation
                else (i.deliverable.title if i.deliverable else ""),
                "unit": i.unit.code,
                "unit_name": i.unit.name,
                "period": i.period_label,
                "window_start": i.window_start.isoformat(),
                "window_end": i.window_end.isoformat(),
                "deadline_on": i.deadline_on.isoformat(),
                "deadline": local_iso(i.deadline_at),
            }
            for i in items
        ]
    if as_json:
        print_json(rows)
        return
    table = Table(
        "Báo cáo / sản phẩm",
        "Đơn vị",
        "Kỳ",
        "Số liệu",
        "Hạn",
        title=f"{len(rows)} việc phải nộp",
    )
    # The deadline's day, then units in Vietnamese alphabetical order; a deliverable has no
    # data window (it is work to hand in, not figures of a period).
    for i in sorted(items, key=lambda i: (i.deadline_at, sort_key(i.unit.name), i.key)):
        source = i.obligation or i.deliverable
        table.add_row(
            source.title if source else "",
            i.unit.name,
            vietnamese.period(i.period_label) or "-",
            f"{vietnamese.date_short(i.window_start)} – {vietnamese.date_short(i.window_end)}"
            if i.obligation
            else "",
            vietnamese.deadline(i.deadline_on, i.deadline_at),
        )
    console.print(table)
