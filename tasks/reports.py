"""Prefect steps of the report flow, thin over `reports` (one unit of work each)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from prefect import task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE

from intake.locks import wait_for_writers
from models.db import open_database, session_factory
from reports.compile import Format, load_report, parse_period, plan_for, render_all, write_files
from reports.document import INDICATOR_HEADERS, Report
from reports.mail import Recipient, report_recipients, send_report
from settings import get_settings
from wording import vietnamese as vi


@dataclass(frozen=True)
class Compiled:
    """A report and who it goes to: plain values, no ORM objects."""

    report: Report
    recipients: tuple[Recipient, ...]


@task(name="read-report", cache_policy=NO_CACHE)
def read_report(
    period: str,
    as_of: datetime,
    number: str | None = None,
    doc_date: date | None = None,
    plan_code: str | None = None,
    distribution: list[str] | None = None,
) -> Compiled:
    """Read the figures, narratives and statuses of a period (one session, read only)."""
    engine = open_database(get_settings().database_url)
    try:
        wait_for_writers(engine)  # what counts as of the instant is final from here on
        with session_factory(engine)() as session:
            report = load_report(
                session=session,
                period=period,
                as_of=as_of,
                number=number,
                doc_date=doc_date,
                plan_code=plan_code,
                recipients=distribution,
            )
            plan = plan_for(session=session, period=parse_period(period), code=plan_code)
            recipients = tuple(report_recipients(session=session, plan=plan))
    finally:
        engine.dispose()
    return Compiled(report, recipients)


@task(name="render-report", cache_policy=NO_CACHE)
def render_report(report: Report, formats: list[Format]) -> dict[str, bytes]:
    """Every format in memory; nothing is written unless all render."""
    return render_all(report, formats)


@task(name="write-report-files", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5)
def write_report_files(files: dict[str, bytes], out_dir: str) -> list[str]:
    return [str(p) for p in write_files(files, Path(out_dir))]


def summary_rows(report: Report) -> list[dict[str, str]]:
    """The indicator table as rows of the Prefect table artifact."""
    return [
        dict(
            zip(
                INDICATOR_HEADERS,
                (r.stt, r.name, r.unit_of_measure, r.goal, r.period, r.to_date, r.percent),
                strict=True,
            )
        )
        for r in report.indicator_rows
    ]


def artifact_key(report: Report) -> str:
    """Artifact keys take lowercase letters, digits and dashes: "bao-cao-2024-q1"."""
    return f"bao-cao-{report.period.lower()}"


@task(name="publish-report-summary", cache_policy=NO_CACHE)
def publish_summary(report: Report) -> str:
    start, end = report.window
    create_table_artifact(
        table=summary_rows(report),
        key=artifact_key(report),
        description=(
            f"**{report.title} {report.summary}**\n\n"
            f"Số liệu từ ngày {vi.date_short(start)} đến ngày {vi.date_short(end)}, "
            f"tổng hợp lúc {vi.time_and_date(report.as_of)}."
        ),
    )
    return artifact_key(report)


@task(name="email-report", cache_policy=NO_CACHE, retries=3, retry_delay_seconds=[10, 60, 300])
def email_report(compiled: Compiled, paths: list[str]) -> int:
    """Send the files as attachments; a refusal raises, so Prefect retries."""
    send_report(
        smtp=get_settings().smtp,
        recipients=compiled.recipients,
        report=compiled.report,
        files=[Path(p) for p in paths],
    )
    return len(compiled.recipients)
