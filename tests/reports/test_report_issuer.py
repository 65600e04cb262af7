"""Nghị định 30 for any issuer: a department's report read back from its DOCX.

The plan (tests/data/plans/department-issuer.yaml) is a provincial department's, with a real
number and issue date, a parent People's Committee and an official abbreviation.
"""

from __future__ import annotations

import io
from pathlib import Path

import pendulum
import pytest
from docx import Document
from docx.document import Document as DocxDocument
from docx.oxml.ns import qn
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from models import Plan
from models.db import transaction
from plan_sync.sync import load_plan
from plans.loader import read_plan
from reports.compile import compilation_instant
from reports.content import build_report
from reports.document import Para, Report, ReportError
from reports.render_docx import render_docx
from schedules.periods import Period
from tests.support.reports import submit

PLAN_FILE = Path(__file__).parents[1] / "data" / "plans" / "department-issuer.yaml"
PLAN = "ha-tinh-2025-thu-y"
VN = "Asia/Ho_Chi_Minh"
AS_OF = pendulum.datetime(2025, 4, 10, 9, 0, tz=VN)


def load_department(session: Session) -> Plan:
    load_plan(read_plan(PLAN_FILE), session=session, now=pendulum.datetime(2025, 1, 6, tz=VN))
    plan = session.scalars(select(Plan).where(Plan.code == PLAN)).one()
    submit(
        session,
        f"report:{PLAN}:bc-thang-xa:xa-bao-lam:2025-03",
        received=pendulum.datetime(2025, 4, 3, 9, 0, tz=VN),
        values={"con-duoc-tiem": 1200},
    )
    return plan


def department_report(session: Session, **options: object) -> Report:
    plan = load_department(session)
    return build_report(
        session=session,
        plan=plan,
        period=Period.parse("2025-03"),
        as_of=AS_OF,
        **options,  # type: ignore[arg-type]
    )


@pytest.fixture
def report(engine: Engine) -> Report:
    with transaction(engine) as session:
        return department_report(session)


def test_a_department_heads_with_its_governing_body_and_its_abbreviation(report: Report) -> None:
    assert report.governing_body == "UBND TỈNH HÀ TĨNH"
    assert report.agency_lines == ("SỞ NÔNG NGHIỆP VÀ MÔI TRƯỜNG",)
    # The ký hiệu is the unit's official abbreviation, not its short name ("Sở NN&MT").
    assert report.number_line == "Số:      /BC-SNNMT"
    opening = report.body[0]
    assert isinstance(opening, Para)
    # The plan gives its number and date as facts: both are printed.
    assert opening.text.startswith(
        "Thực hiện Kế hoạch số 12/KH-SNNMT ngày 06/01/2025 của Sở Nông nghiệp và Môi trường về"
    )


def test_nơi_nhận_is_the_plans_unless_the_report_gives_its_own(engine: Engine) -> None:
    with transaction(engine) as session:
        own = department_report(
            session, recipients=["Bộ Nông nghiệp và Môi trường (để b/c);", "- Chi cục Thú y"]
        )
    assert own.distribution == (
        "- Bộ Nông nghiệp và Môi trường (để b/c);",
        "- Chi cục Thú y;",
        "- Lưu: VT.",
    )


def docx_of(report: Report) -> DocxDocument:
    return Document(io.BytesIO(render_docx(report, None)))


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)  # the renderer reads no database
def test_the_docx_header_carries_the_governing_body_over_the_agency(report: Report) -> None:
    doc = docx_of(report)
    agency = [p for p in doc.tables[0].cell(0, 0).paragraphs if p.text]
    assert [p.text for p in agency] == ["UBND TỈNH HÀ TĨNH", "SỞ NÔNG NGHIỆP VÀ MÔI TRƯỜNG"]
    # The governing body in regular type, the issuer's own name in bold (Phụ lục I).
    assert [bool(p.runs[0].font.bold) for p in agency] == [False, True]
    assert doc.tables[0].cell(1, 0).paragraphs[0].text == "Số:      /BC-SNNMT"


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_page_numbers_from_page_two_centred_in_the_top_margin(report: Report) -> None:
    section = docx_of(report).sections[0]
    assert section.different_first_page_header_footer
    first = section.first_page_header
    assert not first.is_linked_to_previous
    assert "".join(p.text for p in first.paragraphs) == ""
    assert not first._element.findall(".//" + qn("w:instrText"))
    (paragraph,) = section.header.paragraphs
    assert paragraph.alignment == 1  # centred
    fields = [e.text.strip() for e in paragraph._p.iter(qn("w:instrText"))]
    assert fields == ["PAGE"]
    assert section.header_distance < section.top_margin  # in the top margin, above the text


@pytest.mark.parametrize(
    ("as_of", "doc_date", "now", "expected"),
    [
        # Neither given: now, and the document is dated its day.
        (None, None, "2025-06-23T10:00+07:00", "2025-06-23T10:00+07:00"),
        # A past document date: the end of that day, never later.
        (None, "2025-06-23", "2025-09-03T10:00+07:00", "2025-06-23T23:59:59.999999+07:00"),
        # Today's date: now, not the end of the day still to come.
        (None, "2025-06-23", "2025-06-23T10:00+07:00", "2025-06-23T10:00+07:00"),
        # Given: as given.
        (
            "2025-06-20T08:00+07:00",
            "2025-06-23",
            "2025-09-03T10:00+07:00",
            "2025-06-20T08:00+07:00",
        ),
    ],
)
def test_the_compilation_instant_follows_the_document_date(
    as_of: str | None, doc_date: str | None, now: str, expected: str
) -> None:
    instant = compilation_instant(
        pendulum.parse(as_of) if as_of else None,  # type: ignore[arg-type]
        pendulum.parse(doc_date).date() if doc_date else None,  # type: ignore[union-attr]
        pendulum.parse(now),  # type: ignore[arg-type]
    )
    assert instant == pendulum.parse(expected)


def test_an_as_of_still_to_come_is_refused() -> None:
    with pytest.raises(ReportError, match="chưa tới"):
        compilation_instant(
            pendulum.datetime(2025, 6, 24, tz=VN), None, pendulum.datetime(2025, 6, 23, tz=VN)
        )


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_a_report_dated_before_its_as_of_is_refused(engine: Engine) -> None:
    """A report dated 23/06 cannot list what was overdue on 03/09."""
    with transaction(engine) as session, pytest.raises(ReportError) as refused:
        department_report(session, doc_date=pendulum.date(2025, 4, 9))
    assert "Ngày văn bản 09/04/2025 đứng trước thời điểm tổng hợp" in str(refused.value)
