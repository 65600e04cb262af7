"""Flow: compile a period's consolidated report, publish its summary, optionally email it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from prefect import flow, get_run_logger

from flows.alerting import alert_admin
from reports.compile import ALL_FORMATS, Format, compilation_instant
from settings import get_settings
from tasks.reports import (
    email_report,
    publish_summary,
    read_report,
    render_report,
    write_report_files,
)

DEFAULT_FORMATS: list[Format] = list(ALL_FORMATS)


def default_out_dir(period: str) -> Path:
    return get_settings().data_dir / "reports" / period


@flow(name="compile-report", on_failure=[alert_admin], on_crashed=[alert_admin])
def compile_report(
    period: str,
    formats: list[Format] = DEFAULT_FORMATS,
    send: bool = False,
    out_dir: str | None = None,
    number: str | None = None,
    doc_date: date | None = None,
    plan_code: str | None = None,
    as_of: datetime | None = None,
    distribution: list[str] | None = None,
) -> list[str]:
    """Compile the consolidated report of a period (2024-03, 2024-Q1, 2024-H1 or 2024).

    Args:
        period: the reporting period label, e.g. 2024-Q1; "2024" is the year-end report.
        formats: the files to write (docx, xlsx, html, md, json).
        send: email the files to the plan's leaders and the committee.
        out_dir: where to write; the data directory's reports/<period> by default.
        number: the report's number (Số ../BC-UBND); blank for the office to fill when unset.
        doc_date: the date on the document; the compilation day by default.
        plan_code: which plan; the newest plan of the period's year by default.
        as_of: the instant the figures and statuses are taken at; by default the end of
            `doc_date` when that day is over, else now (`reports.compile.compilation_instant`).
        distribution: the document's Nơi nhận, one line each; the plan's distribution by default.
    """
    if as_of is not None and as_of.tzinfo is None:
        raise ValueError(f"as_of must carry a time zone, got {as_of.isoformat()}")
    # The flow's one clock reading; everything after uses as_of.
    as_of = compilation_instant(as_of, doc_date, datetime.now(UTC))
    compiled = read_report(period, as_of, number, doc_date, plan_code, distribution)
    files = render_report(compiled.report, list(formats) or DEFAULT_FORMATS)
    paths = write_report_files(files, out_dir or str(default_out_dir(period)))
    publish_summary(compiled.report)
    if send:
        count = email_report(compiled, paths)
        get_run_logger().info("report %s emailed to %d recipients", period, count)
    return paths
