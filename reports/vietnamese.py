"""Numbers, money and dates written the Vietnamese way (Babel's vi_VN), one definition each."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from babel.numbers import format_currency, format_decimal

from schedules.calendar import local_date

LOCALE = "vi_VN"


def number(value: int | float | Decimal, digits: int = 2) -> str:
    """1300 -> "1.300"; 67.5 -> "67,5" (at most `digits` decimals, no trailing zeros)."""
    return format_decimal(
        value, format=f"#,##0.{'#' * digits}" if digits else "#,##0", locale=LOCALE
    )


def percent(value: int | float | Decimal, digits: int = 1) -> str:
    """A value already in percent: 67.5 -> "67,5%"."""
    return f"{number(value, digits)}%"


def money(value: int | float | Decimal) -> str:
    """1500000 -> "1.500.000 ₫"."""
    return format_currency(value, "VND", locale=LOCALE)


def _as_local_date(value: date | datetime) -> date:
    return local_date(value) if isinstance(value, datetime) else value


def date_long(value: date | datetime) -> str:
    """The document form: "ngày 05 tháng 02 năm 2025" (day < 10 and months 1–2 zero-padded)."""
    d = _as_local_date(value)
    month = f"{d.month:02d}" if d.month <= 2 else str(d.month)
    return f"ngày {d.day:02d} tháng {month} năm {d.year}"


def date_short(value: date | datetime) -> str:
    """The everyday form: "05/02/2025"."""
    d = _as_local_date(value)
    return f"{d.day:02d}/{d.month:02d}/{d.year}"


def weekday_date(value: date | datetime) -> str:
    """ "thứ Sáu, 16/02/2024" — a deadline read out in a message."""
    d = _as_local_date(value)
    names = ["thứ Hai", "thứ Ba", "thứ Tư", "thứ Năm", "thứ Sáu", "thứ Bảy", "Chủ nhật"]
    return f"{names[d.weekday()]}, {date_short(d)}"
