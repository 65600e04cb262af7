"""Range goals ("từ 90% đến 95%") and reductions ("giảm 10% trở lên") worded and judged.

The pure rule first, a table of cases; then the province plan
(tests/data/plans/province-department.yaml, invented) compiled through the database into the
document, the workbook and the chart.
"""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine, select

from models import Plan
from models.db import transaction
from plan_sync.sync import load_plan
from plans.loader import read_plan
from plans.vocabulary import RANGE, REDUCTION
from reports.content import build_report
from reports.figures import Figure, TargetSpec
from reports.goals import GoalSense, goal_sense, progress
from reports.indicators import chart_points, figure_sentence, goal_cell, percent_cell
from reports.render_markdown import render_markdown
from reports.render_xlsx import render_xlsx
from schedules.periods import Period
from tests.reports.test_report_figures import by_code, spec
from tests.support.reports import at, submit

HYGIENE = spec(
    "ve-sinh",
    kind="percent",
    aggregation="last",
    name="Tỷ lệ cơ sở vệ sinh",
    unit_of_measure="%",
    comparator=RANGE,
    goal_number=Decimal(90),
    goal_upper=Decimal(95),
)
DEATHS = spec(
    "chet",
    name="Số gia súc chết",
    unit_of_measure="con",
    comparator=REDUCTION,
    goal_number=Decimal(10),
    baseline=Decimal(240),
)


def judged(target: TargetSpec, to_date: str, months: int) -> Figure:
    value = Decimal(to_date)
    percent, expected, on_track = progress(target, value, months)
    return Figure(target, value, value, percent, expected, on_track, ())


@pytest.mark.parametrize(
    ("target", "to_date", "months", "sentence_end", "cell", "on_track"),
    [
        (HYGIENE, "92,5", 3, "92,5%, trong khoảng kế hoạch năm (từ 90% đến 95%).",
         "Trong khoảng kế hoạch", True),
        (HYGIENE, "90", 12, "90%, trong khoảng kế hoạch năm (từ 90% đến 95%).",
         "Trong khoảng kế hoạch", True),
        (HYGIENE, "95", 12, "95%, trong khoảng kế hoạch năm (từ 90% đến 95%).",
         "Trong khoảng kế hoạch", True),
        (HYGIENE, "85", 6, "85%, dưới mức kế hoạch năm (từ 90% đến 95%), không đạt.",
         "Dưới mức kế hoạch, không đạt", False),
        (HYGIENE, "97", 6, "97%, vượt mức kế hoạch năm (từ 90% đến 95%), không đạt.",
         "Vượt mức kế hoạch, không đạt", False),
        # 240 dead a year before: 60 by the end of March; 48 is 20% fewer.
        (DEATHS, "48", 3, "lũy kế từ đầu năm 48 con, giảm 20% so với cùng kỳ, "
         "đạt mục tiêu giảm 10% trở lên.", "Giảm 20%, đạt", True),
        (DEATHS, "57", 3, "lũy kế từ đầu năm 57 con, giảm 5% so với cùng kỳ, "
         "không đạt mục tiêu giảm 10% trở lên.", "Giảm 5%, không đạt", False),
        (DEATHS, "216", 12, "lũy kế từ đầu năm 216 con, giảm 10% so với cùng kỳ, "
         "đạt mục tiêu giảm 10% trở lên.", "Giảm 10%, đạt", True),
        (DEATHS, "252", 12, "lũy kế từ đầu năm 252 con, tăng 5% so với cùng kỳ, "
         "không đạt mục tiêu giảm 10% trở lên.", "Tăng 5%, không đạt", False),
    ],
)  # fmt: skip
def test_ranges_and_reductions_in_words(
    target: TargetSpec, to_date: str, months: int, sentence_end: str, cell: str, on_track: bool
) -> None:
    figure = judged(target, to_date.replace(",", "."), months)
    assert figure.on_track is on_track
    sentence = figure_sentence(figure)
    assert sentence.endswith(sentence_end), sentence
    assert "tiến độ" not in sentence and "đạt 9" not in sentence
    assert percent_cell(figure) == cell


def test_the_sense_and_the_cell_of_ranges_and_reductions() -> None:
    assert goal_sense(HYGIENE) is GoalSense.RANGE and goal_sense(DEATHS) is GoalSense.REDUCTION
    assert (goal_cell(HYGIENE), goal_cell(DEATHS)) == ("90 - 95", "Giảm ≥ 10%")
    # The chart: a range is a marker against its upper bound with the lower bound marked;
    # a reduction is a bar of the reduction reached against the reduction asked (20 of 10).
    (hygiene,) = chart_points([judged(HYGIENE, "92.5", 3)])
    assert hygiene.ceiling and hygiene.expected == pytest.approx(90 / 95 * 100)
    (deaths,) = chart_points([judged(DEATHS, "48", 3)])
    assert not deaths.ceiling and deaths.percent == pytest.approx(200.0)


PLAN_FILE = Path(__file__).parents[1] / "data" / "plans" / "province-department.yaml"


def test_a_range_and_a_reduction_through_the_report(engine: Engine) -> None:
    plan_file = read_plan(PLAN_FILE)
    with transaction(engine) as session:
        load_plan(plan_file, session=session, now=at(5, 1, year=2026))
        plan = session.scalars(select(Plan).where(Plan.code == plan_file.plan.code)).one()
        for unit, hygiene, deaths in (("xa-thach-ha", 93, 20), ("phuong-thanh-sen", None, 25)):
            submit(
                session,
                f"report:{plan.code}:bc-thang-xa:{unit}:2026-03",
                received=at(1, 4, year=2026),
                values={"ve-sinh-tieu-doc": hygiene, "gia-suc-chet": deaths},
            )
        report = build_report(
            session=session, plan=plan, period=Period.parse("2026-Q1"), as_of=at(20, 4, year=2026)
        )
    figures = by_code(list(report.figures))
    assert (figures["gia-suc-chet"].to_date, figures["ve-sinh-tieu-doc"].to_date) == (45, 93)
    # 240 dead in the baseline year: 60 by the end of March; 45 is 25% fewer.
    assert figure_sentence(figures["gia-suc-chet"]) == (
        "Số gia súc chết do dịch bệnh: thực hiện trong kỳ 45 con; lũy kế từ đầu năm 45 con, "
        "giảm 25% so với cùng kỳ, đạt mục tiêu giảm 10% trở lên."
    )
    assert figure_sentence(figures["ve-sinh-tieu-doc"]) == (
        "Tỷ lệ cơ sở chăn nuôi thực hiện vệ sinh, tiêu độc khử trùng: 93%, trong khoảng kế "
        "hoạch năm (từ 90% đến 95%)."
    )
    text = render_markdown(report).decode("utf-8")
    assert "| Số gia súc chết do dịch bệnh | con | Giảm ≥ 10% | 45 | 45 | Giảm 25%, đạt |" in text
    assert "| % | 90 - 95 | 93 | 93 | Trong khoảng kế hoạch |" in text
    book = load_workbook(io.BytesIO(render_xlsx(report)))["Bieu tong hop"]
    cells = {r[1]: r[3:7] for r in book.iter_rows(min_row=9, values_only=True) if r[1]}
    assert cells["Số gia súc chết do dịch bệnh"] == ("Giảm ≥ 10%", 45, 45, "Giảm 25%, đạt")
    assert cells["Tỷ lệ cơ sở chăn nuôi thực hiện vệ sinh, tiêu độc khử trùng"] == (
        "90 - 95",
        93,
        93,
        "Trong khoảng kế hoạch",
    )
