"""Per-obligation XLSX and CSV templates, and reading filled ones (or JSON) back safely."""

from __future__ import annotations

import csv
import io
import json
import mimetypes
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from plans.vocabulary import ItemKind, TargetKind
from submissions.content import FormSpec, RawSubmission
from submissions.errors import FieldError, Invalid
from submissions.values import KIND_VI, PROGRESS_VI, is_blank
from submissions.workbook import MAX_ROWS, SHEET, Rows, file_error, xlsx_rows

MARKER = "MẪU BÁO CÁO DONDOC"
VERSION = "phiên bản 1"
L_SOURCE = "Mã báo cáo"
L_UNIT = "Mã đơn vị"
L_PERIOD = "Kỳ báo cáo"
H_TARGETS = ("Mã chỉ tiêu", "Chỉ tiêu", "Đơn vị tính", "Loại giá trị", "Bắt buộc", "Giá trị")
H_SECTIONS = ("Phần báo cáo", "Nội dung")
L_STATE = "Tình trạng"
L_NOTE = "Ghi chú"
L_ON = "Ngày cập nhật"
VALUE_COLUMN = H_TARGETS.index("Giá trị")

MACRO_EXTENSIONS = (".xlsm", ".xltm", ".xlsb", ".xla", ".xlam")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

_INPUT_FILL = PatternFill("solid", start_color="FFF2CC")
_HEAD_FILL = PatternFill("solid", start_color="D9E1F2")


Ref = Callable[[int, int], str]  # (row, column) -> "ô F8" or "dòng 8, cột 6"


@dataclass(frozen=True)
class TemplateHeader:
    """Whose template it is: the obligation (or deliverable), and optionally unit and period."""

    source_code: str
    title: str
    kind: ItemKind
    unit: str | None = None
    period: str | None = None


@dataclass(frozen=True)
class ParsedFile:
    """A filled template or JSON file: where it says it belongs, and its raw content."""

    source: str | None
    unit: str | None
    period: str | None
    raw: RawSubmission
    item_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _norm(value: Any) -> str:
    if value is None:
        return ""
    return unicodedata.normalize("NFC", str(value)).strip().casefold()


def _cell_text(value: Any) -> str | None:
    if is_blank(value):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def template_rows(header: TemplateHeader, spec: FormSpec) -> list[list[str]]:
    """The template's rows, shared by the XLSX and CSV forms so both read back the same way."""
    rows: list[list[str]] = [
        [MARKER, VERSION],
        [L_SOURCE, header.source_code, header.title],
        [L_UNIT, header.unit or ""],
    ]
    if header.kind is ItemKind.REPORT or header.period:
        rows.append([L_PERIOD, header.period or ""])
    if spec.targets:
        rows += [[], list(H_TARGETS)]
        rows += [
            [
                t.code,
                t.name,
                t.unit_of_measure or "",
                KIND_VI[t.kind],
                "Có" if t.required else "Không",
                "",
            ]
            for t in spec.targets
        ]
    if spec.sections:
        rows += [[], list(H_SECTIONS)]
        rows += [[s, ""] for s in spec.sections]
    if spec.kind is ItemKind.DELIVERABLE:
        rows += [[], [L_STATE, ""], [L_NOTE, ""], [L_ON, ""]]
    return rows


def csv_template(header: TemplateHeader, spec: FormSpec) -> bytes:
    """UTF-8 with a BOM, so Excel opens the Vietnamese text correctly."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows(template_rows(header, spec))
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def xlsx_template(header: TemplateHeader, spec: FormSpec) -> bytes:
    """A workbook with the form on sheet «Báo cáo» and instructions on «Hướng dẫn»."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = SHEET
    for row in template_rows(header, spec):
        ws.append(row)
    ws["A1"].font = Font(bold=True, size=13)
    yes_no = DataValidation(type="list", formula1='"Có,Không"', allow_blank=True)
    states = DataValidation(
        type="list", formula1='"' + ",".join(PROGRESS_VI.values()) + '"', allow_blank=True
    )
    ws.add_data_validation(yes_no)
    ws.add_data_validation(states)
    kinds = {t.code: t.kind for t in spec.targets}
    for row_cells in ws.iter_rows():
        label = row_cells[0].value
        if label in (L_UNIT, L_PERIOD, L_NOTE, L_ON) or label in spec.sections:
            row_cells[1].fill = _INPUT_FILL
            row_cells[1].alignment = Alignment(wrap_text=True, vertical="top")
        elif label == L_STATE:
            row_cells[1].fill = _INPUT_FILL
            states.add(row_cells[1])
        elif label in (H_TARGETS[0], H_SECTIONS[0]):
            for cell in row_cells:
                cell.font = Font(bold=True)
                cell.fill = _HEAD_FILL
        elif isinstance(label, str) and label in kinds:
            value_cell = row_cells[VALUE_COLUMN]
            value_cell.fill = _INPUT_FILL
            if kinds[label] is TargetKind.YES_NO:
                yes_no.add(value_cell)
            elif kinds[label] is TargetKind.TEXT:
                value_cell.number_format = "@"
        elif label in (L_SOURCE,):
            row_cells[0].font = Font(bold=True)
    for column, width in zip("ABCDEF", (22, 60, 14, 20, 10, 18), strict=True):
        ws.column_dimensions[column].width = width
    guide = wb.create_sheet("Hướng dẫn")
    for line in (
        "Cách điền mẫu báo cáo",
        "1. Ghi mã đơn vị và kỳ báo cáo (ví dụ 2024-03, 2024-Q1) nếu còn trống.",
        "2. Nhập giá trị vào cột «Giá trị»; số thập phân dùng dấu phẩy (67,5).",
        "3. Nội dung báo cáo ghi vào cột «Nội dung» của từng phần.",
        "4. Không đổi mã chỉ tiêu, không thêm dòng; lưu dạng .xlsx (không dùng macro).",
        "5. Gửi qua cổng báo cáo, lệnh dondoc submit hoặc đặt vào thư mục inbox.",
    ):
        guide.append([line])
    guide.column_dimensions["A"].width = 90
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _xlsx_rows(data: bytes) -> tuple[Rows, Ref]:
    return xlsx_rows(data), lambda row, col: f"ô {get_column_letter(col + 1)}{row}"


def _csv_rows(data: bytes) -> tuple[Rows, Ref]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise file_error(
            "not_utf8",
            "Tệp CSV phải lưu bằng mã UTF-8 (trong Excel chọn «CSV UTF-8»).",
        ) from None
    if "\x00" in text:
        raise file_error("malformed", "Tệp CSV bị hỏng, không đọc được.")
    first = text.split("\n", 1)[0]
    # Excel in a Vietnamese locale separates with ";" because "," is the decimal mark.
    delimiter = max((",", ";", "\t"), key=first.count)
    try:
        rows = []
        for n, cells in enumerate(csv.reader(io.StringIO(text), delimiter=delimiter), start=1):
            if n > MAX_ROWS:
                raise file_error("too_many_rows", f"Tệp có hơn {MAX_ROWS} dòng.")
            rows.append((n, list(cells)))
    except csv.Error:
        raise file_error("malformed", "Tệp CSV bị hỏng, không đọc được.") from None
    return rows, lambda row, col: f"dòng {row}, cột {col + 1}"


def _cell(cells: list[Any], index: int) -> Any:
    return cells[index] if index < len(cells) else None


def _last_column(label: str, mode: str, value_column: int) -> int:
    """The last column the template fills on a row: nothing right of it may hold data."""
    if label == _norm(H_TARGETS[0]) or label == _norm(H_SECTIONS[0]):
        return len(H_TARGETS) - 1 if label == _norm(H_TARGETS[0]) else len(H_SECTIONS) - 1
    if label == _norm(L_SOURCE):
        return 2  # code and title
    if mode == "targets" and label not in _HEADER_LABELS:
        return value_column
    return 1


_HEADER_KEYS = {_norm(L_SOURCE): "source", _norm(L_UNIT): "unit", _norm(L_PERIOD): "period"}
_PROGRESS_KEYS = {_norm(L_STATE): "state", _norm(L_NOTE): "note", _norm(L_ON): "on"}


class _TemplateReader:
    """Reads a filled template row by row: header, then targets, sections or progress."""

    def __init__(self, ref: Ref) -> None:
        self.ref = ref
        self.header: dict[str, str | None] = {}
        self.values: dict[str, Any] = {}
        self.narrative: dict[str, Any] = {}
        self.progress: dict[str, Any] = {}
        self.where: dict[str, str] = {}
        self.errors: list[FieldError] = []
        self.mode = "header"
        self.value_column = VALUE_COLUMN

    def row(self, n: int, cells: list[Any]) -> None:
        label = _norm(_cell(cells, 0))
        if self._stray_cell(n, cells, label):
            return
        if label in _HEADER_KEYS:
            if self._first(_HEADER_KEYS[label], n, cells):
                self.header[_HEADER_KEYS[label]] = _cell_text(_cell(cells, 1))
        elif label == _norm(H_TARGETS[0]):
            self._targets_heading(n, cells)
        elif label == _norm(H_SECTIONS[0]):
            self.mode = "sections"
        elif label in _PROGRESS_KEYS:
            key = _PROGRESS_KEYS[label]
            if self._first(f"progress.{key}", n, cells):
                self.progress[key] = _cell(cells, 1)
        elif self.mode == "targets":
            code = _cell_text(_cell(cells, 0)) or ""
            if self._first(f"values.{code}", n, cells, self.value_column):
                self.values[code] = _cell(cells, self.value_column)
        elif self.mode == "sections":
            section = _cell_text(_cell(cells, 0)) or ""
            if self._first(f"narrative.{section}", n, cells):
                self.narrative[section] = _cell(cells, 1)
        else:
            shown = _cell_text(_cell(cells, 0)) or ""
            self._error(
                "file", "unknown_field", f"«{shown}» không phải là mục của mẫu báo cáo.", n, 0
            )

    def _first(self, name: str, n: int, cells: list[Any], column: int = 1) -> bool:
        """Whether this is the first row for `name`; a second one is refused, not let
        overwrite the first (two «Kỳ báo cáo» rows, Q4 then Q2, filed under Q2)."""
        first = self.where.get(name)
        if first is None:
            self.where[name] = self.ref(n, column)
            return True
        shown = _cell_text(_cell(cells, 0)) or ""
        self._error(
            name,
            "duplicate",
            f"«{shown}» ghi hai lần ({first} và {self.ref(n, column)}): chỉ giữ một dòng.",
            n,
            0,
        )
        return False

    def _error(self, name: str, code: str, message: str, n: int, column: int) -> None:
        self.errors.append(FieldError(name, code, message, self.ref(n, column)))

    def _stray_cell(self, n: int, cells: list[Any], label: str) -> bool:
        # A figure typed beyond the form's columns would be silently dropped (a CSV's
        # unquoted «67,5» splits into 67 | 5): refuse it and say which cell.
        last = _last_column(label, self.mode, self.value_column)
        stray = [i for i in range(last + 1, len(cells)) if not is_blank(cells[i])]
        if stray:
            shown = _cell_text(cells[stray[0]]) or ""
            self._error(
                "file",
                "unknown_field",
                f"Ô {self.ref(n, stray[0])} nằm ngoài mẫu («{shown}»). Trong tệp CSV, số thập "
                'phân có dấu phẩy phải đặt trong ngoặc kép, ví dụ "67,5".',
                n,
                stray[0],
            )
        return bool(stray)

    def _targets_heading(self, n: int, cells: list[Any]) -> None:
        self.mode = "targets"
        heads = [_norm(c) for c in cells]
        self.value_column = heads.index(_norm("Giá trị")) if _norm("Giá trị") in heads else -1
        if self.value_column < 0:
            self._error("file", "malformed", "Thiếu cột «Giá trị».", n, 0)
            self.value_column = VALUE_COLUMN

    def parsed(self) -> ParsedFile:
        if self.errors:
            raise Invalid(self.errors)
        return ParsedFile(
            source=self.header.get("source"),
            unit=self.header.get("unit"),
            period=self.header.get("period"),
            raw=RawSubmission(
                values=self.values,
                narrative=self.narrative,
                progress=self.progress or None,
                where=self.where,
            ),
        )


def _parse_rows(rows: list[tuple[int, list[Any]]], ref: Ref) -> ParsedFile:
    filled = [(n, cells) for n, cells in rows if any(not is_blank(c) for c in cells)]
    if not filled or _norm(_cell(filled[0][1], 0)) != _norm(MARKER):
        raise file_error(
            "not_a_template",
            "Tệp không theo mẫu của dondoc: hãy tải mẫu của báo cáo "
            "(lệnh «dondoc template» hoặc nút «Tải mẫu» trên cổng) rồi điền vào.",
        )
    reader = _TemplateReader(ref)
    for n, cells in filled[1:]:
        reader.row(n, cells)
    return reader.parsed()


_HEADER_LABELS = {_norm(x) for x in (L_SOURCE, L_UNIT, L_PERIOD, L_STATE, L_NOTE, L_ON)}

_JSON_KEYS = {"item_id", "unit", "obligation", "period", "values", "narrative", "progress"}


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object whose key repeats would keep only its last value: refused instead."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def _json_problem(exc: BaseException, name: str) -> FieldError:
    """Why a JSON text could not be read, in Vietnamese, for the field that held it."""
    if isinstance(exc, _DuplicateKey):
        return FieldError(name, "duplicate", f"Khóa «{exc.key}» ghi hai lần trong JSON.")
    if isinstance(exc, UnicodeError):
        return FieldError(name, "not_utf8", "Nội dung JSON phải mã hóa UTF-8.")
    if isinstance(exc, RecursionError):
        return FieldError(name, "too_deep", "Nội dung JSON lồng nhau quá nhiều tầng.")
    if isinstance(exc, json.JSONDecodeError):
        return FieldError(
            name,
            "malformed",
            f"Nội dung JSON sai cú pháp ở dòng {exc.lineno}, cột {exc.colno}.",
        )
    # The only other failure of json.loads: an integer over Python's 4,300-digit limit.
    return FieldError(name, "malformed", "Nội dung JSON có số quá dài hoặc không đọc được.")


def load_json(data: bytes, name: str = "file") -> Any:
    """A JSON document from bytes, or Invalid saying why not (never a crash on odd input)."""
    try:
        return json.loads(data.decode("utf-8-sig"), object_pairs_hook=_no_duplicates)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError, JSONDecodeError too
        problem = _json_problem(exc, name)
        raise Invalid([problem], problem.message) from None


def parse_json(data: bytes, name: str = "file") -> ParsedFile:
    """The JSON file form: {"unit", "obligation", "period", "values", "narrative", "progress"};
    `name` is the field it came in (a file, or the API's form field "payload")."""
    doc = load_json(data, name)
    if not isinstance(doc, dict):
        message = "Nội dung JSON phải là một đối tượng {...}."
        raise Invalid([FieldError(name, "malformed", message)], message)
    errors = [
        FieldError(str(k), "unknown_field", f"Trường «{k}» không hợp lệ.")
        for k in doc
        if k not in _JSON_KEYS
    ]
    for key in ("values", "narrative", "progress"):
        if doc.get(key) is not None and not isinstance(doc[key], dict):
            errors.append(
                FieldError(key, "not_an_object", f"«{key}» phải là một đối tượng {{...}}.")
            )
    for key in ("unit", "obligation", "period"):
        if doc.get(key) is not None and not isinstance(doc[key], str):
            errors.append(FieldError(key, "not_text", f"«{key}» phải là chuỗi ký tự."))
    item_id = doc.get("item_id")
    if item_id is not None and (isinstance(item_id, bool) or not isinstance(item_id, int)):
        errors.append(FieldError("item_id", "not_integer", "«item_id» phải là số nguyên."))
    if errors:
        raise Invalid(errors)
    return ParsedFile(
        source=doc.get("obligation"),
        unit=doc.get("unit"),
        period=doc.get("period"),
        item_id=item_id,
        raw=RawSubmission(
            values=doc.get("values") or {},
            narrative=doc.get("narrative") or {},
            progress=doc.get("progress"),
        ),
    )


def file_format(filename: str) -> str:
    """ "xlsx", "csv" or "json" from the file name; refuses macro-enabled and other types."""
    name = filename.casefold()
    if name.endswith(MACRO_EXTENSIONS):
        raise file_error(
            "macro_enabled",
            "Tệp Excel có macro (.xlsm) không được tiếp nhận: hãy lưu lại thành .xlsx.",
        )
    for ext in ("xlsx", "csv", "json"):
        if name.endswith("." + ext):
            return ext
    if name.endswith(".xls"):
        raise file_error(
            "unsupported_format", "Định dạng .xls cũ không được hỗ trợ: hãy lưu lại thành .xlsx."
        )
    raise file_error("unsupported_format", "Chỉ nhận tệp .xlsx, .csv (mẫu của dondoc) hoặc .json.")


def content_type_of(filename: str) -> str:
    """The content type a local file (the CLI's, the inbox's) is stored with, by its name."""
    if filename.casefold().endswith(".xlsx"):
        return XLSX_TYPE
    return mimetypes.guess_type(filename)[0] or "text/plain"


def read_upload(filename: str, data: bytes) -> ParsedFile:
    """Read a submitted file by its type; raises Invalid (field "file") on anything unsafe."""
    fmt = file_format(filename)
    if not data:
        raise file_error("empty_file", "Tệp rỗng.")
    if fmt == "json":
        return parse_json(data)
    rows, ref = _xlsx_rows(data) if fmt == "xlsx" else _csv_rows(data)
    return _parse_rows(rows, ref)
