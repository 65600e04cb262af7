"""Every goal worded and drawn by its sense: ceilings, floors, exact goals and yes/no targets.

Plan: tests/data/plans/department-consolidates.yaml (invented): outbreaks "<= 10" (a ceiling
over the year), poor households "< 3" % (a ceiling on a rate), jobs ">= 1300" (a floor), a
job fair "yes".
"""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine

from models.db import transaction
from reports.chart import progress_chart
from reports.document import Report
from reports.goals import GoalSense, goal_sense
from reports.indicators import figure_sentence
from reports.render_xlsx import render_xlsx
from tests.reports.test_report_figures import by_code, spec
from tests.reports.test_report_levels import document_text, inputs_sent, key, q1
from tests.support.reports import at, submit


def _report(engine: Engine, outbreaks: int) -> Report:
    with transaction(engine) as session:
        plan = inputs_sent(session)
        submit(
            session,
            key("bc-quy-phong", "phong-ldtbxh", "2024-Q1"),
            received=at(19, 3),
            values={"viec-lam": 300, "ho-ngheo": 2.5, "cho-viec-lam": True},
        )
        submit(
            session,
            key("bc-quy-y-te", "tt-y-te", "2024-Q1"),
            received=at(19, 3),
            values={"o-dich": outbreaks},
        )
        return q1(session, plan, at(21, 3))


def test_a_ceiling_passed_is_worded_exceeded_never_achieved(engine: Engine) -> None:
    report = _report(engine, outbreaks=15)
    figures = by_code(list(report.figures))
    outbreaks = figures["o-dich"]
    sentence = figure_sentence(outbreaks)
    assert sentence == (
        "Số ổ dịch bệnh truyền nhiễm: thực hiện trong kỳ 15 ổ dịch; lũy kế từ đầu năm 15 ổ dịch, "
        "vượt ngưỡng kế hoạch năm (không quá 10 ổ dịch) 5 ổ dịch, không đạt."
    )
    assert "150%" not in sentence and "tiến độ" not in sentence
    rows = {r.code: r for r in report.indicator_rows}
    assert (rows["o-dich"].goal, rows["o-dich"].percent) == ("≤ 10", "Vượt ngưỡng, không đạt")
    text = document_text(report)
    shortcomings = text.split("II. ")[1]
    assert "Số ổ dịch bệnh truyền nhiễm: lũy kế 15 ổ dịch, vượt ngưỡng kế hoạch năm" in text
    assert "vượt ngưỡng" in shortcomings
    # A ceiling on a rate kept; a floor behind its pace; a yes/no goal met.
    assert figure_sentence(figures["ho-ngheo"]) == (
        "Tỷ lệ hộ nghèo: 2,5%, trong ngưỡng kế hoạch năm (dưới 3%)."
    )
    assert rows["ho-ngheo"].percent == "Trong ngưỡng"
    assert figure_sentence(figures["viec-lam"]).endswith(
        "lũy kế từ đầu năm 300 lao động, đạt 23,1% kế hoạch năm (1.300 lao động trở lên); "
        "chậm so với tiến độ (cần đạt 25% kế hoạch năm đến hết kỳ)."
    )
    assert figures["cho-viec-lam"].on_track is True
    # The chart draws the ceilings as markers against their limit, not as bars to fill.
    chart = {p.label: p for p in report.chart}
    assert chart["Số ổ dịch bệnh truyền nhiễm"].ceiling
    assert chart["Số ổ dịch bệnh truyền nhiễm"].on_track is False
    assert not chart["Số lao động được tạo việc làm mới"].ceiling
    assert progress_chart(report.chart, "Tiến độ").startswith(b"\x89PNG")
    # The workbook says it in words where a floor has its percentage.
    form = load_workbook(io.BytesIO(render_xlsx(report)))["Bieu tong hop"]
    cells = {r[1]: r for r in form.iter_rows(min_row=9, values_only=True) if r[1]}
    assert cells["Số ổ dịch bệnh truyền nhiễm"][3:] == ("≤ 10", 15, 15, "Vượt ngưỡng, không đạt")
    assert cells["Số lao động được tạo việc làm mới"][6] == pytest.approx(300 / 1300)


def test_a_ceiling_kept_is_within_and_never_behind(engine: Engine) -> None:
    outbreaks = by_code(list(_report(engine, outbreaks=2).figures))["o-dich"]
    assert outbreaks.on_track is True
    assert figure_sentence(outbreaks).endswith(
        "lũy kế từ đầu năm 2 ổ dịch, trong ngưỡng kế hoạch năm (không quá 10 ổ dịch)."
    )


def test_the_sense_of_each_goal() -> None:
    assert goal_sense(spec("x", goal_number=Decimal(10), comparator="<=")) is GoalSense.CEILING
    assert goal_sense(spec("x", goal_number=Decimal(3), comparator="<")) is GoalSense.CEILING
    assert goal_sense(spec("x", goal_number=Decimal(67), comparator=">=")) is GoalSense.FLOOR
    assert goal_sense(spec("x", goal_number=Decimal(5), comparator=None)) is GoalSense.FLOOR
    assert goal_sense(spec("x", goal_number=Decimal(1), comparator="=")) is GoalSense.EXACT
    assert goal_sense(spec("x", kind="yes_no", goal_text="yes")) is GoalSense.YES_NO
    assert goal_sense(spec("x")) is None
