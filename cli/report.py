"""`dondoc compile`: the consolidated report of a period, in the formats asked for."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskProgressColumn, TextColumn
from rich.table import Table

from cli.common import (
    console,
    engine,
    err_console,
    fail,
    now,
    os_reason,
    parse_instant,
    read_session,
)
from intake.locks import wait_for_writers
from reports.compile import (
    ALL_FORMATS,
    compilation_instant,
    load_report,
    parse_formats,
    parse_period,
    plan_for,
    render_all,
    steps,
    write_files,
)
from reports.document import INDICATOR_HEADERS, ReportError
from reports.mail import MailError, report_recipients, send_report
from settings import get_settings

ALL_FORMATS_TEXT = ",".join(f.value for f in ALL_FORMATS)


def _doc_date(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"--date {value!r} không phải một ngày (ví dụ 2024-03-20)")


def compile_report(
    period: Annotated[
        str,
        typer.Option(help="Kỳ: 2024-03 (tháng), 2024-Q1 (quý), 2024-H1 (6 tháng), 2024 (năm)."),
    ],
    formats: Annotated[
        str,
        typer.Option("--format", help="Định dạng, cách nhau bởi dấu phẩy: docx,xlsx,html,md,json."),
    ] = ALL_FORMATS_TEXT,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Thư mục ghi tệp; mặc định <thư mục dữ liệu>/reports/<kỳ>."),
    ] = None,
    send: Annotated[
        bool,
        typer.Option("--send", help="Gửi các tệp qua email tới lãnh đạo và Ủy ban theo kế hoạch."),
    ] = False,
    number: Annotated[
        str | None,
        typer.Option(help="Số văn bản (Số 05/BC-UBND); mặc định để trống cho văn thư."),
    ] = None,
    doc_date: Annotated[
        str | None,
        typer.Option(
            "--date",
            help="Ngày ghi trên văn bản (mặc định: ngày của thời điểm tổng hợp); không được "
            "trước ngày của --as-of.",
        ),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            help="Chỉ tính báo cáo nhận đến thời điểm này (tổng hợp lại cho cùng số liệu); mặc "
            "định: hết ngày ghi trên văn bản nếu ngày đó đã qua, nếu không thì bây giờ.",
        ),
    ] = None,
    distribution: Annotated[
        list[str] | None,
        typer.Option(
            "--recipient",
            help="Một dòng Nơi nhận (nhắc lại cho mỗi nơi); mặc định: danh sách của kế hoạch. "
            '"Lưu: VT." luôn được thêm ở cuối.',
        ),
    ] = None,
    plan: Annotated[
        str | None, typer.Option(help="Mã kế hoạch; mặc định kế hoạch mới nhất của năm.")
    ] = None,
) -> None:
    """Tổng hợp báo cáo của một kỳ: DOCX, XLSX, HTML, Markdown, JSON."""
    try:
        wanted = parse_formats(formats)
        parse_period(period)
    except ReportError as exc:
        fail(str(exc))
    on_date = _doc_date(doc_date)
    try:
        instant = compilation_instant(
            parse_instant(as_of) if as_of is not None else None, on_date, now()
        )
    except ReportError as exc:
        fail(str(exc))
    out_dir = out or get_settings().data_dir / "reports" / period
    total = 2 + steps(wanted) + (1 if send else 0)
    with (
        read_session() as session,
        Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            console=err_console,
            transient=True,
        ) as progress,
    ):
        bar = progress.add_task("Đọc số liệu", total=total)
        # Before the first read: what counts as of the instant is final from here on.
        wait_for_writers(engine())
        try:
            report = load_report(
                session=session,
                period=period,
                as_of=instant,
                number=number,
                doc_date=on_date,
                plan_code=plan,
                recipients=distribution,
            )
            recipients = report_recipients(
                session=session,
                plan=plan_for(session=session, period=parse_period(period), code=plan),
            )
        except ReportError as exc:
            fail(str(exc))
        progress.advance(bar)

        def step(name: str) -> None:
            progress.update(bar, description=f"Tạo {name}", advance=1)

        files = render_all(report, wanted, on_step=step)
        progress.update(bar, description=f"Ghi tệp vào {out_dir}")
        try:
            paths = write_files(files, out_dir)
        except OSError as exc:
            fail(f"không ghi được tệp vào {out_dir}: {os_reason(exc)}")
        progress.advance(bar)
        if send:
            progress.update(bar, description=f"Gửi thư tới {len(recipients)} người nhận")
            try:
                send_report(
                    smtp=get_settings().smtp, recipients=recipients, report=report, files=paths
                )
            except MailError as exc:
                fail(f"đã ghi các tệp vào {out_dir} nhưng gửi email không được: {exc}")
            progress.advance(bar)

    table = Table(*INDICATOR_HEADERS, title=f"{report.title} {report.summary}")
    for r in report.indicator_rows:
        table.add_row(r.stt, r.name, r.unit_of_measure, r.goal, r.period, r.to_date, r.percent)
    console.print(table)
    for p in paths:
        console.print(f"[green]✓[/] {p}", highlight=False)
    if send:
        console.print(
            "Đã gửi tới: " + ", ".join(r.email for r in recipients), highlight=False, soft_wrap=True
        )
