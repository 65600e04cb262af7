"""`dondoc demo`: a year of the Cao Lộc plan, simulated, in a fresh folder with no set-up."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from cli.common import console, err_console, fail
from demo.year import YEAR_END, DayResult, DemoError, DemoOptions, DemoResult, end_instant, run_demo
from status.states import ItemState, ItemStatus, rates
from wording import vietnamese


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"--until: «{value}» không phải là ngày (viết theo dạng NNNN-TT-NN, ví dụ 2024-03-31)")


def demo(
    out: Annotated[
        Path, typer.Option(help="Thư mục chứa cơ sở dữ liệu, báo cáo, hộp thư và nhật ký webhook.")
    ] = Path("dondoc-demo"),
    until: Annotated[
        str, typer.Option(help="Ngày chạy thử cuối cùng (để chạy ngắn hơn), ví dụ 2024-03-31.")
    ] = YEAR_END.isoformat(),
    seed: Annotated[
        int,
        typer.Option(
            help="Hạt giống ngẫu nhiên quyết định đơn vị nào gửi đúng hạn, muộn hay không gửi."
        ),
    ] = 2024,
) -> None:
    """Chạy thử kế hoạch Cao Lộc 2024 từng ngày qua các flow thật.

    Thư và webhook được gửi vào hộp thư và nhật ký trên máy này; cuối cùng in kết quả và nơi
    lưu văn bản, thông báo.
    """
    options = DemoOptions(out=out, seed=seed, until=_date(until))
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("ngày làm việc"),
        TimeElapsedColumn(),
        TextColumn("{task.fields[status]}"),
        console=err_console,
    )
    task: list[TaskID] = []

    def on_start(days: int) -> None:
        task.append(progress.add_task("Chạy thử năm 2024", total=days, status=""))

    def on_day(day: DayResult) -> None:
        compiled = f" · tổng hợp {', '.join(day.compiled)}" if day.compiled else ""
        progress.update(
            task[0],
            advance=1,
            description=f"Ngày {day.day:%d/%m/%Y}",
            status=f"{day.emails} thư, {day.webhooks} webhook{compiled}",
        )

    console.print(f"Khởi động: cơ sở dữ liệu, máy chủ thư và webhook, Prefect ({out}) ...")
    try:
        with progress:
            result = run_demo(options, on_start=on_start, on_day=on_day)
    except DemoError as exc:
        fail(str(exc))
    print_summary(result)


def print_summary(result: DemoResult) -> None:
    """Who reported, by report or deliverable, then what was made and where it is."""
    table = Table(
        title=f"Tình hình gửi báo cáo, thực hiện nhiệm vụ đến ngày {result.options.until:%d/%m/%Y}"
    )
    end = end_instant(result.options.until)
    by_source: dict[str, list[ItemState]] = {}
    for state in result.states:
        if state.deadline_at <= end:  # due by the close of the last simulated day
            by_source.setdefault(state.source_code, []).append(state)
    # The codes stay whole (they are what `dondoc status --obligation` takes); headers wrap.
    table.add_column(
        "Báo cáo / sản phẩm", no_wrap=True, min_width=max(map(len, by_source), default=10)
    )
    for header in ("Phải gửi", "Đúng hạn", "Muộn", "Quá hạn", "Tỷ lệ gửi", "Đúng hạn %"):
        table.add_column(header, justify="right")
    for code, states in by_source.items():
        r = rates(states)
        overdue = sum(1 for s in states if s.status is ItemStatus.OVERDUE)
        table.add_row(
            code,
            str(r.expected),
            str(r.on_time),
            str(r.received - r.on_time),
            str(overdue),
            _percent(r.reporting_rate),
            _percent(r.timeliness),
        )
    console.print(table)
    console.print(
        f"{result.working_days} ngày làm việc, {result.submissions} lần gửi báo cáo, "
        f"{result.emails} thư điện tử, {result.webhooks} tin webhook, "
        f"{len(result.reports)} báo cáo tổng hợp; chạy trong {result.seconds:.0f} giây.",
        highlight=False,
    )
    lines = [
        f"Cơ sở dữ liệu: {result.database}",
        f"Hộp thư (mbox): {result.mailbox}",
        f"Nhật ký webhook: {result.webhook_log}",
    ]
    prefect_home = result.database.parent / "prefect"
    lines.append(
        f"Các lần chạy Prefect: PREFECT_HOME={prefect_home} prefect server start, "
        "rồi mở http://127.0.0.1:4200"
    )
    for label, paths in result.reports.items():
        docx = next((p for p in paths if p.suffix == ".docx"), None)
        lines.append(f"Báo cáo {label}: {docx or paths[0].parent}")
    for line in lines:
        console.print(line, highlight=False, soft_wrap=True)


def _percent(value: float | None) -> str:
    return vietnamese.percent(value) if value is not None else "-"
