"""Numbers, money and dates written the Vietnamese way (Babel's vi_VN), one definition each."""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

import pendulum
from babel.numbers import format_currency, format_decimal

from schedules.calendar import VN_TZ, local_date
from schedules.periods import Period

LOCALE = "vi_VN"


def number(value: int | float | Decimal, digits: int = 2) -> str:
    """1300 -> "1.300"; 67.5 -> "67,5" (at most `digits` decimals, no trailing zeros).

    Ties round half up, as Vietnamese documents do (0,85 -> 0,9), not Babel's half-even.
    """
    rounded = Decimal(str(value)).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    return format_decimal(
        rounded, format=f"#,##0.{'#' * digits}" if digits else "#,##0", locale=LOCALE
    )


def percent(value: int | float | Decimal, digits: int = 1) -> str:
    """A value already in percent: 67.5 -> "67,5%"."""
    return f"{number(value, digits)}%"


def money(value: int | float | Decimal) -> str:
    """1500000 -> "1.500.000 ₫"."""
    return format_currency(value, "VND", locale=LOCALE)


def megabytes(size: int) -> str:
    """A size in bytes as officials read a limit: 52428800 -> "50 MB", 262144 -> "0,25 MB"."""
    return f"{number(Decimal(size) / 2**20)} MB"


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


_ROMAN = (
    (1000, "M"),
    (900, "CM"),
    (500, "D"),
    (400, "CD"),
    (100, "C"),
    (90, "XC"),
    (50, "L"),
    (40, "XL"),
    (10, "X"),
    (9, "IX"),
    (5, "V"),
    (4, "IV"),
    (1, "I"),
)

# Points of a clause in Vietnamese legal documents: the Vietnamese alphabet, no f, j, w, z.
_LETTERS = tuple("abcdđeghiklmnopqrstuvxy")


def roman(n: int) -> str:
    """Section numbers: 1 -> "I", 4 -> "IV"."""
    if not 1 <= n <= 3999:
        raise ValueError(f"roman numerals cover 1–3999, got {n}")
    out = []
    for value, symbol in _ROMAN:
        count, n = divmod(n, value)
        out.append(symbol * count)
    return "".join(out)


def letter(n: int) -> str:
    """Points of a clause: 1 -> "a", 5 -> "đ" (Vietnamese alphabet)."""
    if not 1 <= n <= len(_LETTERS):
        raise ValueError(f"points run a–y ({len(_LETTERS)}), got {n}")
    return _LETTERS[n - 1]


def time_and_date(value: datetime) -> str:
    """An instant read out in Vietnamese time: "08 giờ 05 phút, ngày 20/03/2024"."""
    local = pendulum.instance(value).in_timezone(VN_TZ)
    return f"{local.hour:02d} giờ {local.minute:02d} phút, ngày {date_short(local.date())}"


def local_time(instant: datetime) -> str:
    """ "08:15 ngày 20/04/2024" (Vietnamese time)."""
    local = pendulum.instance(instant).in_timezone(VN_TZ)
    return f"{local:%H:%M} ngày {date_short(instant)}"


def log_stamp(instant: datetime) -> str:
    """ "20/04/2024 08:15" (Vietnamese time): instants in flow run logs an admin reads."""
    local = pendulum.instance(instant).in_timezone(VN_TZ)
    return f"{local:%d/%m/%Y %H:%M}"


def local_iso(instant: datetime) -> str:
    return pendulum.instance(instant).in_timezone(VN_TZ).isoformat()


def period(label: str | None) -> str:
    """A period as people read it: "2024-Q1" -> "quý I năm 2024", "2024-03" -> "tháng 3 năm
    2024"; a label that is no calendar period (an ad-hoc request's "YC-3") as it is."""
    if not label:
        return ""
    try:
        return Period.parse(label).title_vi
    except ValueError:
        return label


def deadline(day: date, instant: datetime) -> str:
    """A deadline as people read it: "hết ngày 18/03/2024" when it ends with the day (24:00),
    else "16:00 ngày 18/03/2024"."""
    local = pendulum.instance(instant).in_timezone(VN_TZ)
    if (local.hour, local.minute, local.second) == (0, 0, 0) and local.date() > day:
        return f"hết ngày {date_short(day)}"
    return f"{local:%H:%M} ngày {date_short(local.date())}"
