"""Reading the cells of an uploaded XLSX with bounded work, whatever the file claims about itself.

A workbook is a zip of XML parts. A small file can hold millions of empty cells, or declare
(`<dimension ref="A1:XFD1048576">`) a size openpyxl pads every row to; either keeps a thread
busy for tens of seconds. So the zip is checked first, every XML part is scanned as a stream
(stopping at the first bound: elements, rows, columns, time), and only then does openpyxl read
the sheet, told explicitly how far to read rather than trusting the file's own dimension.
"""

from __future__ import annotations

import io
import re
import time
import zipfile
import zlib
from collections.abc import Iterator
from decimal import Decimal
from typing import IO, Any, cast
from xml.etree.ElementTree import Element, ParseError, XMLPullParser

from openpyxl import load_workbook
from openpyxl.utils import column_index_from_string, get_column_letter

from submissions.errors import FieldError, Invalid
from submissions.values import MAX_DECIMALS, PercentCell
from wording import vietnamese

SHEET = "Báo cáo"
# Far above any real report (the template fills 6 columns and a few dozen rows).
MAX_ROWS = 2_000
MAX_COLUMNS = 50
MAX_XML_ELEMENTS = 100_000
MAX_SECONDS = 5.0
MAX_ZIP_ENTRIES = 500
MAX_UNZIPPED_BYTES = 50 * 1024 * 1024
CONTENT_TYPES = "[Content_Types].xml"

_CHUNK = 16 * 1024
_CELL_REF = re.compile(r"^([A-Z]{1,3})([0-9]{1,7})$")
# Text in quotes and backslash-escaped characters are shown as they are: 0"%" is no percent.
_FORMAT_LITERALS = re.compile(r'"[^"]*"|\\.')

Rows = list[tuple[int, list[Any]]]


def file_error(code: str, message: str) -> Invalid:
    return Invalid([FieldError("file", code, message)], message)


def _unreadable() -> Invalid:
    return file_error("malformed", "Tệp .xlsx bị hỏng, không đọc được.")


def _check_entries(archive: zipfile.ZipFile) -> None:
    infos = archive.infolist()
    if len(infos) > MAX_ZIP_ENTRIES or sum(i.file_size for i in infos) > MAX_UNZIPPED_BYTES:
        raise file_error("malformed", "Tệp .xlsx quá lớn khi giải nén, không đọc được.")
    if any(i.flag_bits & 0x1 for i in infos):
        raise file_error(
            "encrypted",
            "Tệp .xlsx có phần bị mã hóa (đặt mật khẩu): hãy lưu lại không đặt mật khẩu.",
        )
    if any(i.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED) for i in infos):
        raise file_error(
            "malformed",
            "Tệp .xlsx nén theo cách Excel không dùng, không đọc được: hãy mở bằng Excel "
            "và lưu lại thành .xlsx.",
        )
    names = {i.filename for i in infos}
    folded = {n.casefold() for n in names}
    if CONTENT_TYPES not in names:
        if CONTENT_TYPES.casefold() in folded:
            raise file_error(
                "malformed",
                f"Tệp .xlsx sai cấu trúc (phần «{CONTENT_TYPES}» sai chữ hoa, chữ thường): "
                "hãy mở bằng Excel và lưu lại.",
            )
        raise file_error("malformed", "Tệp không phải bảng tính Excel (.xlsx).")
    types = archive.read(CONTENT_TYPES).lower()
    if any(n.endswith("vbaproject.bin") for n in folded) or b"macroenabled" in types:
        raise file_error(
            "macro_enabled",
            "Tệp có chứa macro (VBA): không tiếp nhận. Hãy lưu lại thành .xlsx thường.",
        )
    if "xl/workbook.xml" not in folded:
        raise file_error("malformed", "Tệp không phải bảng tính Excel (.xlsx).")


class _Scan:
    """Counts what one pass over the XML parts meets; refuses at the first bound crossed."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.elements = 0

    def part(self, stream: IO[bytes], is_sheet: bool) -> None:
        # Start events only, fed in small chunks: the count stops a part soon after the
        # bound, and the few elements kept meanwhile are bounded by the count itself. The
        # stdlib pull parser is three times faster here than defusedxml's iterparse; entity
        # expansion is bounded by expat itself (>= 2.4), and openpyxl reads with defusedxml.
        parser: XMLPullParser[Element] = XMLPullParser(events=("start",))
        row = column = 0
        while chunk := stream.read(_CHUNK):
            parser.feed(chunk)
            for event_element in parser.read_events():
                _, element = cast(tuple[str, Element], event_element)
                self._count()
                if not is_sheet:
                    continue
                tag = element.tag.rpartition("}")[2]
                if tag == "row":
                    row, column = _index(element.get("r"), row + 1), 0
                elif tag == "c":
                    column = _cell_column(element.get("r"), column + 1)
                elif tag in ("v", "is", "f"):  # the cell has a value (or a formula)
                    _within_form(row, column)
            if time.monotonic() > self.deadline:
                raise _too_complex()
        parser.close()

    def _count(self) -> None:
        self.elements += 1
        if self.elements > MAX_XML_ELEMENTS:
            raise file_error(
                "too_many_cells",
                f"Tệp có quá nhiều ô (hơn {vietnamese.number(MAX_XML_ELEMENTS, 0)} phần tử "
                "XML), trong khi mẫu báo cáo chỉ cần vài trăm ô: hãy dùng mẫu của dondoc.",
            )


def _too_complex() -> Invalid:
    return file_error(
        "too_complex",
        f"Tệp .xlsx quá phức tạp, đọc quá {MAX_SECONDS:.0f} giây: hãy dùng mẫu của dondoc.",
    )


def _index(given: str | None, default: int) -> int:
    if given is None:
        return default
    if not given.isascii() or not given.isdigit():
        raise _unreadable()
    return int(given)


def _cell_column(ref: str | None, default: int) -> int:
    if ref is None:
        return default
    match = _CELL_REF.match(ref)
    if match is None:
        raise _unreadable()
    return column_index_from_string(match.group(1))


def _within_form(row: int, column: int) -> None:
    """A cell with a value beyond the bounds would be dropped unread: refuse it instead."""
    if row > MAX_ROWS:
        raise file_error("too_many_rows", f"Tệp có hơn {MAX_ROWS} dòng.")
    if column > MAX_COLUMNS:
        where = f"ô {get_column_letter(min(column, 16_384))}{row}"
        raise file_error(
            "too_many_columns",
            f"{where} nằm ngoài mẫu: bảng tính chỉ được dùng {MAX_COLUMNS} cột đầu.",
        )


def check_container(data: bytes, deadline: float) -> None:
    """The zip and every XML part in it, within bounds, before openpyxl reads a byte."""
    if data[:4] == b"\xd0\xcf\x11\xe0":
        raise file_error(
            "unsupported_format",
            "Tệp là định dạng Excel cũ (.xls) hoặc có mật khẩu: hãy lưu lại thành .xlsx "
            "không đặt mật khẩu.",
        )
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise file_error("malformed", "Tệp .xlsx bị hỏng hoặc không phải tệp Excel.")
    scan = _Scan(deadline)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            _check_entries(archive)
            for info in archive.infolist():
                if info.filename.casefold().endswith((".xml", ".rels")):
                    with archive.open(info) as stream:
                        scan.part(stream, info.filename.casefold().startswith("xl/worksheets/"))
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ParseError, ValueError):
        # A damaged deflate stream, a bad CRC, a cut-off entry, XML that does not parse.
        raise _unreadable() from None


def _rounded(number: Decimal) -> Decimal | int:
    """A number Excel computed (67.56756756756757) to the decimals dondoc keeps; a whole
    number as an int, so a code or a year reads back as typed ("2024", not "2.024E+3")."""
    if number.adjusted() >= 20:
        return number  # far out of range: the value check refuses it, saying so
    rounded = number.quantize(Decimal(1).scaleb(-MAX_DECIMALS))
    return int(rounded) if rounded == rounded.to_integral_value() else rounded.normalize()


def _is_percent(number_format: str | None) -> bool:
    return "%" in _FORMAT_LITERALS.sub("", number_format or "")


def cell_value(cell: Any) -> Any:
    """A cell's value as typed: 0.675 formatted 0,0% is 67,5%; a computed float is rounded."""
    value = cell.value
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    if value != value or value in (float("inf"), float("-inf")):
        return value  # refused as "not a number" by the value check
    exact = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if _is_percent(cell.number_format):
        return PercentCell(Decimal(_rounded(exact * 100)))
    return _rounded(exact) if isinstance(value, float) else value


def _sheet_rows(data: bytes, deadline: float) -> Iterator[tuple[int, list[Any]]]:
    wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        ws = wb[SHEET] if SHEET in wb.sheetnames else wb.worksheets[0]
        # Explicit bounds: openpyxl would otherwise pad each row to the claimed <dimension>.
        cells = ws.iter_rows(min_row=1, max_row=MAX_ROWS, min_col=1, max_col=MAX_COLUMNS)
        for n, row in enumerate(cells, start=1):
            if time.monotonic() > deadline:
                raise _too_complex()
            yield n, [cell_value(c) for c in row]
    finally:
        wb.close()


def xlsx_rows(data: bytes) -> Rows:
    """The rows of the form's sheet (or the first), each a list of cell values."""
    deadline = time.monotonic() + MAX_SECONDS
    check_container(data, deadline)
    try:
        return list(_sheet_rows(data, deadline))
    except Invalid:
        raise
    except Exception:  # openpyxl raises many kinds; to the user each means "cannot read"
        raise _unreadable() from None
