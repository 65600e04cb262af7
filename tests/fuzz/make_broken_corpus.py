"""Write the corpus of broken report files in tests/data/broken/ (run it to regenerate).

Every file is a way a real office's file goes wrong: cut off in transfer, saved in the wrong
encoding, edited by hand, produced by another tool, or hostile. They are built from the
monthly report template of the intake test plan (tests/intake/data/intake-plan.yaml: unit
xa-mot, obligation bao-cao-thang, period 2024-04), so the ones that can be read at all point
at a real, open item and fail on their content.

    .venv/bin/python tests/fuzz/make_broken_corpus.py
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import openpyxl

from plans.vocabulary import ItemKind, TargetKind
from submissions.content import FormSpec, TargetSpec
from submissions.spreadsheet import TemplateHeader, csv_template
from submissions.spreadsheet import xlsx_template as _xlsx_template
from submissions.workbook import MAX_ROWS, MAX_UNZIPPED_BYTES

CORPUS = Path(__file__).parents[1] / "data" / "broken"

SPEC = FormSpec(
    kind=ItemKind.REPORT,
    targets=(
        TargetSpec(1, "viec-lam", "Tạo việc làm mới", TargetKind.COUNT, "lao động", True),
        TargetSpec(2, "ty-le", "Tỷ lệ lao động qua đào tạo", TargetKind.PERCENT, "%", True),
        TargetSpec(3, "dai-hoi", "Tổ chức đại hội", TargetKind.YES_NO, None, False),
        TargetSpec(4, "ghi-chu", "Mô hình điểm", TargetKind.TEXT, None, False),
    ),
    sections=("Kết quả thực hiện", "Khó khăn, vướng mắc", "Đề xuất, kiến nghị"),
)
HEADER = TemplateHeader("bao-cao-thang", "Báo cáo tháng", ItemKind.REPORT, "xa-mot", "2024-04")
VALUES = {"viec-lam": "1.300", "ty-le": '"67,5"'}  # quoted: a comma is the decimal mark
NARRATIVE = "Đã tổ chức 3 lớp dạy nghề cho 105 lao động."


def _csv_lines(values: dict[str, str] | None = None) -> list[str]:
    """The filled CSV template as lines, as Excel's «CSV UTF-8» writes it."""
    values = VALUES if values is None else values
    lines = []
    for line in csv_template(HEADER, SPEC).decode("utf-8-sig").split("\r\n"):
        code = line.split(",", 1)[0]
        if code in values:
            line += values[code]
        elif code == "Kết quả thực hiện":
            line += NARRATIVE
        lines.append(line)
    return lines


def good_csv() -> str:
    return "\r\n".join(_csv_lines())


def _workbook() -> tuple[openpyxl.Workbook, dict[str, int]]:
    wb = openpyxl.load_workbook(io.BytesIO(_xlsx_template(HEADER, SPEC)))
    ws = wb["Báo cáo"]
    rows = {str(ws.cell(r, 1).value): r for r in range(1, ws.max_row + 1)}
    ws.cell(rows["viec-lam"], 6).value = 1300
    ws.cell(rows["ty-le"], 6).value = 67.5
    ws.cell(rows["Kết quả thực hiện"], 2).value = NARRATIVE
    return wb, rows


def _saved(wb: openpyxl.Workbook) -> bytes:
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def good_xlsx() -> bytes:
    return _saved(_workbook()[0])


def _repacked(data: bytes, parts: dict[str, bytes]) -> bytes:
    """The archive with some parts replaced or added."""
    parts = dict(parts)
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info, parts.pop(info.filename, source.read(info)))
        for name, part in parts.items():
            target.writestr(name, part)
    return out.getvalue()


def corpus() -> dict[str, bytes]:
    """File name -> bytes of every broken file."""
    files: dict[str, bytes] = {}
    good = good_csv()
    # --- CSV -----------------------------------------------------------------------------
    files["empty.csv"] = b""
    files["bom-only.csv"] = b"\xef\xbb\xbf"
    files["blank-lines.csv"] = b"\r\n\r\n;;;\r\n"
    files["double-bom.csv"] = ("\ufeff\ufeff" + good).encode("utf-8")
    files["windows-1258.csv"] = good.encode("cp1258", errors="replace")
    files["utf-16.csv"] = good.encode("utf-16")
    files["nul-bytes.csv"] = ("\ufeff" + good).encode("utf-8").replace(b"1.300", b"1\x00300")
    files["formula.csv"] = ("\ufeff" + good.replace("1.300", "=1000+300")).encode("utf-8")
    files["huge-cell.csv"] = ("\ufeff" + good.replace(NARRATIVE, "Rất dài. " * 3_000)).encode()
    # "67,5" typed by hand without quotes: the comma splits the cell into 67 | 5.
    files["extra-columns.csv"] = (
        "\ufeff" + "\r\n".join(_csv_lines({"viec-lam": "1.300", "ty-le": "67,5"}))
    ).encode("utf-8")
    files["too-many-rows.csv"] = ("\ufeff" + good + "\r\n,x" * (MAX_ROWS + 1)).encode("utf-8")
    files["not-a-template.csv"] = "Họ và tên,Số điện thoại\r\nNguyễn Văn A,0912345678\r\n".encode()
    files["png-renamed.csv"] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))
    # --- XLSX ----------------------------------------------------------------------------
    xlsx = good_xlsx()
    files["empty.xlsx"] = b""
    files["truncated.xlsx"] = xlsx[: len(xlsx) // 2]
    files["not-a-zip.xlsx"] = good.encode("utf-8")
    files["zip-bomb.xlsx"] = _repacked(
        xlsx, {"xl/media/padding.bin": b"\0" * (MAX_UNZIPPED_BYTES + 1)}
    )
    files["macro-enabled.xlsm"] = xlsx
    files["vba-inside.xlsx"] = _repacked(xlsx, {"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0 VBA"})
    types = zipfile.ZipFile(io.BytesIO(xlsx)).read("[Content_Types].xml")
    files["macro-content-type.xlsx"] = _repacked(
        xlsx,
        {
            "[Content_Types].xml": types.replace(
                b"spreadsheetml.sheet.main+xml", b"sheet.macroEnabled.main+xml"
            )
        },
    )
    files["old-excel.xls"] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504
    files["encrypted.xlsx"] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504
    files["broken-workbook-xml.xlsx"] = _repacked(xlsx, {"xl/workbook.xml": b"<workbook"})
    docx = io.BytesIO()
    with zipfile.ZipFile(docx, "w") as archive:
        archive.writestr("[Content_Types].xml", b"<Types/>")
        archive.writestr("word/document.xml", "<w:document>Báo cáo</w:document>".encode())
    files["docx-renamed.xlsx"] = docx.getvalue()
    wb, rows = _workbook()
    wb["Báo cáo"].cell(rows["viec-lam"], 6).value = "=1000+300"  # no cached value
    files["formula.xlsx"] = _saved(wb)
    wb, rows = _workbook()
    head = rows["Mã chỉ tiêu"]
    wb["Báo cáo"].merge_cells(start_row=head, start_column=1, end_row=head, end_column=6)
    files["merged-headers.xlsx"] = _saved(wb)
    wb, rows = _workbook()
    wb["Báo cáo"].cell(rows["Kết quả thực hiện"], 2).value = "Rất dài. " * 3_500
    files["huge-cell.xlsx"] = _saved(wb)
    wb, rows = _workbook()
    wb["Báo cáo"].cell(head, 7).value = "Ghi chú thêm"
    wb["Báo cáo"].cell(rows["viec-lam"], 7).value = 1500  # which figure counts?
    files["extra-columns.xlsx"] = _saved(wb)
    other = openpyxl.Workbook()
    other.active.append(["Họ và tên", "Số điện thoại"])  # type: ignore[union-attr]
    files["not-a-template.xlsx"] = _saved(other)
    # --- other ---------------------------------------------------------------------------
    files["truncated.json"] = b'{"values": {"viec-lam": 13'
    files["array.json"] = b'[{"values": {"viec-lam": 1300}}]'
    files["report.pdf"] = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
    files["report.ods"] = b"PK\x03\x04 an OpenDocument spreadsheet"
    files.update(_hostile_json())
    files.update(_odd_characters(good))
    files.update(_hostile_xlsx(xlsx))
    return files


def _json(
    narrative: str = f'"Kết quả thực hiện": "{NARRATIVE}"',
    values: str = '{"viec-lam": 1300, "ty-le": 67.5}',
) -> bytes:
    return (
        '{"unit": "xa-mot", "obligation": "bao-cao-thang", "period": "2024-04", '
        f'"values": {values}, "narrative": {{{narrative}}}}}'
    ).encode()


def _hostile_json() -> dict[str, bytes]:
    """JSON that json.loads turns into crashes further on, or silently keeps half of."""
    return {
        # "\ud800" is a valid JSON escape of half a UTF-16 pair: no encoding can store it.
        "lone-surrogate.json": _json('"Kết quả thực hiện": "Đã làm \\ud800"'),
        "deep.json": b'{"values": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        "long-number.json": _json(values='{"viec-lam": ' + "9" * 5_000 + "}"),
        "not-utf8.json": _json().decode().encode("cp1258", "replace"),
        "duplicate-key.json": _json(values='{"viec-lam": 1300, "viec-lam": 13, "ty-le": 67.5}'),
        "title-and-code.json": _json(
            f'"Kết quả thực hiện": "{NARRATIVE}", "ket-qua-thuc-hien": "Đã làm."'
        ),
    }


def _odd_characters(good: str) -> dict[str, bytes]:
    """Characters that look like something else, and rows given twice."""

    def csv(text: str) -> bytes:
        return ("\ufeff" + text).encode("utf-8")

    period = "Kỳ báo cáo,2024-04"
    section = f"Kết quả thực hiện,{NARRATIVE}"
    return {
        "c1-control.csv": csv(good.replace(NARRATIVE, "Đã tổ chức\x85 3 lớp")),
        "rtl-override.csv": csv(good.replace(NARRATIVE, "Đã tổ chức \u202e3 lớp")),
        "arabic-digits.csv": csv(good.replace("1.300", "١٣٠٠")),
        # Q4 then Q2 in the quarterly form: which period is it filed under?
        "two-periods.csv": csv(good.replace(period, f"{period}\r\nKỳ báo cáo,2024-03")),
        "two-sections.csv": csv(good.replace(section, f"{section}\r\nKết quả thực hiện,Khác.")),
    }


def _patched(data: bytes, name: bytes, field: str, value: int) -> bytes:
    """The archive with one header field of entry `name` changed, in the local header and in
    the central directory: "flags" (bit 0: encrypted) or "method" (of compression)."""
    local, central = {"flags": (6, 8), "method": (8, 10)}[field]
    out = bytearray(data)
    for signature, offset in ((b"PK\x03\x04", local), (b"PK\x01\x02", central)):
        at = out.find(signature)
        while at >= 0:
            name_at = at + (30 if signature == b"PK\x03\x04" else 46)
            if out[name_at : name_at + len(name)] == name:
                out[at + offset : at + offset + 2] = value.to_bytes(2, "little")
            at = out.find(signature, at + 4)
    return bytes(out)


def _hostile_xlsx(xlsx: bytes) -> dict[str, bytes]:
    """Workbooks that cost a reader far more than their size, and zip anomalies."""
    files: dict[str, bytes] = {}
    row = "<c/>" * 200
    sheet = (
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<dimension ref="A1:XFD2000"/><sheetData>'
        + "".join(f'<row r="{n}">{row}</row>' for n in range(1, 2_001))
        + "</sheetData></worksheet>"
    )
    # 400,000 empty cells in about 20 KB.
    files["many-cells.xlsx"] = _repacked(xlsx, {"xl/worksheets/sheet1.xml": sheet.encode()})
    wb, rows = _workbook()
    wb["Báo cáo"].cell(rows["viec-lam"], 16_384).value = 1500  # XFD: the last column there is
    files["far-column.xlsx"] = _saved(wb)
    wb, rows = _workbook()
    wb["Báo cáo"].cell(rows["viec-lam"], 6).value = "１３００"  # full-width digits
    files["fullwidth-digits.xlsx"] = _saved(wb)
    source = zipfile.ZipFile(io.BytesIO(xlsx))
    renamed = io.BytesIO()
    with zipfile.ZipFile(renamed, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            name = info.filename.replace("[Content_Types]", "[content_types]")
            target.writestr(name, source.read(info))
    files["content-types-case.xlsx"] = renamed.getvalue()
    stored = io.BytesIO()
    with zipfile.ZipFile(stored, "w", zipfile.ZIP_STORED) as target:
        for info in source.infolist():
            target.writestr(info.filename, source.read(info))
    sheet_name = b"xl/worksheets/sheet1.xml"
    files["unknown-compression.xlsx"] = _patched(stored.getvalue(), sheet_name, "method", 99)
    files["encrypted-entry.xlsx"] = _patched(stored.getvalue(), sheet_name, "flags", 0x1)
    sheet_info = source.getinfo("xl/worksheets/sheet1.xml")
    start = sheet_info.header_offset + 30 + len(sheet_info.filename) + len(sheet_info.extra)
    middle = start + sheet_info.compress_size // 2
    corrupt = bytearray(xlsx)
    corrupt[middle : middle + 16] = b"\xff" * 16
    files["corrupt-deflate.xlsx"] = bytes(corrupt)
    return files


def main() -> None:
    CORPUS.mkdir(parents=True, exist_ok=True)
    for name, data in corpus().items():
        (CORPUS / name).write_bytes(data)
    print(f"wrote {len(corpus())} files to {CORPUS}")


if __name__ == "__main__":
    main()
