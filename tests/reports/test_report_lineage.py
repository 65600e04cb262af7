"""Merged communes (the July 2025 reform): predecessors' reports count in the successor's year
to date, each period once, and a ceased unit owes nothing after it ceased.

Plan: tests/data/plans/commune-2025-reform.yaml (invented). xã Đông, xã Tây and thị trấn Đồng
Mẫu become xã Hòa Bình, xã Bắc becomes xã Bắc Sơn, on 01/07/2025. Until then the communes send
quarterly reports to the district (bc-quy-ve-huyen); from July to the department (bc-quy-ve-so);
monthly reports (bc-thang) all year.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from models import DueItem, Plan
from models.db import transaction
from models.org import Unit
from plan_sync.sync import load_plan
from plans.loader import parse_plan, read_plan
from reports.content import build_report
from reports.document import Report
from reports.figures import TargetSpec
from reports.lineage import Lineage, fold_line
from reports.render_markdown import render_markdown
from schedules.periods import Period
from tests.reports.test_report_figures import by_code
from tests.support.reports import at, submit

PLAN_FILE = Path(__file__).parents[1] / "data" / "plans" / "commune-2025-reform.yaml"
CODE = "giam-ngheo-2025"
TARGET = "ho-thoat-ngheo"
PREDECESSORS = ("UBND xã Đông", "UBND xã Tây", "UBND thị trấn Đồng Mẫu", "UBND xã Bắc")
# (obligation, unit, period) -> households out of poverty
SENT = {
    ("bc-quy-ve-huyen", "xa-dong", "2025-Q1"): 10,
    ("bc-quy-ve-huyen", "xa-tay", "2025-Q1"): 20,
    ("bc-quy-ve-huyen", "tt-dong-mau", "2025-Q1"): 5,
    ("bc-quy-ve-huyen", "xa-bac", "2025-Q1"): 7,
    ("bc-quy-ve-huyen", "xa-dong", "2025-Q2"): 6,
    ("bc-quy-ve-huyen", "xa-tay", "2025-Q2"): 4,
    ("bc-quy-ve-huyen", "tt-dong-mau", "2025-Q2"): 2,  # xã Bắc sends no Q2 report
    # xã Hòa Bình's June report overlaps the old communes' Q2 report; its July and August
    # reports lie inside its own Q3 report.
    ("bc-thang", "xa-hoa-binh", "2025-06"): 2,
    ("bc-thang", "xa-hoa-binh", "2025-07"): 4,
    ("bc-thang", "xa-hoa-binh", "2025-08"): 5,
    ("bc-quy-ve-so", "xa-hoa-binh", "2025-Q3"): 12,
    ("bc-quy-ve-so", "xa-bac-son", "2025-Q3"): 4,
}
AS_OF = at(20, 9, year=2025)


def reports_sent(session: Session) -> Plan:
    load_plan(read_plan(PLAN_FILE), session=session, now=at(5, 1, year=2025))
    for (obligation, unit, period), households in SENT.items():
        month = Period.parse(period).end.month  # sent on time: quarters by the 14th
        received = at(14, month, year=2025) if "Q" in period else at(2, month + 1, year=2025)
        submit(
            session,
            f"report:{CODE}:{obligation}:{unit}:{period}",
            received=received,
            values={TARGET: households},
        )
    return session.scalars(select(Plan).where(Plan.code == CODE)).one()


def compiled(engine: Engine, period: str) -> Report:
    with transaction(engine) as session:
        plan = reports_sent(session)
        return build_report(session=session, plan=plan, period=Period.parse(period), as_of=AS_OF)


def test_a_merged_commune_s_year_to_date_takes_its_predecessors_reports_once(
    engine: Engine,
) -> None:
    figure = by_code(list(compiled(engine, "2025-Q3").figures))[TARGET]
    # Hòa Bình: Q1 35 and Q2 12 from the old communes (the Q2 report holds the whole quarter,
    # the new commune's June report only its last month), then its Q3 report 12 (its July and
    # August reports lie inside it). Bắc Sơn: xã Bắc's Q1 7, then its own Q3 4.
    assert [(u.unit_name, u.period, u.to_date) for u in figure.by_unit] == [
        ("UBND xã Bắc Sơn", 4, 11),
        ("UBND xã Hòa Bình", 12, 59),
    ]
    assert (figure.period, figure.to_date) == (16, 70)  # no period counted twice
    assert figure.note is not None
    assert (
        "Số liệu của UBND xã Hòa Bình gồm cả báo cáo của UBND thị trấn Đồng Mẫu, UBND xã Đông, "
        "UBND xã Tây trước khi sáp nhập." in figure.note
    )
    assert "Số liệu của UBND xã Bắc Sơn gồm cả báo cáo của UBND xã Bắc trước khi" in figure.note


def test_a_ceased_commune_owes_nothing_after_it_ceased(engine: Engine) -> None:
    report = compiled(engine, "2025")
    text = render_markdown(report).decode("utf-8")
    missing = text.split("Đơn vị chưa gửi báo cáo:")[1].split("II.")[0]
    lines = [line for line in missing.splitlines() if line.strip(" -+*")]
    ceased = [line for line in lines if any(f"{name} (" in line for name in PREDECESSORS)]
    # The old communes owed their monthly reports to May (June's fell due in July) and xã Bắc
    # its Q2 report; nothing after they ceased on 30/06/2025.
    assert any("UBND xã Bắc (quý II năm 2025)" in line for line in ceased)
    assert ceased and all(
        not any(f"tháng {m} năm 2025" in line for m in range(6, 13)) and "quý III" not in line
        for line in ceased
    )
    figure = by_code(list(report.figures))[TARGET]
    assert figure.to_date == 70 and {u.unit_name for u in figure.by_unit} == {
        "UBND xã Bắc Sơn",
        "UBND xã Hòa Bình",
    }


def owed_by(session: Session, unit: str) -> set[str | None]:
    """The periods a unit owes a report for (items not withdrawn)."""
    rows = session.scalars(
        select(DueItem.period_label)
        .join(Unit, Unit.id == DueItem.unit_id)
        .where(Unit.code == unit, DueItem.kind == "report", DueItem.withdrawn_at.is_(None))
    )
    return set(rows)


def test_a_merger_learnt_mid_year_withdraws_what_the_old_commune_no_longer_owes(
    engine: Engine,
) -> None:
    before = PLAN_FILE.read_text(encoding="utf-8").replace(
        "  parent: ubnd-huyen\n  valid_to: 2025-06-30\n  successor: xa-hoa-binh\n",
        "  parent: ubnd-huyen\n",
        1,  # xã Đông, the first: as the plan stood before the merger was decided
    )
    with transaction(engine) as session:
        load_plan(
            parse_plan(before, "truoc-sap-nhap.yaml"), session=session, now=at(5, 1, year=2025)
        )
        assert "2025-Q3" in owed_by(session, "xa-dong")
        load_plan(read_plan(PLAN_FILE), session=session, now=at(1, 7, year=2025))
        owed = owed_by(session, "xa-dong")
        plan = session.scalars(select(Plan).where(Plan.code == CODE)).one()
        report = build_report(session=session, plan=plan, period=Period.parse("2025"), as_of=AS_OF)
    assert owed == {"2025-01", "2025-02", "2025-03", "2025-04", "2025-05", "2025-Q1", "2025-Q2"}
    listed = {line.period_label for line in report.reporting if line.unit_name == "UBND xã Đông"}
    assert listed and listed <= owed  # it reported nothing: listed for what it owed, no more


SPEC = TargetSpec("t", "Số hộ thoát nghèo", "hộ", "count", "sum", ">=", Decimal(120), None)
LINE = Lineage({"a": "c", "b": "c", "c": "d"}, {})


def folded(values: list[tuple[str, str, str, int]]) -> Decimal:
    rows = [(o, u, label, Period.parse(label).end, Decimal(v)) for o, u, label, v in values]
    ranks = {"thang": (1, "thang"), "quy": (3, "quy"), "nam": (12, "nam")}
    line = fold_line(SPEC, rows, LINE, ranks.__getitem__, {"to_date": lambda _: True})
    value = line.windows["to_date"].value(SPEC)
    assert isinstance(value, Decimal)
    return value


def test_each_period_of_a_line_counts_once() -> None:
    cases: list[tuple[str, list[tuple[str, str, str, int]], int]] = [
        (
            "two predecessors of one period add up",
            [("quy", "a", "2025-Q1", 3), ("quy", "b", "2025-Q1", 4)],
            7,
        ),
        (
            "the successor's own report of a period wins",
            [("quy", "a", "2025-Q1", 3), ("quy", "d", "2025-Q1", 9)],
            9,
        ),
        (
            "a later merger is nearer than an earlier one",
            [("quy", "a", "2025-Q1", 3), ("quy", "c", "2025-Q1", 5)],
            5,
        ),
        (
            "months covering a quarter beat it",
            [
                ("thang", "d", "2025-01", 1),
                ("thang", "d", "2025-02", 1),
                ("thang", "a", "2025-03", 1),
                ("quy", "b", "2025-Q1", 9),
            ],
            3,
        ),
        (
            "a quarter beats one of its months",
            [("thang", "d", "2025-03", 1), ("quy", "a", "2025-Q1", 9)],
            9,
        ),
        (
            "a year report beats quarters only when they leave gaps",
            [("quy", "a", "2025-Q1", 2), ("nam", "d", "2025", 20)],
            20,
        ),
        ("periods apart add up", [("quy", "a", "2025-Q1", 2), ("thang", "d", "2025-07", 1)], 3),
    ]
    for name, values, expected in cases:
        assert folded(values) == expected, name
    assert LINE.root("a") == "d" and LINE.depth("a") == 2 and LINE.members == {"a", "b", "c", "d"}
    assert LINE.root("d") == "d" and Lineage({"x": "y", "y": "x"}).root("x") == "y"  # a circle
    text = TargetSpec("k", "Kết quả", None, "text", "last", None, None, None)
    rows = [("quy", u, "2025-Q1", date(2025, 3, 31), f"{u} làm") for u in ("a", "b")]
    line = fold_line(text, rows, LINE, lambda o: (3, o), {"to_date": lambda _: True})
    assert line.windows["to_date"].value(text) == "a làm; b làm"
