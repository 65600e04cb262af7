"""Reporting levels: a department consolidating communes and a centre is counted once.

Plan: tests/data/plans/department-consolidates.yaml (invented): three communes (quarterly) and
the vocational centre (monthly) report jobs to the labour department, which reports the
district's figure to the committee (quarterly, due 20/03 for Q1).
"""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from models import Plan
from models.db import transaction
from plan_sync.sync import load_plan
from plans.loader import read_plan
from reports.content import build_report
from reports.document import Report
from reports.figures import Figure, ReportedValue, aggregate, period_labels, tally
from reports.levels import Levels, Routing
from reports.render_markdown import render_markdown
from reports.render_xlsx import render_xlsx
from schedules.periods import Period
from tests.reports.test_report_figures import by_code, row, spec
from tests.support.reports import at, submit

PLAN_FILE = Path(__file__).parents[1] / "data" / "plans" / "department-consolidates.yaml"
CODE = "son-tay-2024-lao-dong"
DEPARTMENT = "Phòng Lao động - Thương binh và Xã hội"
COMMUNE_JOBS = {"xa-an-hoa": 120, "xa-binh-son": 85, "xa-cam-thanh": 200}
CENTRE_JOBS = {"2024-01": 10, "2024-02": 10, "2024-03": 10}
INPUTS = sum(COMMUNE_JOBS.values()) + sum(CENTRE_JOBS.values())  # 435


def key(obligation: str, unit: str, period: str) -> str:
    return f"report:{CODE}:{obligation}:{unit}:{period}"


def inputs_sent(session: Session) -> Plan:
    """The plan, with the communes' and the centre's Q1 reports sent to the department."""
    load_plan(read_plan(PLAN_FILE), session=session, now=at(5, 1))
    for unit, jobs in COMMUNE_JOBS.items():
        submit(
            session,
            key("bc-quy-xa", unit, "2024-Q1"),
            received=at(15, 3),
            values={"viec-lam": jobs},
        )
    for month, jobs in CENTRE_JOBS.items():
        day = at(15, int(month[-2:]))
        submit(
            session,
            key("bc-thang-tt-gdnn", "tt-gdnn", month),
            received=day,
            values={"viec-lam": jobs},
        )
    return session.scalars(select(Plan).where(Plan.code == CODE)).one()


def q1(session: Session, plan: Plan, as_of: datetime) -> Report:
    return build_report(session=session, plan=plan, period=Period.parse("2024-Q1"), as_of=as_of)


def document_text(report: Report) -> str:
    return render_markdown(report).decode("utf-8")


def test_the_department_counts_once_and_the_reconciliation_shows_the_difference(
    engine: Engine,
) -> None:
    with transaction(engine) as session:
        plan = inputs_sent(session)
        submit(
            session,
            key("bc-quy-phong", "phong-ldtbxh", "2024-Q1"),
            received=at(19, 3),
            values={"viec-lam": 1300},
        )
        report = q1(session, plan, at(21, 3))
    jobs = by_code(list(report.figures))["viec-lam"]
    # The district's figure is the department's: its inputs are not extra people.
    assert jobs.period == jobs.to_date == 1300 != 1300 + INPUTS
    assert jobs.percent_of_goal == 100 and jobs.provisional == ()
    assert [(u.unit_name, u.period) for u in jobs.by_unit] == [(DEPARTMENT, 1300)]
    text = document_text(report)
    assert "lũy kế từ đầu năm 1.300 lao động, đạt 100% kế hoạch năm" in text
    assert "1.735" not in text and "tạm tính" not in text
    (period,) = [r for r in report.reconciliation if r.window == "period"]
    assert (period.unit_name, period.target.code) == (DEPARTMENT, "viec-lam")
    assert (period.reported, period.inputs, period.difference) == (1300, INPUTS, 1300 - INPUTS)
    assert period.input_units == 4  # three communes and the centre
    book = load_workbook(io.BytesIO(render_xlsx(report)))
    lines = list(book["Doi chieu"].iter_rows(min_row=5, values_only=True))
    assert lines[0][1:] == (
        DEPARTMENT,
        "Số lao động được tạo việc làm mới",
        "lao động",
        "Thực hiện kỳ",
        1300,
        435,
        4,
        865,
    )


def test_before_the_department_reports_its_inputs_stand_in_marked_provisional(
    engine: Engine,
) -> None:
    with transaction(engine) as session:
        plan = inputs_sent(session)
        report = q1(session, plan, at(19, 3, 16))  # the department's report is due 20/03
    jobs = by_code(list(report.figures))["viec-lam"]
    assert jobs.period == INPUTS and jobs.provisional == (DEPARTMENT,)
    text = document_text(report)
    assert f"Số liệu tạm tính: {DEPARTMENT} chưa báo cáo chỉ tiêu này trong kỳ" in text
    # Its own report is not late yet: "chưa đến hạn", never "chưa gửi".
    assert (
        "Báo cáo quý của Phòng Lao động - Thương binh và Xã hội: đã nhận 0/1 báo cáo, "
        "trong đó đúng hạn 0; chưa đến hạn 1." in text
    )
    assert DEPARTMENT not in text.split("Đơn vị chưa gửi báo cáo")[-1].split("II.")[0] or (
        "Đơn vị chưa gửi báo cáo" not in text
    )
    book = load_workbook(io.BytesIO(render_xlsx(report)))
    (line,) = book["bc-quy-phong"].iter_rows(min_row=6, max_row=6, values_only=True)
    assert line[1:8] == (DEPARTMENT, 1, 0, 0, 0, 1, "Chưa đến hạn")
    (reconciled,) = [r for r in report.reconciliation if r.window == "period"]
    assert reconciled.reported is None and reconciled.inputs == INPUTS


# --- the rule on its own (pure) ----------------------------------------------------------


def routing(**recipients: str) -> Routing:
    """Obligation code -> recipient; each obligation's reporters are named in its code."""
    return Routing(
        issuer="top",
        recipients=recipients,
        reporters={o: frozenset({o.split(":")[0]}) for o in recipients},
        carried={o: frozenset({"jobs"}) for o in recipients},
        cadences={o: "quarterly" for o in recipients},
        unit_names={},
    )


def levelled_jobs(rows: list[ReportedValue], lines: Routing, period: str = "2024-Q1") -> Figure:
    jobs, p = spec("jobs"), Period.parse(period)
    values = tally([jobs], rows, set(period_labels(p)), lines.detailed)
    return aggregate([jobs], values, p.last_month, Levels([jobs], values, lines).counted())[0]


def test_three_levels_count_the_highest_report_received_and_roll_up_below_it() -> None:
    lines = routing(
        **{"province-dept:up": "top", "district:up": "province-dept", "commune:up": "district"}
    )

    def sent(unit: str, jobs: int) -> ReportedValue:
        return row(unit, "jobs", jobs, "2024-Q1", obligation=f"{unit}:up", cadence="quarterly")

    commune, district, dept = sent("commune", 5), sent("district", 40), sent("province-dept", 300)
    assert levelled_jobs([commune, district, dept], lines).period == 300
    # The district stands in for the department, and the commune for both, marked provisional.
    stand_in = levelled_jobs([commune, district], lines)
    assert stand_in.period == 40 and stand_in.provisional == ("province-dept",)
    assert levelled_jobs([commune], lines).period == 5


def test_a_unit_reporting_straight_to_the_issuer_is_not_an_input() -> None:
    lines = routing(**{"dept:up": "top", "commune:up": "dept", "centre:up": "top"})
    rows = [
        row("dept", "jobs", 100, "2024-Q1", obligation="dept:up", cadence="quarterly"),
        row("commune", "jobs", 30, "2024-Q1", obligation="commune:up", cadence="quarterly"),
        row("centre", "jobs", 7, "2024-Q1", obligation="centre:up", cadence="quarterly"),
    ]
    assert levelled_jobs(rows, lines).period == 107


def test_a_monthly_report_before_the_quarter_ends_is_not_provisional() -> None:
    lines = routing(**{"dept:up": "top", "centre:up": "dept"})
    lines = Routing(
        lines.issuer,
        lines.recipients,
        lines.reporters,
        lines.carried,
        {"dept:up": "quarterly", "centre:up": "monthly"},
        {},
    )
    months = [
        row("centre", "jobs", 10, month, obligation="centre:up") for month in ("2024-01", "2024-02")
    ]
    february = levelled_jobs(months, lines, "2024-02")
    # The department's Q1 report is not owed by the end of February: nothing stands in for it.
    assert (february.period, february.to_date, february.provisional) == (10, 20, ())
    quarter = levelled_jobs(months, lines, "2024-Q1")
    assert (quarter.period, quarter.provisional) == (20, ("dept",))


@pytest.mark.parametrize(
    ("label", "cadence", "bucket"),
    [
        ("2025-12", "weekly", "2026-W01"),  # 31/12/2025 lies in ISO week 1 of 2026
        ("2025-Q4", "weekly", "2026-W01"),
        ("2024-12", "weekly", "2025-W01"),  # 31/12/2024 (Tuesday): week 1 of 2025
        ("2026-12", "weekly", "2026-W53"),  # 2026 has 53 ISO weeks
        ("2024-05", "quarterly", "2024-Q2"),
        ("2024-W10", "monthly", "2024-03"),
    ],
)
def test_a_period_falls_in_the_upward_period_holding_its_end(
    label: str, cadence: str, bucket: str
) -> None:
    jobs = spec("jobs")
    lines = routing(**{"commune:up": "top"})
    values = tally([jobs], [], set(), lines.detailed)
    assert Levels([jobs], values, lines).bucket(label, cadence) == bucket
