"""Templates per obligation and reading filled files back: XLSX, CSV, JSON, and hostile files."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date

import openpyxl
import pytest

from plans.vocabulary import ItemKind, TargetKind
from submissions.content import FormSpec, TargetSpec, check_submission
from submissions.errors import Invalid
from submissions.spreadsheet import (
    TemplateHeader,
    csv_template,
    read_upload,
    xlsx_template,
)
from submissions.workbook import MAX_COLUMNS, MAX_UNZIPPED_BYTES, xlsx_rows

SPEC = FormSpec(
    kind=ItemKind.REPORT,
    targets=(
        TargetSpec(1, "viec-lam", "Tạo việc làm mới", TargetKind.COUNT, "lao động", True),
        TargetSpec(2, "dai-hoi", "Tổ chức đại hội", TargetKind.YES_NO, None, False),
    ),
    sections=("Kết quả thực hiện",),
)
TODAY = date(2024, 4, 20)
HEADER = TemplateHeader("bao-cao-thang", "Báo cáo tháng", ItemKind.REPORT, "xa-mot", "2024-04")


def _refusal(name: str, data: bytes) -> tuple[str, str]:
    with pytest.raises(Invalid) as refused:
        read_upload(name, data)
    first = refused.value.fields[0]
    return first.field, first.code


def test_xlsx_template_round_trip() -> None:
    wb = openpyxl.load_workbook(io.BytesIO(xlsx_template(HEADER, SPEC)))
    assert wb.sheetnames == ["Báo cáo", "Hướng dẫn"]
    ws = wb["Báo cáo"]
    rows = {ws.cell(r, 1).value: r for r in range(1, ws.max_row + 1)}
    assert ws.cell(rows["Mã báo cáo"], 2).value == "bao-cao-thang"
    assert ws.cell(rows["viec-lam"], 4).value == "Số nguyên không âm"
    ws.cell(rows["viec-lam"], 6).value = 1300
    ws.cell(rows["dai-hoi"], 6).value = "Có"
    ws.cell(rows["Kết quả thực hiện"], 2).value = "Đạt kế hoạch."
    out = io.BytesIO()
    wb.save(out)
    parsed = read_upload("bc.xlsx", out.getvalue())
    assert (parsed.source, parsed.unit, parsed.period) == ("bao-cao-thang", "xa-mot", "2024-04")
    checked = check_submission(SPEC, parsed.raw, today=TODAY, max_attachment_bytes=1)
    assert {v.target.code: v.value.canonical() for v in checked.values} == {
        "viec-lam": "1300",
        "dai-hoi": True,
    }
    assert checked.narrative == {"Kết quả thực hiện": "Đạt kế hoạch."}


def test_csv_template_round_trip_keeps_vietnamese() -> None:
    data = csv_template(HEADER, SPEC)
    assert data.startswith("\ufeff".encode())  # Excel needs the BOM to read UTF-8
    assert "viec-lam,Tạo việc làm mới,lao động,Số nguyên không âm,Có," in data.decode("utf-8-sig")
    parsed = read_upload("bc.csv", data)
    assert list(parsed.raw.values) == ["viec-lam", "dai-hoi"]
    assert parsed.raw.where["values.viec-lam"] == "dòng 7, cột 6"


def test_deliverable_template_has_progress_rows() -> None:
    header = TemplateHeader("ke-hoach-xa", "Kế hoạch", ItemKind.DELIVERABLE, "xa-mot")
    data = csv_template(header, FormSpec(kind=ItemKind.DELIVERABLE)).decode("utf-8-sig")
    assert "Tình trạng," in data and "Kỳ báo cáo" not in data
    filled = data.replace("Tình trạng,", "Tình trạng,Hoàn thành").encode()
    parsed = read_upload("kh.csv", filled)
    assert parsed.raw.progress == {"state": "Hoàn thành", "note": "", "on": ""}


def _xlsx_with(parts: dict[str, bytes], workbook: bytes | None = None) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(workbook or xlsx_template(HEADER, SPEC)))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info, parts.pop(info.filename, source.read(info)))
        for name, data in parts.items():
            target.writestr(name, data)
    return out.getvalue()


def test_hostile_and_broken_files_are_refused() -> None:
    template = xlsx_template(HEADER, SPEC)
    assert _refusal("bc.xlsm", template) == ("file", "macro_enabled")
    assert _refusal("bc.XLSM", template) == ("file", "macro_enabled")
    assert _refusal("bc.xlsx", _xlsx_with({"xl/vbaProject.bin": b"vba"})) == (
        "file",
        "macro_enabled",
    )
    types = zipfile.ZipFile(io.BytesIO(template)).read("[Content_Types].xml")
    macro_types = types.replace(b"spreadsheetml.sheet.main+xml", b"sheet.macroEnabled.main+xml")
    assert _refusal("bc.xlsx", _xlsx_with({"[Content_Types].xml": macro_types})) == (
        "file",
        "macro_enabled",
    )
    assert _refusal("bc.xls", template) == ("file", "unsupported_format")
    assert _refusal("bc.xlsx", b"\xd0\xcf\x11\xe0" + b"\0" * 100) == (
        "file",
        "unsupported_format",
    )
    assert _refusal("bc.xlsx", b"not a zip") == ("file", "malformed")
    assert _refusal("bc.xlsx", template[: len(template) // 2]) == ("file", "malformed")
    assert _refusal("bc.xlsx", _xlsx_with({"xl/workbook.xml": b"<broken"})) == (
        "file",
        "malformed",
    )
    assert _refusal("bc.xlsx", b"") == ("file", "empty_file")
    assert _refusal("bc.pdf", b"%PDF") == ("file", "unsupported_format")
    assert _refusal("bc.json", b"[1, 2]") == ("file", "malformed")
    assert _refusal("bc.csv", b"\xff\xfe\x00b\x00a") == ("file", "not_utf8")


def test_a_zip_bomb_is_refused_before_it_is_unpacked() -> None:
    bomb = _xlsx_with({"xl/media/padding.bin": b"\0" * (MAX_UNZIPPED_BYTES + 1)})
    assert len(bomb) < 1024 * 1024  # small on the wire
    assert _refusal("bc.xlsx", bomb) == ("file", "malformed")


def test_json_files_refuse_unknown_fields() -> None:
    with pytest.raises(Invalid) as refused:
        read_upload("bc.json", b'{"values": {}, "nguoi_gui": "Lan", "unit": 5}')
    assert {(f.field, f.code) for f in refused.value.fields} == {
        ("nguoi_gui", "unknown_field"),
        ("unit", "not_text"),
    }


def test_rows_outside_the_template_are_named_by_line() -> None:
    data = "MẪU BÁO CÁO DONDOC\r\nMã báo cáo,bao-cao-thang\r\nNgười lập,Lan\r\n".encode()
    with pytest.raises(Invalid) as refused:
        read_upload("bc.csv", data)
    (problem,) = refused.value.fields
    assert (problem.code, problem.where) == ("unknown_field", "dòng 3, cột 1")


PERCENT_SPEC = FormSpec(
    kind=ItemKind.REPORT,
    targets=(
        TargetSpec(1, "viec-lam", "Tạo việc làm mới", TargetKind.COUNT, "lao động", True),
        TargetSpec(2, "ty-le", "Tỷ lệ qua đào tạo", TargetKind.PERCENT, "%", True),
        TargetSpec(3, "ghi-chu", "Mô hình điểm", TargetKind.TEXT, None, False),
    ),
)


def _filled(cells: dict[str, tuple[object, str]]) -> bytes:
    """The percent form's template with values typed in, each with its number format."""
    wb = openpyxl.load_workbook(io.BytesIO(xlsx_template(HEADER, PERCENT_SPEC)))
    ws = wb["Báo cáo"]
    rows = {ws.cell(r, 1).value: r for r in range(1, ws.max_row + 1)}
    for code, (value, number_format) in cells.items():
        cell = ws.cell(rows[code], 6)
        cell.value = value
        cell.number_format = number_format
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


@pytest.mark.parametrize(
    ("cell", "stored"),
    [
        ((0.675, "0.0%"), "67.5"),  # typed «67,5%»: Excel keeps 0.675
        ((0.675, "0%"), "67.5"),  # shown rounded, stored as typed
        ((1, "0%"), "100"),
        ((25 / 37, "0.00%"), "67.567568"),  # computed by Excel: rounded, not refused
        ((67.5, "General"), "67.5"),  # typed «67,5» in a plain cell
        ((67.5, '0.0"%"'), "67.5"),  # a literal "%" in the format does not scale
        ((67.5, "0.0\\%"), "67.5"),
    ],
)
def test_percent_cells_are_read_by_their_number_format(
    cell: tuple[object, str], stored: str
) -> None:
    parsed = read_upload("bc.xlsx", _filled({"viec-lam": (1300, "General"), "ty-le": cell}))
    checked = check_submission(PERCENT_SPEC, parsed.raw, today=TODAY, max_attachment_bytes=1)
    assert {v.target.code: v.value.canonical() for v in checked.values}["ty-le"] == stored


def test_computed_figures_are_rounded_to_what_is_stored() -> None:
    # 0.1 + 0.2 in a spreadsheet formula is 0.30000000000000004 in the file.
    data = _filled(
        {
            "viec-lam": (1000.0000000000001, "General"),
            "ty-le": (0.1 + 0.2, "General"),
            "ghi-chu": (0.675, "0.0%"),
        }
    )
    parsed = read_upload("bc.xlsx", data)
    checked = check_submission(PERCENT_SPEC, parsed.raw, today=TODAY, max_attachment_bytes=1)
    assert {v.target.code: v.value.canonical() for v in checked.values} == {
        "viec-lam": "1000",
        "ty-le": "0.3",
        "ghi-chu": "67,5%",  # a text target keeps what the cell shows
    }


def test_a_percent_cell_for_a_count_is_refused_naming_the_cell() -> None:
    parsed = read_upload("bc.xlsx", _filled({"viec-lam": (0.5, "0%"), "ty-le": (50, "General")}))
    with pytest.raises(Invalid) as refused:
        check_submission(PERCENT_SPEC, parsed.raw, today=TODAY, max_attachment_bytes=1)
    (problem,) = refused.value.fields
    assert (problem.field, problem.code, problem.where) == (
        "values.viec-lam",
        "percent_cell",
        "ô F7",
    )


def test_a_claimed_dimension_is_not_trusted() -> None:
    """A sheet claiming 16,384 columns and a million rows is read only as far as it goes."""
    data = _filled({"viec-lam": (1300, "General"), "ty-le": (67.5, "General")})
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml")
    claimed = re.sub(rb'<dimension ref="[^"]+"/>', b'<dimension ref="A1:XFD1048576"/>', sheet)
    assert claimed != sheet
    rows = xlsx_rows(_xlsx_with({"xl/worksheets/sheet1.xml": claimed}, data))
    assert max(len(cells) for _, cells in rows) <= MAX_COLUMNS
    assert len(rows) < 20  # the rows that exist, not a million padded ones


@pytest.mark.parametrize(
    ("row", "field", "cells"),
    [
        ("Kỳ báo cáo,2024-03", "period", "(dòng 4, cột 2 và dòng 5, cột 2)"),
        ("viec-lam,,,,,12", "values.viec-lam", "(dòng 7, cột 6 và dòng 8, cột 6)"),
    ],
)
def test_a_row_given_twice_is_refused_naming_both_cells(row: str, field: str, cells: str) -> None:
    lines = csv_template(HEADER, SPEC).decode("utf-8-sig").split("\r\n")
    at = next(i for i, line in enumerate(lines) if line.startswith(row.split(",")[0])) + 1
    lines.insert(at, row)
    with pytest.raises(Invalid) as refused:
        read_upload("bc.csv", "\r\n".join(lines).encode())
    (problem,) = refused.value.fields
    assert (problem.field, problem.code) == (field, "duplicate")
    assert cells in problem.message
