"""Reading one reported value by its target's kind, the way Vietnamese users write it."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from plans.vocabulary import ProgressState, TargetKind
from wording import vietnamese

# Bounds of the Numeric(20, 6) column: beyond them the database would round or overflow.
MAX_NUMBER = Decimal(10) ** 13
MAX_DECIMALS = 6
MAX_TEXT = 2_000

# ASCII digits only: \d and Decimal() would also read "١٢٣" and "６７" (see _foreign_digits).
_INT = re.compile(r"^[+-]?\d+$", re.ASCII)
# "1.300" and "1.300.000,5": dots group thousands, the comma is the decimal mark.
# A leading group never starts with 0: "0.300" is a machine's 0.3, not three hundred.
_VI_GROUPED = re.compile(r"^[+-]?[1-9]\d{0,2}(?:\.\d{3})+(?:,\d+)?$", re.ASCII)
_VI_DECIMAL = re.compile(r"^[+-]?\d+,\d+$", re.ASCII)
# "67.5" as a machine writes it (not three digits after the dot, so not a thousands group).
_DOT_DECIMAL = re.compile(r"^[+-]?\d+\.\d+$", re.ASCII)

# Control characters other than tab and newlines, C0 and C1: no one types them, PostgreSQL
# refuses NUL, and a C1 character is what a Windows-1258 byte read as Latin-1 turns into.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Bidirectional controls (U+202E, the right-to-left override, among them) make a text read
# differently from what it holds: "báo cáo\u202excod.exe" shows as "báo cáoexe.docx".
BIDI_CONTROLS = re.compile(r"[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# Half of a UTF-16 pair, alone: JSON's "\ud800" decodes to it; no encoding can store it.
_SURROGATE = re.compile(r"[\ud800-\udfff]")

_YES = {"có", "co", "c", "yes", "y", "true", "1", "x", "đạt", "dat", "đã", "da"}
_NO = {"không", "khong", "k", "no", "n", "false", "0", "chưa", "chua"}

KIND_VI = {
    TargetKind.COUNT: "Số nguyên không âm",
    TargetKind.PERCENT: "Tỷ lệ % (0–100)",
    TargetKind.YES_NO: "Có / Không",
    TargetKind.TEXT: "Văn bản",
}

PROGRESS_VI = {
    ProgressState.NOT_STARTED: "Chưa bắt đầu",
    ProgressState.IN_PROGRESS: "Đang thực hiện",
    ProgressState.DONE: "Hoàn thành",
}


@dataclass(frozen=True)
class PercentCell:
    """A spreadsheet cell formatted as a percentage: `percent` is what Excel shows (67.5 for
    a cell holding 0.675), already rounded to what dondoc stores."""

    percent: Decimal

    def __str__(self) -> str:
        return vietnamese.percent(self.percent, MAX_DECIMALS)


class ValueProblem(ValueError):
    """A value that cannot be read; `message` is Vietnamese and names what was typed."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Value:
    """A checked value: exactly one of number, text, flag is set."""

    number: Decimal | None = None
    text: str | None = None
    flag: bool | None = None

    def canonical(self) -> str | bool:
        """A stable form for hashing: the same reading always gives the same string."""
        if self.number is not None:
            return format(self.number.normalize(), "f")
        if self.flag is not None:
            return self.flag
        assert self.text is not None
        return self.text


def is_blank(raw: Any) -> bool:
    """Nothing was entered: None or only whitespace."""
    return raw is None or (isinstance(raw, str) and not raw.strip())


def _shown(raw: Any) -> str:
    text = str(raw)
    return text if len(text) <= 40 else text[:37] + "..."


def parse_decimal(raw: Any) -> Decimal:
    """A number from JSON, a spreadsheet cell or typed text ("67,5", "1.300", "67.5")."""
    number = _read_decimal(raw)
    # "-0" is 0: one value, one canonical form (and one content hash for idempotent resends).
    return number.copy_abs() if number.is_zero() else number


def _foreign_digits(text: str) -> bool:
    """Digits of another script ("١٢٣", full-width "６７"): a look-alike of a figure."""
    return any(c.isdigit() and not c.isascii() for c in text)


def _read_decimal(raw: Any) -> Decimal:
    if isinstance(raw, PercentCell):
        raise ValueProblem(
            "percent_cell", f"Ô định dạng phần trăm ({raw}) nhưng chỉ tiêu không phải tỷ lệ %."
        )
    if isinstance(raw, bool):
        raise ValueProblem("not_a_number", f"«{_shown(raw)}» không phải là số.")
    if isinstance(raw, int):
        return Decimal(raw)
    if isinstance(raw, float):
        if raw != raw or raw in (float("inf"), float("-inf")):
            raise ValueProblem("not_a_number", f"«{_shown(raw)}» không phải là số.")
        return Decimal(repr(raw))
    if isinstance(raw, Decimal):
        if not raw.is_finite():
            raise ValueProblem("not_a_number", f"«{_shown(raw)}» không phải là số.")
        return raw
    if not isinstance(raw, str):
        raise ValueProblem("not_a_number", f"«{_shown(raw)}» không phải là số.")
    # Spaces (also the no-break ones spreadsheets use) may group thousands: "1 300".
    text = re.sub(r"[\s\u00a0\u202f]", "", raw)
    if _foreign_digits(text):
        raise ValueProblem(
            "foreign_digits",
            f"«{_shown(raw.strip())}» có chữ số không phải 0–9 (chữ số Ả Rập, chữ số toàn "
            "khổ…): hãy gõ lại bằng các chữ số 0–9.",
        )
    if _INT.match(text):
        digits = text
    elif _VI_GROUPED.match(text):
        digits = text.replace(".", "").replace(",", ".")
    elif _VI_DECIMAL.match(text):
        digits = text.replace(",", ".")
    elif _DOT_DECIMAL.match(text):
        digits = text
    else:
        raise ValueProblem("not_a_number", f"«{_shown(raw.strip())}» không phải là số.")
    try:
        return Decimal(digits)
    except InvalidOperation:  # pragma: no cover - the patterns above only let digits through
        raise ValueProblem("not_a_number", f"«{_shown(raw)}» không phải là số.") from None


def _check_range(number: Decimal) -> None:
    if abs(number) >= MAX_NUMBER:
        # Beyond ~20 digits the Vietnamese formatting itself overflows the decimal context.
        shown = vietnamese.number(number, 0) if number.adjusted() < 20 else _shown(number)
        raise ValueProblem("too_large", f"Số {shown} quá lớn.")
    exponent = number.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -MAX_DECIMALS:
        raise ValueProblem("too_precise", f"Chỉ ghi tối đa {MAX_DECIMALS} chữ số sau dấu phẩy.")


def parse_count(raw: Any) -> Decimal:
    """A whole number >= 0."""
    number = parse_decimal(raw)
    _check_range(number)
    if number != number.to_integral_value():
        raise ValueProblem(
            "not_integer",
            f"Phải là số nguyên (đã nhập {vietnamese.number(number, MAX_DECIMALS)}).",
        )
    if number < 0:
        raise ValueProblem(
            "negative", f"Không được là số âm (đã nhập {vietnamese.number(number, 0)})."
        )
    return number.quantize(Decimal(1))


def parse_percent(raw: Any) -> Decimal:
    """A percentage 0–100; "67,5", "67,5%", 67.5 and a 67,5% cell are the same value."""
    if isinstance(raw, PercentCell):
        raw = raw.percent
    elif isinstance(raw, str):
        raw = raw.strip().removesuffix("%")
    number = parse_decimal(raw)
    _check_range(number)
    if not Decimal(0) <= number <= Decimal(100):
        raise ValueProblem(
            "out_of_range",
            f"Tỷ lệ phải từ 0 đến 100 (đã nhập {vietnamese.number(number, MAX_DECIMALS)}).",
        )
    return number


def parse_flag(raw: Any) -> bool:
    """Yes or no: Có/Không, yes/no, x, 1/0, true/false."""
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int | float | Decimal) and raw in (0, 1):
        return bool(raw)
    if isinstance(raw, str):
        word = unicodedata.normalize("NFC", raw.strip().casefold())
        if word in _YES:
            return True
        if word in _NO:
            return False
    raise ValueProblem("not_yes_no", f"Phải là «Có» hoặc «Không» (đã nhập «{_shown(raw)}»).")


def parse_text(raw: Any, limit: int = MAX_TEXT) -> str:
    """Free text, trimmed; numbers from a spreadsheet cell are taken as written."""
    if isinstance(raw, bool):
        raise ValueProblem("not_text", "Phải là văn bản.")
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    if isinstance(raw, int | float | Decimal | datetime | date | PercentCell):
        raw = str(raw)
    if not isinstance(raw, str):
        raise ValueProblem("not_text", "Phải là văn bản.")
    check_characters(raw)
    text = unicodedata.normalize("NFC", raw.strip().replace("\r\n", "\n"))
    if len(text) > limit:
        raise ValueProblem(
            "too_long", f"Dài quá {vietnamese.number(limit, 0)} ký tự ({len(text)} ký tự)."
        )
    return text


def check_characters(text: str) -> None:
    """Refuse characters that cannot be stored or that disguise what a text says."""
    if _SURROGATE.search(text):
        raise ValueProblem(
            "invalid_character",
            "Có ký tự không hợp lệ (nửa cặp UTF-16, không phải chữ): hãy gõ lại đoạn văn bản.",
        )
    found = _CONTROL.search(text)
    if found:
        raise ValueProblem(
            "control_character",
            f"Có ký tự điều khiển không hợp lệ trong văn bản (U+{ord(found.group()):04X}).",
        )
    found = BIDI_CONTROLS.search(text)
    if found:
        raise ValueProblem(
            "bidi_control",
            f"Có ký tự điều khiển hướng chữ (U+{ord(found.group()):04X}) làm văn bản hiển thị "
            "khác nội dung thật: hãy xóa ký tự này.",
        )


def parse_value(kind: TargetKind, raw: Any) -> Value:
    """A non-blank raw value checked by the target's kind."""
    match kind:
        case TargetKind.COUNT:
            return Value(number=parse_count(raw))
        case TargetKind.PERCENT:
            return Value(number=parse_percent(raw))
        case TargetKind.YES_NO:
            return Value(flag=parse_flag(raw))
        case TargetKind.TEXT:
            return Value(text=parse_text(raw))


def parse_progress_state(raw: Any) -> ProgressState:
    """not_started / in_progress / done, or their Vietnamese names."""
    if isinstance(raw, str):
        word = unicodedata.normalize("NFC", raw.strip().casefold())
        for state in ProgressState:
            if word in (state.value, PROGRESS_VI[state].casefold(), slug(PROGRESS_VI[state])):
                return state
    raise ValueProblem(
        "not_a_state",
        "Tình trạng phải là «Chưa bắt đầu», «Đang thực hiện» hoặc «Hoàn thành»"
        f" (đã nhập «{_shown(raw)}»).",
    )


def parse_day(raw: Any) -> date:
    """A date as 20/03/2024 (Vietnamese), 2024-03-20 (ISO) or a spreadsheet date cell."""
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    if isinstance(raw, str):
        text = raw.strip()
        match = re.fullmatch(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})", text, re.ASCII)
        try:
            if match:
                return date(int(match.group(3)), int(match.group(2)), int(match.group(1)))
            if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text, re.ASCII):
                return date.fromisoformat(text)
        except ValueError:
            pass
    raise ValueProblem(
        "not_a_date", f"«{_shown(raw)}» không phải là ngày (ghi theo dạng 20/03/2024)."
    )


def slug(text: str) -> str:
    """ "Khó khăn, vướng mắc" -> "kho-khan-vuong-mac": an ASCII key for a Vietnamese name."""
    text = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    ascii_text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")


def display(kind: TargetKind, value: Value) -> str:
    """A stored value as an official reads it: "1.300", "67,5%", "Có", the text."""
    if value.number is not None:
        if kind is TargetKind.PERCENT:
            return vietnamese.percent(value.number, MAX_DECIMALS)
        return vietnamese.number(value.number, MAX_DECIMALS)
    if value.flag is not None:
        return "Có" if value.flag else "Không"
    return value.text or ""
