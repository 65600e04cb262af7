"""The report as a workbook: the indicator table as a report form, then a sheet per obligation."""

from __future__ import annotations

import io
import re
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from reports.document import INDICATOR_HEADERS, NO_DATA, ObligationSheet, Report
from reports.figures import Value
from wording import vietnamese as vi

FONT = "Times New Roman"
THIN = Side(style="thin", color="000000")
GRID = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
LEFT = Alignment(horizontal="left", vertical="center", wrap_text=True)
NUMBER_FORMAT = "#,##0.##"  # at most two decimals; a whole number gets INTEGER_FORMAT
# "#,##0.##" shows a whole number with a trailing separator ("1.735,"): no decimals for it.
INTEGER_FORMAT = "#,##0"
PERCENT_FORMAT = "0.0%"
_SHEET_NAME_BAD = re.compile(r"[\[\]:*?/\\]")


def _put(
    ws: Worksheet,
    row: int,
    column: int,
    value: Any,
    *,
    bold: bool = False,
    italic: bool = False,
    size: int = 12,
    align: Alignment = CENTER,
    border: bool = False,
    number_format: str | None = None,
) -> Cell:
    cell = ws.cell(row=row, column=column)
    cell.value = value
    if isinstance(value, str):
        # A unit's text that starts with "=" is text, never a formula run on the reader's machine.
        cell.data_type = "s"
    cell.font = Font(name=FONT, size=size, bold=bold, italic=italic)
    cell.alignment = align
    if border:
        cell.border = GRID
    if number_format == NUMBER_FORMAT and isinstance(value, int | float) and value == int(value):
        number_format = INTEGER_FORMAT
    if number_format:
        cell.number_format = number_format
    return cell


def _merge(ws: Worksheet, row: int, first: int, last: int, value: Any, **style: Any) -> None:
    _put(ws, row, first, value, **style)
    if last > first:
        ws.merge_cells(start_row=row, start_column=first, end_row=row, end_column=last)


def _cell_value(value: Value) -> Any:
    if value is None:
        return NO_DATA
    if isinstance(value, bool):
        return "Đã thực hiện" if value else "Chưa thực hiện"
    if isinstance(value, Decimal):
        return float(value)
    return value


def _page(ws: Worksheet, landscape: bool) -> None:
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True


def _form_header(ws: Worksheet, report: Report, width: int) -> None:
    left = max(width // 2 - 1, 1)
    # Rows 1-3 are free above the form's title: the governing body (not bold), then the agency.
    lines = [(report.governing_body, False)] if report.governing_body else []
    lines += [(line, True) for line in report.agency_lines]
    for i, (line, bold) in enumerate(lines[:3], start=1):
        _merge(ws, i, 1, left, line, bold=bold)
    _merge(ws, 1, left + 1, width, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", bold=True)
    _merge(ws, 2, left + 1, width, "Độc lập - Tự do - Hạnh phúc", bold=True)


def _indicator_sheet(ws: Worksheet, report: Report) -> None:
    width = len(INDICATOR_HEADERS)
    _form_header(ws, report, width)
    _merge(ws, 4, 1, width, "BIỂU TỔNG HỢP KẾT QUẢ THỰC HIỆN CÁC CHỈ TIÊU", bold=True, size=13)
    _merge(
        ws,
        5,
        1,
        width,
        f"(Kèm theo báo cáo {report.summary[0].lower()}{report.summary[1:]})",
        italic=True,
    )
    start, end = report.window
    _merge(
        ws,
        6,
        1,
        width,
        f"Số liệu từ ngày {vi.date_short(start)} đến ngày {vi.date_short(end)}; tổng hợp lúc "
        f"{vi.time_and_date(report.as_of)}",
        italic=True,
    )
    header_row = 8
    for column, title in enumerate(INDICATOR_HEADERS, start=1):
        _put(ws, header_row, column, title, bold=True, border=True)
    for i, r in enumerate(report.indicator_rows, start=header_row + 1):
        _put(ws, i, 1, int(r.stt), border=True)
        _put(ws, i, 2, r.name, align=LEFT, border=True)
        _put(ws, i, 3, r.unit_of_measure, border=True)
        _put(ws, i, 4, r.goal, border=True)
        _put(ws, i, 5, _cell_value(r.period_value), border=True, number_format=NUMBER_FORMAT)
        _put(ws, i, 6, _cell_value(r.to_date_value), border=True, number_format=NUMBER_FORMAT)
        # A ceiling's standing is words ("Vượt ngưỡng, không đạt"), not a share to fill.
        percent = float(r.percent_value) / 100 if r.percent_value is not None else r.percent
        _put(
            ws, i, 7, None if percent == "" else percent, border=True, number_format=PERCENT_FORMAT
        )
    note_row = header_row + len(report.indicator_rows) + 2
    _merge(
        ws,
        note_row,
        1,
        width,
        f'Ghi chú: "{NO_DATA}" là chưa có số liệu; "% so KH" là lũy kế so với kế hoạch năm.',
        italic=True,
        align=LEFT,
    )
    for column, w in enumerate((6, 46, 12, 14, 14, 14, 11), start=1):
        ws.column_dimensions[get_column_letter(column)].width = w
    ws.freeze_panes = ws.cell(row=header_row + 1, column=1)
    ws.print_title_rows = f"{header_row}:{header_row}"
    _page(ws, landscape=False)


def sheet_title(code: str, taken: set[str]) -> str:
    """An Excel sheet name (≤ 31 characters, none of []:*?/\\), unique in the workbook."""
    base = _SHEET_NAME_BAD.sub("-", code)[:31] or "sheet"
    title, n = base, 2
    while title.lower() in taken:
        suffix = f"-{n}"
        title, n = base[: 31 - len(suffix)] + suffix, n + 1
    taken.add(title.lower())
    return title


def _obligation_sheet(ws: Worksheet, report: Report, sheet: ObligationSheet) -> None:
    fixed = (
        "STT",
        "Đơn vị",
        "Báo cáo phải gửi",
        "Đã nhận",
        "Gửi muộn",
        "Chưa gửi (quá hạn)",
        "Chưa đến hạn",
        "Ngày nhận",
    )
    received_column = fixed.index("Ngày nhận") + 1
    width = len(fixed) + 2 * len(sheet.columns)
    _merge(ws, 1, 1, width, sheet.title, bold=True, size=13)
    start, end = report.window
    _merge(
        ws,
        2,
        1,
        width,
        f"Kỳ báo cáo: {report.period_title}; số liệu từ ngày {vi.date_short(start)} đến ngày "
        f"{vi.date_short(end)}; tổng hợp lúc {vi.time_and_date(report.as_of)}",
        italic=True,
    )
    top, sub = 4, 5
    for column, title in enumerate(fixed, start=1):
        _put(ws, top, column, title, bold=True, border=True)
        _put(ws, sub, column, None, border=True)
        ws.merge_cells(start_row=top, start_column=column, end_row=sub, end_column=column)
    for i, col in enumerate(sheet.columns):
        first = len(fixed) + 1 + 2 * i
        name = f"{col.name} ({col.unit_of_measure})" if col.unit_of_measure else col.name
        _put(ws, top, first, name, bold=True, border=True)
        _put(ws, top, first + 1, None, border=True)
        ws.merge_cells(start_row=top, start_column=first, end_row=top, end_column=first + 1)
        _put(ws, sub, first, "Thực hiện kỳ", bold=True, border=True)
        _put(ws, sub, first + 1, "Lũy kế", bold=True, border=True)
    row = sub
    for n, r in enumerate(sheet.rows, start=1):
        row = sub + n
        counts = (r.expected, r.received, r.late, r.missing, r.pending)
        _put(ws, row, 1, n, border=True)
        _put(ws, row, 2, r.unit_name, align=LEFT, border=True)
        for j, value in enumerate(counts, start=3):
            _put(ws, row, j, value, border=True)
        received_on = vi.date_short(r.last_received) if r.last_received else None
        not_due = "Chưa đến hạn" if r.pending else NO_DATA
        _put(ws, row, received_column, received_on or not_due, border=True)
        computed = r.period_computed or (None,) * len(r.period)
        for i, (p, t, c) in enumerate(zip(r.period, r.to_date, computed, strict=True)):
            first = len(fixed) + 1 + 2 * i
            cell = _put(ws, row, first, _cell_value(p), border=True, number_format=NUMBER_FORMAT)
            if isinstance(c, Decimal) and isinstance(p, Decimal):
                # What the unit typed stays in the cell; what its parts give goes beside it.
                cell.comment = Comment(f"Tính từ số liệu thành phần: {vi.number(c, 2)}", "dondoc")
            _put(ws, row, first + 1, _cell_value(t), border=True, number_format=NUMBER_FORMAT)
    total = row + 1
    _put(ws, total, 1, None, border=True)
    _put(ws, total, 2, "Tổng cộng", bold=True, align=LEFT, border=True)
    sums = (
        sum(r.expected for r in sheet.rows),
        sum(r.received for r in sheet.rows),
        sum(r.late for r in sheet.rows),
        sum(r.missing for r in sheet.rows),
        sum(r.pending for r in sheet.rows),
    )
    for j, value in enumerate(sums, start=3):
        _put(ws, total, j, value, bold=True, border=True)
    _put(ws, total, received_column, None, border=True)
    for i, (p, t) in enumerate(zip(sheet.total_period, sheet.total_to_date, strict=True)):
        first = len(fixed) + 1 + 2 * i
        _put(ws, total, first, _cell_value(p), bold=True, border=True, number_format=NUMBER_FORMAT)
        _put(
            ws,
            total,
            first + 1,
            _cell_value(t),
            bold=True,
            border=True,
            number_format=NUMBER_FORMAT,
        )
    widths = (6, 40, 11, 10, 10, 10, 10, 13) + (14,) * (2 * len(sheet.columns))
    for column, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(column)].width = w
    ws.freeze_panes = ws.cell(row=sub + 1, column=3)
    _page(ws, landscape=len(sheet.columns) > 1)


RECONCILIATION_HEADERS = (
    "STT",
    "Đơn vị tổng hợp",
    "Chỉ tiêu",
    "ĐVT",
    "Số liệu",
    "Đơn vị tổng hợp báo cáo",
    "Tổng hợp từ báo cáo gửi về đơn vị",
    "Số đơn vị gửi",
    "Chênh lệch",
)
WINDOW_VI = {"period": "Thực hiện kỳ", "to_date": "Lũy kế"}


def _reconciliation_sheet(ws: Worksheet, report: Report) -> None:
    """Each consolidating unit's own figure beside the roll-up of the reports it received."""
    width = len(RECONCILIATION_HEADERS)
    _merge(ws, 1, 1, width, "ĐỐI CHIẾU SỐ LIỆU TỔNG HỢP THEO CẤP", bold=True, size=13)
    _merge(
        ws,
        2,
        1,
        width,
        "Báo cáo chung lấy số liệu của đơn vị tổng hợp; báo cáo các đơn vị gửi về đơn vị tổng "
        "hợp chỉ dùng để đối chiếu, không cộng thêm. Chênh lệch = số đơn vị tổng hợp báo cáo "
        "trừ tổng các báo cáo gửi về (kết quả của chính đơn vị, hoặc số liệu cần kiểm tra).",
        italic=True,
        align=LEFT,
    )
    ws.row_dimensions[2].height = 48
    header = 4
    for column, title in enumerate(RECONCILIATION_HEADERS, start=1):
        _put(ws, header, column, title, bold=True, border=True)
    for n, r in enumerate(report.reconciliation, start=1):
        row = header + n
        cells: tuple[Any, ...] = (
            n,
            r.unit_name,
            r.target.name,
            r.target.unit_of_measure or "",
            WINDOW_VI[r.window],
            _cell_value(r.reported) if r.reported is not None else "Chưa báo cáo",
            _cell_value(r.inputs),
            r.input_units,
            float(r.difference) if r.difference is not None else NO_DATA,
        )
        for column, value in enumerate(cells, start=1):
            align = LEFT if column in (2, 3) else CENTER
            _put(ws, row, column, value, border=True, align=align, number_format=NUMBER_FORMAT)
    for column, w in enumerate((6, 32, 36, 10, 13, 14, 16, 10, 12), start=1):
        ws.column_dimensions[get_column_letter(column)].width = w
    ws.freeze_panes = ws.cell(row=header + 1, column=1)
    _page(ws, landscape=True)


def render_xlsx(report: Report) -> bytes:
    workbook = Workbook()
    form = workbook.active
    assert form is not None
    taken: set[str] = set()
    form.title = sheet_title("Bieu tong hop", taken)
    _indicator_sheet(form, report)
    for sheet in report.sheets:
        _obligation_sheet(workbook.create_sheet(sheet_title(sheet.code, taken)), report, sheet)
    if report.reconciliation:
        _reconciliation_sheet(workbook.create_sheet(sheet_title("Doi chieu", taken)), report)
    workbook.properties.title = f"{report.title} {report.summary}"
    workbook.properties.creator = "dondoc"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
