"""The DOCX read back with python-docx: page, header, title, sections, table, signature."""

from __future__ import annotations

import io

import pytest
from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Pt
from docx.table import Table
from docx.text.paragraph import Paragraph

from reports.compile import chart_png
from reports.document import INDICATOR_HEADERS, Report
from reports.render_docx import render_docx

FONT = "Times New Roman"


@pytest.fixture(scope="module")
def doc(rendered_q1_report: Report) -> DocxDocument:
    return Document(io.BytesIO(render_docx(rendered_q1_report, chart_png(rendered_q1_report))))


def style(p: Paragraph) -> tuple[str, float | None, bool, bool]:
    """(text, size in pt, bold, italic) of a paragraph whose runs all agree."""
    runs = [r for r in p.runs if r.text]
    assert runs, f"no text in {p.text!r}"
    assert {r.font.name for r in runs} == {FONT}, p.text
    sizes = {r.font.size.pt if r.font.size else None for r in runs}
    bolds = {bool(r.font.bold) for r in runs}
    italics = {bool(r.font.italic) for r in runs}
    assert len(sizes) == len(bolds) == len(italics) == 1, p.text
    return p.text, sizes.pop(), bolds.pop(), italics.pop()


def texts(cell_or_doc: object) -> list[Paragraph]:
    return [p for p in cell_or_doc.paragraphs if p.text]  # type: ignore[attr-defined]


def has_rule(p: Paragraph) -> bool:
    borders = p._p.pPr.find(qn("w:pBdr")) if p._p.pPr is not None else None
    return borders is not None and borders.find(qn("w:bottom")) is not None


def body_paragraph(doc: DocxDocument, text: str) -> Paragraph:
    return next(p for p in doc.paragraphs if p.text.startswith(text))


def test_a4_portrait_with_the_decrees_margins(doc: DocxDocument) -> None:
    section = doc.sections[0]
    mm = {
        "width": section.page_width.mm,
        "height": section.page_height.mm,
        "top": section.top_margin.mm,
        "bottom": section.bottom_margin.mm,
        "left": section.left_margin.mm,
        "right": section.right_margin.mm,
    }
    assert mm["width"] == pytest.approx(210, abs=0.1)
    assert mm["height"] == pytest.approx(297, abs=0.1)
    # Word stores twentieths of a point: allow its rounding (15 mm is stored as 14,99 mm).
    for name, (low, high) in {
        "top": (20, 25),
        "bottom": (20, 25),
        "left": (30, 35),
        "right": (15, 20),
    }.items():
        assert low - 0.01 <= mm[name] <= high + 0.01, name
    normal = doc.styles["Normal"]
    assert normal.font.name == FONT and normal.font.size == Pt(14)
    fonts = normal.element.rPr.find(qn("w:rFonts"))
    assert fonts.get(qn("w:eastAsia")) == FONT and fonts.get(qn("w:cs")) == FONT


def test_header_blocks_in_a_borderless_two_column_table(doc: DocxDocument) -> None:
    header: Table = doc.tables[0]
    assert len(header.columns) == 2 and len(header.rows) == 2
    borders = header._tbl.tblPr.find(qn("w:tblBorders"))
    assert {b.get(qn("w:val")) for b in borders} == {"nil"}
    agency = texts(header.cell(0, 0))
    assert [style(p) for p in agency] == [
        ("ỦY BAN NHÂN DÂN", 13, True, False),
        ("HUYỆN CAO LỘC", 13, True, False),
    ]
    assert has_rule(header.cell(0, 0).paragraphs[-1])
    national = texts(header.cell(0, 1))
    assert [style(p) for p in national] == [
        ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", 12, True, False),
        ("Độc lập - Tự do - Hạnh phúc", 13, True, False),
    ]
    assert has_rule(header.cell(0, 1).paragraphs[-1])
    assert [style(p) for p in texts(header.cell(1, 0))] == [("Số: 05/BC-UBND", 13, False, False)]
    assert [style(p) for p in texts(header.cell(1, 1))] == [
        ("Cao Lộc, ngày 20 tháng 3 năm 2024", 14, False, True)
    ]
    assert all(p.alignment == WD_ALIGN_PARAGRAPH.CENTER for p in agency + national)


def test_title_summary_and_numbered_sections(doc: DocxDocument, rendered_q1_report: Report) -> None:
    title = body_paragraph(doc, "BÁO CÁO")
    assert style(title) == ("BÁO CÁO", 14, True, False)
    assert title.alignment == WD_ALIGN_PARAGRAPH.CENTER
    summary = body_paragraph(doc, "Kết quả triển khai")
    assert style(summary) == (rendered_q1_report.summary, 14, True, False)
    assert summary.alignment == WD_ALIGN_PARAGRAPH.CENTER
    opening = body_paragraph(doc, "Thực hiện Kế hoạch")
    assert style(opening)[1:] == (14, False, False)
    assert opening.alignment == WD_ALIGN_PARAGRAPH.JUSTIFY
    assert opening.paragraph_format.first_line_indent.cm == pytest.approx(1.27, abs=0.01)
    assert style(body_paragraph(doc, "I. ")) == ("I. KẾT QUẢ THỰC HIỆN", 14, True, False)
    assert style(body_paragraph(doc, "II. "))[1:] == (14, True, False)
    assert style(body_paragraph(doc, "1. Kết quả thực hiện các chỉ tiêu"))[1:] == (14, True, False)
    assert style(body_paragraph(doc, "a) Nhiệm vụ 1: "))[1:] == (14, False, True)
    placeholder = body_paragraph(doc, "(Chưa có nội dung")
    assert style(placeholder)[1:] == (14, False, True)
    order = [p.text.split(" ")[0] for p in doc.paragraphs if p.text[:3] in ("I. ", "II.", "III")]
    assert order == ["I.", "II.", "III."]


def test_the_indicator_table_rows(doc: DocxDocument, rendered_q1_report: Report) -> None:
    table = doc.tables[1]
    assert table.style.name == "Table Grid"
    assert tuple(c.text for c in table.rows[0].cells) == INDICATOR_HEADERS
    assert table.rows[0]._tr.trPr.find(qn("w:tblHeader")) is not None  # repeats on each page
    body = [tuple(c.text for c in row.cells) for row in table.rows[1:]]
    assert body == [
        (r.stt, r.name, r.unit_of_measure, r.goal, r.period, r.to_date, r.percent)
        for r in rendered_q1_report.indicator_rows
    ]
    jobs = next(row for row in body if row[1] == "Số lao động được tạo việc làm mới")
    assert jobs == ("2", jobs[1], "lao động", "≥ 1.300", "293", "293", "22,5%")
    assert all(
        r.font.size == Pt(12) and r.font.name == FONT
        for row in table.rows
        for c in row.cells
        for p in c.paragraphs
        for r in p.runs
    )
    assert len(doc.inline_shapes) == 1  # the progress chart
    assert doc.inline_shapes[0].width.mm == pytest.approx(150, abs=0.5)


def test_signature_block_and_distribution(doc: DocxDocument) -> None:
    signature = doc.tables[-1]
    assert signature._tbl.tblPr.find(qn("w:tblBorders")) is not None
    recipients = texts(signature.cell(0, 0))
    assert style(recipients[0]) == ("Nơi nhận:", 12, True, True)
    assert recipients[0].alignment == WD_ALIGN_PARAGRAPH.LEFT
    entries = [style(p) for p in recipients[1:]]
    assert {e[1:] for e in entries} == {(11, False, False)}
    assert entries[0][0] == "- UBND tỉnh;" and entries[-1][0] == "- Lưu: VT."
    signer = texts(signature.cell(0, 1))
    assert [style(p) for p in signer] == [
        ("KT. CHỦ TỊCH", 14, True, False),
        ("PHÓ CHỦ TỊCH", 14, True, False),
        ("Nguyễn Văn Thịnh", 14, True, False),
    ]
    # Room for the signature and seal between the title and the name.
    paragraphs = signature.cell(0, 1).paragraphs
    assert sum(1 for p in paragraphs if not p.text) >= 3


def test_unit_text_stays_plain_runs(doc: DocxDocument) -> None:
    hostile = body_paragraph(doc, "+ UBND thị trấn Cao Lộc")
    assert "<script>alert('x')</script> **đậm** [link](http://evil.example) =1+1 & chuông" in (
        hostile.text
    )
    assert hostile.text.endswith("\ndòng hai")  # the line break is a break, not a new paragraph
    xml = hostile._p.xml
    assert "&lt;script&gt;" in xml and "<script>" not in xml
    assert all(r.font.name == FONT for p in doc.paragraphs for r in p.runs if r.text)
