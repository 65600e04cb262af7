"""Compile a period's report: read the database, render the formats, write the files."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path

import pendulum
from sqlalchemy import select
from sqlalchemy.orm import Session

from models.plan import Plan
from reports.chart import progress_chart
from reports.content import build_report
from reports.document import Report, ReportError
from reports.render_docx import render_docx
from reports.render_html import render_html
from reports.render_json import render_json
from reports.render_markdown import render_markdown
from reports.render_xlsx import render_xlsx
from schedules.calendar import VN_TZ
from schedules.periods import Period
from wording import vietnamese as vi


class Format(StrEnum):
    """The formats a report is written in."""

    DOCX = "docx"
    XLSX = "xlsx"
    HTML = "html"
    MD = "md"
    JSON = "json"


ALL_FORMATS: tuple[Format, ...] = tuple(Format)
_CHART_FORMATS = {Format.DOCX, Format.HTML, Format.MD}


def parse_formats(text: str) -> list[Format]:
    """ "docx,xlsx" -> [DOCX, XLSX]; names every unknown format and the known ones."""
    names = [x.strip().lower() for x in text.split(",") if x.strip()]
    known = [f.value for f in Format]
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        raise ReportError(
            f"--format: không có định dạng {', '.join(unknown) or '(trống)'}; "
            f"chọn trong {', '.join(known)}"
        )
    return list(dict.fromkeys(Format(n) for n in names))


def parse_period(label: str) -> Period:
    try:
        return Period.parse(label.strip())
    except ValueError:
        raise ReportError(
            f"--period: {label!r} không phải một kỳ báo cáo; ví dụ 2024-03 (tháng), 2024-Q1 "
            "(quý), 2024-H1 (6 tháng) hoặc 2024 (năm)"
        ) from None


def plan_for(*, session: Session, period: Period, code: str | None = None) -> Plan:
    """The plan a period's report belongs to: the given code, else the newest plan of its year."""
    query = select(Plan).order_by(Plan.id.desc())
    query = query.where(Plan.code == code) if code else query.where(Plan.year == period.year)
    plan = session.scalars(query.limit(1)).first()
    if plan is None:
        raise ReportError(
            f"--plan: chưa nạp kế hoạch mã {code!r}"
            if code
            else f"Chưa nạp kế hoạch nào của năm {period.year}: chạy `dondoc init --plan TỆP` trước"
        )
    return plan


def compilation_instant(as_of: datetime | None, doc_date: date | None, now: datetime) -> datetime:
    """The instant a report's figures and statuses are taken at.

    Given, it must be past (a later run would see submissions the first did not, so the same
    `--as-of` would give other figures). Not given, it is the end of the document's date when
    that day is over, else now: a report dated 23/06 counts what had arrived by the end of
    23/06, and never lists as overdue what was only late after it.
    """
    if as_of is not None:
        if as_of > now:
            raise ReportError(
                f"Thời điểm tổng hợp {vi.local_time(as_of)} chưa tới: báo cáo chỉ tổng hợp "
                "đến một thời điểm đã qua, để lần tổng hợp lại cho cùng số liệu."
            )
        return as_of
    if doc_date is None:
        return now
    end_of_day = pendulum.datetime(doc_date.year, doc_date.month, doc_date.day, tz=VN_TZ)
    return min(now, end_of_day.end_of("day"))


def load_report(
    *,
    session: Session,
    period: str,
    as_of: datetime,
    number: str | None = None,
    doc_date: date | None = None,
    plan_code: str | None = None,
    recipients: Sequence[str] | None = None,
) -> Report:
    """The report of a period, as of an instant (read only); `recipients` replace the plan's
    distribution list (Nơi nhận).

    A compilation as of now calls `intake.locks.wait_for_writers` before it opens `session`:
    what counts as of a past instant is then final, and a later run gives the same figures.
    """
    p = parse_period(period)
    plan = plan_for(session=session, period=p, code=plan_code)
    return build_report(
        session=session,
        plan=plan,
        period=p,
        as_of=as_of,
        number=number,
        doc_date=doc_date,
        recipients=recipients,
    )


def chart_png(report: Report) -> bytes:
    return progress_chart(report.chart, f"Tiến độ thực hiện các chỉ tiêu {report.period_title}")


def chart_name(report: Report) -> str:
    return f"{report.file_stem}-bieu-do.png"


def render(report: Report, fmt: Format, chart: bytes | None) -> bytes:
    """One format's bytes."""
    match fmt:
        case Format.DOCX:
            return render_docx(report, chart)
        case Format.XLSX:
            return render_xlsx(report)
        case Format.HTML:
            return render_html(report, chart)
        case Format.MD:
            return render_markdown(report, chart_name(report) if chart else None)
        case Format.JSON:
            return render_json(report)
    raise ReportError(f"không có định dạng {fmt!r}")  # pragma: no cover


def write_files(files: dict[str, bytes], out_dir: Path) -> list[Path]:
    """Write each file whole (temporary file, then rename): a reader never sees half a file."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, data in files.items():
        target = out_dir / name
        fd, tmp = tempfile.mkstemp(dir=out_dir, prefix=f".{name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        paths.append(target)
    return paths


def render_all(
    report: Report,
    formats: Sequence[Format],
    on_step: Callable[[str], None] | None = None,
) -> dict[str, bytes]:
    """Every requested format in memory, named; nothing is written until all succeed."""
    step = on_step or (lambda _: None)
    chart = None
    files: dict[str, bytes] = {}
    if _CHART_FORMATS & set(formats):
        step("biểu đồ")
        chart = chart_png(report)
        if Format.MD in formats:
            files[chart_name(report)] = chart
    for fmt in formats:
        step(fmt.value)
        files[f"{report.file_stem}.{fmt.value}"] = render(report, fmt, chart)
    return files


def steps(formats: Sequence[Format]) -> int:
    """How many on_step calls render_all makes (for a progress bar)."""
    return len(formats) + (1 if _CHART_FORMATS & set(formats) else 0)
