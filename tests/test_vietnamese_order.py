"""Vietnamese wherever people read: alphabetical order, periods and deadlines in words.

The order is checked on the department plan (tests/data/plans/department-issuer.yaml), whose
units' codes, code points and Vietnamese order all disagree: "Bảo Lâm" comes before "Bình
Trung" (code points put "ả" after "i"), "Dương Xá" before "Đồng Đăng" (codes put "dong" first).
"""

from __future__ import annotations

import io
import json
from datetime import date

import pendulum
import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine
from typer.testing import CliRunner

from access.actor import SETTINGS_ADMIN
from cli.main import app
from models.db import transaction
from portal.views import list_items
from reports.render_xlsx import render_xlsx
from tests.reports.test_report_issuer import department_report, load_department
from wording import vietnamese as vi
from wording.collation import sort_key

VIETNAMESE_ORDER = [
    "UBND xã Bảo Lâm",
    "UBND xã Bình Trung",
    "UBND xã Dương Xá",
    "UBND xã Đồng Đăng",
    "UBND xã Tân Liên",
    "UBND xã Thạch Đạn",
]


@pytest.mark.parametrize(
    ("before", "after", "why"),
    [
        ("Bảo Lâm", "Bình Trung", "letters before tones: a < i"),
        ("Tân Liên", "Thạch Đạn", "a < h"),
        ("Dương Xá", "Đồng Đăng", "đ is a letter after d"),
        ("Dz", "Đa", "every d-word before the first đ-word"),
        ("Đz", "Ea", "đ before e"),
        ("Az", "Ăn", "ă is a letter after a"),
        ("Ăz", "Âu", "â after ă"),
        ("Âz", "Ba", "â before b"),
        ("Oz", "Ông", "ô is a letter after o"),
        ("Ôz", "Ơn", "ơ after ô"),
        ("Uz", "Ưa", "ư is a letter after u"),
        ("Ez", "Êm", "ê is a letter after e"),
        ("ma", "mà", "no tone before huyền"),
        ("mà", "mả", "huyền before hỏi"),
        ("mả", "mã", "hỏi before ngã"),
        ("mã", "má", "ngã before sắc"),
        ("má", "mạ", "sắc before nặng"),
        ("mát", "mặc", "letters first: a < ă"),
        ("mắt", "mặt", "then tones: sắc < nặng"),
        ("hòa", "Hòa", "then case"),
        ("Hòa Cư", "Hồng Phong", "o < ô"),
        ("UBND thị trấn Cao Lộc", "UBND xã Bảo Lâm", "t < x"),
    ],
)
def test_vietnamese_alphabetical_order(before: str, after: str, why: str) -> None:
    assert sort_key(before) < sort_key(after), why


def test_sorting_a_list() -> None:
    shuffled = [VIETNAMESE_ORDER[i] for i in (5, 3, 0, 4, 2, 1)]
    assert sorted(shuffled, key=sort_key) == VIETNAMESE_ORDER
    assert sorted(shuffled) != VIETNAMESE_ORDER  # code points are not the order


@pytest.mark.parametrize(
    ("label", "words"),
    [
        ("2024-Q1", "quý I năm 2024"),
        ("2024-Q4", "quý IV năm 2024"),
        ("2024-03", "tháng 3 năm 2024"),
        ("2024-12", "tháng 12 năm 2024"),
        ("2024-H1", "6 tháng đầu năm 2024"),
        ("2024", "năm 2024"),
        ("YC-3", "YC-3"),  # an ad-hoc request's label stays as it is
        (None, ""),
    ],
)
def test_periods_in_words(label: str | None, words: str) -> None:
    assert vi.period(label) == words


@pytest.mark.parametrize(
    ("day", "instant", "words"),
    [
        # The default deadline: 24:00 of the day, Asia/Ho_Chi_Minh.
        (date(2024, 3, 18), "2024-03-19T00:00:00+07:00", "hết ngày 18/03/2024"),
        (date(2024, 3, 18), "2024-03-18T17:00:00+00:00", "hết ngày 18/03/2024"),
        # A rule with a time.
        (date(2024, 3, 18), "2024-03-18T16:00:00+07:00", "16:00 ngày 18/03/2024"),
    ],
)
def test_deadlines_in_words(day: date, instant: str, words: str) -> None:
    assert vi.deadline(day, pendulum.parse(instant)) == words  # type: ignore[arg-type]


def test_the_report_lists_missing_units_in_vietnamese_order(engine: Engine) -> None:
    with transaction(engine) as session:
        report = department_report(session)
    missing = [line.unit_name for line in report.reporting]
    assert missing == VIETNAMESE_ORDER[1:]  # all but Bảo Lâm, which reported
    (sheet,) = report.sheets
    assert [row.unit_name for row in sheet.rows] == VIETNAMESE_ORDER


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_xlsx_numbers_have_no_trailing_separator(engine: Engine) -> None:
    with transaction(engine) as session:
        report = department_report(session)
    sheet = load_workbook(io.BytesIO(render_xlsx(report))).worksheets[1]
    formats = {
        c.value: c.number_format for row in sheet.iter_rows() for c in row if c.value == 1200
    }
    assert formats == {1200: "#,##0"}  # shown "1.200", never "1.200,"


def test_the_portal_list_orders_units_the_vietnamese_way(engine: Engine) -> None:
    with transaction(engine) as session:
        load_department(session)
        states = list_items(
            session=session, actor=SETTINGS_ADMIN, now=pendulum.datetime(2025, 4, 10, tz="UTC")
        )
    march = [s.unit_name for s in states if s.period_label == "2025-03"]
    assert march == VIETNAMESE_ORDER


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_dues_reads_as_officials_write(db_env: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with transaction(db_env) as session:
        load_department(session)
    monkeypatch.setenv("COLUMNS", "250")  # one table row a line
    runner = CliRunner()
    shown = runner.invoke(app, ["dues", "--year", "2025"])
    assert shown.exit_code == 0, shown.output
    march = [line for line in shown.output.splitlines() if "tháng 3 năm 2025" in line]
    assert [n for line in march for n in VIETNAMESE_ORDER if n in line] == VIETNAMESE_ORDER
    # 05/04 is a Saturday, 07/04 the Hùng Kings' day off: the deadline rolls to Tuesday 08/04.
    assert all("hết ngày 08/04/2025" in line for line in march)
    assert all("01/03/2025 – 31/03/2025" in line for line in march)
    # A deliverable is work to hand in, not figures of a period: no data window.
    (plan_line,) = [line for line in shown.output.splitlines() if "Kế hoạch tiêm phòng" in line]
    assert "hết ngày 14/03/2025" in plan_line and "–" not in plan_line
    assert "xa-bao-lam" not in shown.output
    # Machines keep the exact instant.
    data = json.loads(runner.invoke(app, ["dues", "--year", "2025", "--json"]).output)
    first = next(d for d in data if d["period"] == "2025-03")
    assert first["deadline"] == "2025-04-09T00:00:00+07:00"
