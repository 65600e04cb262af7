"""Flow: compile a period's consolidated report, publish its summary, optionally email it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

from prefect import flow, get_run_logger
from pydantic import Field

from flows.alerting import alert_admin, note_completed
from flows.form import shown
from reports.compile import ALL_FORMATS, Format, compilation_instant
from schedules.periods import LABEL_PATTERN
from settings import Settings
from tasks.reports import (
    email_report,
    publish_summary,
    read_report,
    render_report,
    write_report_files,
)
from tasks.startup import checked_settings
from wording.vietnamese import log_stamp

DEFAULT_FORMATS: list[Format] = list(ALL_FORMATS)

# The run form's labels and help (the Prefect UI shows them to the office's admin).
# A bare year as a number (`--param period=2024` sends one), else a label of the pattern.
BareYear = Annotated[int, Field(strict=True, ge=1000, le=9999)]
PeriodParameter = Annotated[
    BareYear | Annotated[str, Field(pattern=LABEL_PATTERN)],
    shown(
        "Kỳ báo cáo",
        "Kỳ cần tổng hợp: 2024 (cả năm), 2024-H1 (6 tháng đầu năm), 2024-Q1 (quý I), "
        "2024-03 (tháng 3) hoặc 2024-W05 (tuần 5).",
    ),
]
FormatsParameter = Annotated[
    list[Format],
    shown(
        "Định dạng tệp",
        "Các tệp cần tạo: docx (Word), xlsx (Excel), html, md (Markdown), json.",
    ),
]
SendParameter = Annotated[
    bool,
    shown(
        "Gửi thư điện tử",
        "Gửi các tệp tới lãnh đạo ký kế hoạch và UBND sau khi tổng hợp.",
    ),
]
OutDirParameter = Annotated[
    str | None,
    shown(
        "Thư mục lưu tệp",
        "Nơi ghi các tệp trên máy chạy; đường dẫn tương đối tính từ thư mục "
        "DONDOC_HOME. Để trống: <DONDOC_DATA_DIR>/reports/<kỳ>.",
    ),
]
NumberParameter = Annotated[
    str | None,
    shown(
        "Số văn bản",
        "Số của báo cáo (Số .../BC-UBND), ví dụ 125; để trống để văn phòng điền sau.",
    ),
]
DocDateParameter = Annotated[
    date | None,
    shown("Ngày văn bản", "Ngày ghi trên báo cáo; để trống: ngày tổng hợp."),
]
PlanParameter = Annotated[
    str | None,
    shown(
        "Mã kế hoạch",
        "Kế hoạch của kỳ, ví dụ cao-loc-2024; để trống: kế hoạch mới nhất của năm.",
    ),
]
AsOfParameter = Annotated[
    datetime | None,
    shown(
        "Số liệu tính đến",
        "Thời điểm đã qua, có múi giờ (ví dụ 2024-03-31T17:00:00+07:00): báo cáo "
        "lấy số liệu và tình trạng tới lúc đó. Để trống: hết ngày văn bản nếu ngày đó đã qua, "
        "nếu không thì lúc chạy.",
    ),
]
DistributionParameter = Annotated[
    list[str] | None,
    shown(
        "Nơi nhận",
        "Mỗi dòng một nơi nhận của văn bản; để trống: danh sách của kế hoạch.",
    ),
]


def period_label(period: int | str) -> str:
    """The period as a label: a bare year (2024, as `--param period=2024` sends it) or a label."""
    return f"{period:04d}" if isinstance(period, int) else period.strip()


def default_out_dir(settings: Settings, period: str) -> Path:
    return settings.data_dir / "reports" / period


@flow(
    name="compile-report",
    on_failure=[alert_admin],
    on_crashed=[alert_admin],
    on_completion=[note_completed],
)
def compile_report(
    period: PeriodParameter,
    formats: FormatsParameter = DEFAULT_FORMATS,
    send: SendParameter = False,
    out_dir: OutDirParameter = None,
    number: NumberParameter = None,
    doc_date: DocDateParameter = None,
    plan_code: PlanParameter = None,
    as_of: AsOfParameter = None,
    distribution: DistributionParameter = None,
) -> list[str]:
    """Compile the consolidated report of a period (2024-03, 2024-Q1, 2024-H1 or 2024).

    Args:
        period: the reporting period label, e.g. 2024-Q1; 2024 (a bare year) is the year report.
        formats: the files to write (docx, xlsx, html, md, json).
        send: email the files to the plan's leaders and the committee.
        out_dir: where to write, relative to DONDOC_HOME; the data directory's reports/<period>
            by default.
        number: the report's number (Số ../BC-UBND); blank for the office to fill when unset.
        doc_date: the date on the document; the compilation day by default.
        plan_code: which plan; the newest plan of the period's year by default.
        as_of: the instant the figures and statuses are taken at; by default the end of
            `doc_date` when that day is over, else now (`reports.compile.compilation_instant`).
        distribution: the document's Nơi nhận, one line each; the plan's distribution by default.
    """
    label = period_label(period)
    if as_of is not None and as_of.tzinfo is None:
        raise ValueError(
            f"Thời điểm số liệu (as_of) phải có múi giờ, ví dụ {as_of.isoformat()}+07:00; "
            f"đã nhận {as_of.isoformat()}"
        )
    settings = checked_settings()
    # The flow's one clock reading; everything after uses as_of.
    as_of = compilation_instant(as_of, doc_date, datetime.now(UTC))
    logger = get_run_logger()
    logger.info("compiling %s as of %s (Vietnamese time)", label, log_stamp(as_of))
    compiled = read_report(label, as_of, number, doc_date, plan_code, distribution)
    files = render_report(compiled.report, list(formats) or DEFAULT_FORMATS)
    target = settings.path(out_dir) if out_dir else default_out_dir(settings, label)
    paths = write_report_files(files, str(target))
    logger.info("report %s written to %s: %s", label, target, ", ".join(paths))
    publish_summary(compiled.report)
    if send:
        count = email_report(compiled, paths)
        logger.info("report %s emailed to %d recipients", label, count)
    return paths
