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
from models.status import ItemState, ItemStatus, rates
from reports import vietnamese


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"--until {value!r} is not a date (use e.g. 2024-03-31)")


def demo(
    out: Annotated[
        Path, typer.Option(help="Folder for the database, reports, mailbox and webhook log.")
    ] = Path("dondoc-demo"),
    until: Annotated[
        str, typer.Option(help="Last simulated day (a shorter span), e.g. 2024-03-31.")
    ] = YEAR_END.isoformat(),
    seed: Annotated[int, typer.Option(help="Seed of who submits on time, late or never.")] = 2024,
) -> None:
    """Play the Cao Lộc 2024 plan day by day through the real flows, with local mail and
    webhook sinks; print what happened and where the documents and messages are."""
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
    table = Table(
        "Báo cáo / sản phẩm",
        "Phải gửi",
        "Đúng hạn",
        "Muộn",
        "Chưa gửi",
        "Tỷ lệ gửi",
        "Đúng hạn (%)",
        title=f"Tình hình đến ngày {result.options.until:%d/%m/%Y}",
    )
    end = end_instant(result.options.until)
    by_source: dict[str, list[ItemState]] = {}
    for state in result.states:
        if state.deadline_at <= end:  # due by the last simulated day
            by_source.setdefault(state.source_code, []).append(state)
    for code, states in by_source.items():
        r = rates(states)
        missing = sum(1 for s in states if s.status is ItemStatus.OVERDUE)
        table.add_row(
            f"{code}",
            str(r.expected),
            str(r.on_time),
            str(r.received - r.on_time),
            str(missing),
            vietnamese.percent(r.reporting_rate) if r.reporting_rate is not None else "-",
            vietnamese.percent(r.timeliness) if r.timeliness is not None else "-",
        )
    console.print(table)
    console.print(
        f"{result.working_days} ngày làm việc trong {result.seconds:.0f} giây; "
        f"{result.emails} thư điện tử, {result.webhooks} tin webhook; "
        f"{len(result.reports)} báo cáo tổng hợp.",
        highlight=False,
    )
    console.print(f"Cơ sở dữ liệu: {result.database}", highlight=False, soft_wrap=True)
    console.print(f"Hộp thư (mbox): {result.mailbox}", highlight=False, soft_wrap=True)
    console.print(f"Nhật ký webhook: {result.webhook_log}", highlight=False, soft_wrap=True)
    for label, paths in result.reports.items():
        docx = next((p for p in paths if p.suffix == ".docx"), paths[0] if paths else None)
        console.print(f"Báo cáo {label}: {docx}", highlight=False, soft_wrap=True)
