"""HTML, Markdown, JSON, XLSX and the chart: the same content, every unit's text escaped."""

from __future__ import annotations

import base64
import io
import json
import re
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from openpyxl import load_workbook
from PIL import Image

from reports.compile import ALL_FORMATS, Format, chart_png, parse_formats, render_all, write_files
from reports.document import INDICATOR_HEADERS, Report, ReportError
from reports.render_html import render_html
from reports.render_json import render_json
from reports.render_markdown import escape, render_markdown
from reports.render_xlsx import render_xlsx, sheet_title


class _Collect(HTMLParser):
    """Tags, the indicator table's cells and the image sources of an HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.rows: list[list[str]] = []
        self.images: list[str] = []
        self._in_table = False
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        a = dict(attrs)
        if tag == "table" and a.get("class") == "indicators":
            self._in_table = True
        elif tag == "tr" and self._in_table:
            self.rows.append([])
        elif tag in ("td", "th") and self._in_table:
            self._cell = []
        elif tag == "img":
            self.images.append(a.get("src") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._in_table = False
        elif tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def test_html_is_one_escaped_file_with_the_same_table_and_an_inline_chart(
    rendered_q1_report: Report,
) -> None:
    html = render_html(rendered_q1_report, chart_png(rendered_q1_report)).decode("utf-8")
    page = _Collect()
    page.feed(html)
    assert "script" not in page.tags  # the unit's <script> stays text
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert page.rows[0] == list(INDICATOR_HEADERS)
    assert page.rows[1:] == [
        [r.stt, r.name, r.unit_of_measure, r.goal, r.period, r.to_date, r.percent]
        for r in rendered_q1_report.indicator_rows
    ]
    (src,) = page.images
    assert src.startswith("data:image/png;base64,")
    assert base64.b64decode(src.split(",", 1)[1]).startswith(b"\x89PNG")
    assert "@page { size: A4 portrait" in html
    assert "Số: 05/BC-UBND" in html and "KT. CHỦ TỊCH" in html and "- Lưu: VT." in html
    assert "(Chưa có nội dung — cán bộ tổng hợp bổ sung)" in html
    assert "dòng hai" in html and "<br>dòng hai" in html
    assert not re.search(r"src=\"(https?:)?//", html)  # nothing fetched from elsewhere


def test_markdown_escapes_unit_text(rendered_q1_report: Report) -> None:
    md = render_markdown(rendered_q1_report, "chart.png").decode("utf-8")
    assert "\\<script\\>" in md and "<script>" not in md
    assert "\\[link\\](http://evil.example)" in md and "\\*\\*đậm\\*\\*" in md
    assert (
        "| 2 | Số lao động được tạo việc làm mới | lao động | ≥ 1.300 | 293 | 293 | 22,5% |" in md
    )
    assert "![Biểu đồ tiến độ thực hiện các chỉ tiêu](chart.png)" in md
    assert "## I. KẾT QUẢ THỰC HIỆN" in md and "#### a) Nhiệm vụ 1:" in md
    assert escape("1. a | b\n- c") == "1\\. a \\| b  \n\\- c"


def test_json_carries_every_figure_by_unit(rendered_q1_report: Report) -> None:
    data = json.loads(render_json(rendered_q1_report))
    assert data["schema"] == "dondoc.report/1" and data["period"] == "2024-Q1"
    figures = {f["code"]: f for f in data["figures"]}
    jobs = figures["viec-lam-moi"]
    assert (jobs["period"], jobs["to_date"], jobs["on_track"]) == (293, 293, False)
    assert jobs["goal"] == {
        "comparator": ">=",
        "number": 1300,
        "upper": None,
        "baseline": None,
        "text": None,
    }
    assert sum(u["period"] for u in jobs["by_unit"]) == 293
    assert figures["ty-le-giam-ngheo"]["period"] == 0.85
    assert figures["ty-le-lao-dong-qua-dao-tao"]["period"] == pytest.approx(45600 * 100 / 69800)
    late = {(x["unit"], x["status"]) for x in data["late_or_missing"]}
    assert ("UBND xã Hòa Cư", "submitted_late") in late
    assert ("UBND xã Mẫu Sơn", "overdue") in late
    assert data["window"] == {"start": "2023-12-15", "end": "2024-03-14"}
    assert data["document"][2]["part"] == "I. KẾT QUẢ THỰC HIỆN"


def test_xlsx_form_and_a_sheet_per_obligation_with_totals(rendered_q1_report: Report) -> None:
    book = load_workbook(io.BytesIO(render_xlsx(rendered_q1_report)))
    assert book.sheetnames == [
        "Bieu tong hop",
        "bc-thang-tt-gdnn-gdtx",
        "bc-quy-ldtbxh",
        "bc-quy-xa-thi-tran",
        "bc-quy-phong-ban",
        "Doi chieu",
    ]  # plan order; the ad-hoc report had nothing due; then the department's reconciliation
    form = book["Bieu tong hop"]
    assert form["A1"].value == "ỦY BAN NHÂN DÂN" and form["A4"].value.startswith("BIỂU TỔNG HỢP")
    assert form["A1"].font.name == "Times New Roman" and form["A1"].font.b
    assert [c.value for c in form[8]] == list(INDICATOR_HEADERS)
    jobs = [c.value for c in form[10]]
    assert jobs[:4] == [2, "Số lao động được tạo việc làm mới", "lao động", "≥ 1.300"]
    assert jobs[4] == jobs[5] == 293 and jobs[6] == pytest.approx(293 / 1300)
    assert str(form.page_setup.paperSize) == form.PAPERSIZE_A4 == "9"  # A4

    communes = book["bc-quy-xa-thi-tran"]
    rows = list(communes.iter_rows(min_row=6, values_only=True))
    units, total = rows[:-1], rows[-1]
    assert len(units) == 22  # every commune, those that never reported too
    by_name = {r[1]: r for r in units}
    assert by_name["UBND xã Mẫu Sơn"][2:8] == (1, 0, 0, 1, 0, "-")
    assert by_name["UBND xã Mẫu Sơn"][8] == "-"
    assert by_name["UBND xã Hòa Cư"][2:8] == (1, 1, 1, 0, 0, "19/03/2024")
    assert by_name["UBND xã Gia Cát"][8] == 14  # the amended value
    assert total[1] == "Tổng cộng"
    assert total[8] == sum(r[8] for r in units if isinstance(r[8], (int, float))) == 225

    reconciliation = book["Doi chieu"]
    lines = list(reconciliation.iter_rows(min_row=5, values_only=True))
    jobs_q1 = next(r for r in lines if r[2] == "Số lao động được tạo việc làm mới")
    assert jobs_q1[1:] == (
        "Phòng Lao động, Thương binh, Xã hội - Dân tộc",
        "Số lao động được tạo việc làm mới",
        "lao động",
        "Thực hiện kỳ",
        293,
        261,
        21,
        32,
    )

    department = book["bc-quy-ldtbxh"]
    header = [c.value for c in department[4] if c.value]
    assert "Tỷ lệ lao động qua đào tạo (%)" in header
    (total_row,) = department.iter_rows(min_row=7, max_row=7, values_only=True)
    assert total_row[1] == "Tổng cộng"
    assert pytest.approx(45600 * 100 / 69800) in [v for v in total_row if isinstance(v, float)]


def test_xlsx_keeps_a_formula_looking_text_as_text(rendered_q1_report: Report) -> None:
    from dataclasses import replace

    from reports.document import ObligationSheet, SheetColumn, SheetRow

    sheet = ObligationSheet(
        code="x",
        title='=HYPERLINK("http://evil.example")',
        columns=(SheetColumn("t", "Ý kiến", ""),),
        rows=(SheetRow("u", "=1+1", 1, 1, 0, 0, None, ("=cmd|' /C calc'!A0",), (None,)),),
        total_period=(None,),
        total_to_date=(None,),
    )
    book = load_workbook(io.BytesIO(render_xlsx(replace(rendered_q1_report, sheets=(sheet,)))))
    ws = book["x"]
    assert ws["A1"].value == '=HYPERLINK("http://evil.example")' and ws["A1"].data_type == "s"
    assert ws["B6"].value == "=1+1" and ws["B6"].data_type == "s"
    assert ws["I6"].data_type == "s"


def test_sheet_names_are_valid_and_unique() -> None:
    taken: set[str] = set()
    assert sheet_title("a/b:c*d?[e]", taken) == "a-b-c-d--e-"
    long = "x" * 40
    assert sheet_title(long, taken) == "x" * 31
    assert sheet_title(long, taken) == "x" * 29 + "-2"


def test_chart_is_a_png_bar_per_goal(rendered_q1_report: Report) -> None:
    png = chart_png(rendered_q1_report)
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.width >= 1000
    assert [p.label for p in rendered_q1_report.chart] == [
        "Tỷ lệ giảm nghèo",
        "Số lao động được tạo việc làm mới",
        "Số lao động được mở lớp dạy nghề",
        "Tỷ lệ lao động qua đào tạo",
        "Tổ chức thành công Đại hội đại biểu các dân tộc thiểu số cấp huyện lần thứ IV năm 2024",
    ]
    jobs = rendered_q1_report.chart[1]
    assert Decimal(str(jobs.percent)).quantize(Decimal("0.1")) == Decimal("22.5")
    assert jobs.expected == 25


def test_every_format_is_written_whole(rendered_q1_report: Report, tmp_path: object) -> None:
    from pathlib import Path

    out = Path(str(tmp_path)) / "out"
    steps: list[str] = []
    paths = write_files(render_all(rendered_q1_report, ALL_FORMATS, steps.append), out)
    assert steps == ["biểu đồ", "docx", "xlsx", "html", "md", "json"]
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in paths)
    assert {p.suffix for p in paths} == {".png", ".docx", ".xlsx", ".html", ".md", ".json"}
    assert not list(out.glob(".*.tmp"))
    assert parse_formats(" DOCX, json,docx") == [Format.DOCX, Format.JSON]
    with pytest.raises(ReportError, match="không có định dạng pdf"):
        parse_formats("pdf")
