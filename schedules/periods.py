"""Reporting periods, their labels and data windows (calendar or Decree 09/2019/NĐ-CP)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

import pendulum

from schedules.calendar import as_date


class Cadence(StrEnum):
    """How often a report is due."""

    WEEKLY = "weekly"  # ISO weeks, Monday to Sunday
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    HALF_YEARLY = "half_yearly"
    YEARLY = "yearly"

    @property
    def months(self) -> int:
        """Calendar months in one period (0 for a week: less than a month)."""
        return _MONTHS[self]

    @property
    def per_year(self) -> int:
        """Periods in one year; weeks depend on the year (see `count_in_year`)."""
        if self is Cadence.WEEKLY:
            raise ValueError("the number of weeks depends on the year: use count_in_year")
        return 12 // _MONTHS[self]

    def count_in_year(self, year: int) -> int:
        """Periods in the given year: 52 or 53 ISO weeks, else `per_year`."""
        if self is Cadence.WEEKLY:
            # 28 December always lies in the last ISO week of its year.
            return date(year, 12, 28).isocalendar().week
        return self.per_year


_MONTHS = {
    Cadence.WEEKLY: 0,
    Cadence.MONTHLY: 1,
    Cadence.QUARTERLY: 3,
    Cadence.HALF_YEARLY: 6,
    Cadence.YEARLY: 12,
}

# Decree 09/2019/NĐ-CP art. 12: data are cut off on the 14th and the next window opens on the 15th.
_CUTOFF_DAY = 14

_ROMAN = ("I", "II", "III", "IV")

_LABEL_RE = re.compile(
    r"(?P<year>\d{4})(?:-(?:(?P<month>\d{2})|Q(?P<quarter>\d)|H(?P<half>\d)|W(?P<week>\d{2})))?"
)
# The labels Period.label writes, for forms that refuse a bad period before anything runs
# (a JSON-schema pattern: the year; a month, quarter, half-year or ISO week of it).
LABEL_PATTERN = r"^\d{4}(-(0[1-9]|1[0-2]|Q[1-4]|H[12]|W(0[1-9]|[1-4][0-9]|5[0-3])))?$"


class WindowConvention(StrEnum):
    """Which days a period's data cover."""

    CALENDAR = "calendar"
    DECREE_09 = "decree09"


@dataclass(frozen=True, order=True)
class Window:
    """An inclusive range of dates."""

    start: pendulum.Date
    end: pendulum.Date

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", as_date(self.start))
        object.__setattr__(self, "end", as_date(self.end))
        if self.end < self.start:
            raise ValueError(f"window end {self.end} is before its start {self.start}")

    def __contains__(self, d: object) -> bool:
        return isinstance(d, date) and self.start <= as_date(d) <= self.end


@dataclass(frozen=True, order=True)
class Period:
    """One reporting period: an ISO week, a month, quarter, half-year or year.

    A week belongs to its ISO year (`year`), so 2025-W01 starts on Monday 30/12/2024.
    """

    year: int
    cadence: Cadence
    index: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "cadence", Cadence(self.cadence))
        if not 1 <= self.year <= 9999:
            raise ValueError(f"period year {self.year} is outside 1–9999")
        count = self.cadence.count_in_year(self.year)
        if not 1 <= self.index <= count:
            raise ValueError(
                f"period index {self.index} is outside 1–{count} for a {self.cadence.value} period"
            )

    @property
    def label(self) -> str:
        """The canonical label: 2024-W05, 2024-03, 2024-Q1, 2024-H1 or 2024."""
        match self.cadence:
            case Cadence.WEEKLY:
                return f"{self.year:04d}-W{self.index:02d}"
            case Cadence.MONTHLY:
                return f"{self.year:04d}-{self.index:02d}"
            case Cadence.QUARTERLY:
                return f"{self.year:04d}-Q{self.index}"
            case Cadence.HALF_YEARLY:
                return f"{self.year:04d}-H{self.index}"
            case Cadence.YEARLY:
                return f"{self.year:04d}"

    def __str__(self) -> str:
        return self.label

    @classmethod
    def parse(cls, label: str) -> Period:
        """The period a label names; the inverse of label."""
        m = _LABEL_RE.fullmatch(label)
        if m is None:
            raise ValueError(
                f"bad period label {label!r}: expected YYYY-Www, YYYY-MM, YYYY-Qn, YYYY-Hn or YYYY"
            )
        year = int(m["year"])
        if m["month"] is not None:
            cadence, index = Cadence.MONTHLY, int(m["month"])
        elif m["quarter"] is not None:
            cadence, index = Cadence.QUARTERLY, int(m["quarter"])
        elif m["half"] is not None:
            cadence, index = Cadence.HALF_YEARLY, int(m["half"])
        elif m["week"] is not None:
            cadence, index = Cadence.WEEKLY, int(m["week"])
        else:
            cadence, index = Cadence.YEARLY, 1
        try:
            return cls(year, cadence, index)
        except ValueError as exc:
            raise ValueError(f"bad period label {label!r}: {exc}") from None

    @property
    def first_month(self) -> int:
        """The first calendar month of the period in its year (1–12)."""
        if self.cadence is Cadence.WEEKLY:
            return self.start.month if self.start.year == self.year else 1
        return (self.index - 1) * self.cadence.months + 1

    @property
    def last_month(self) -> int:
        """The last calendar month of the period in its year (1–12)."""
        if self.cadence is Cadence.WEEKLY:
            return self.end.month if self.end.year == self.year else 12
        return self.index * self.cadence.months

    @property
    def start(self) -> pendulum.Date:
        """The first calendar day of the period (a Monday for a week)."""
        if self.cadence is Cadence.WEEKLY:
            return as_date(date.fromisocalendar(self.year, self.index, 1))
        return pendulum.date(self.year, self.first_month, 1)

    @property
    def end(self) -> pendulum.Date:
        """The last calendar day of the period (a Sunday for a week)."""
        if self.cadence is Cadence.WEEKLY:
            return self.start.add(days=6)
        return pendulum.date(self.year, self.last_month, 1).end_of("month")

    def window(self, convention: WindowConvention) -> Window:
        """The dates whose data the period's report covers.

        Decree 09 sets no cut-off for weeks: a weekly report covers its week either way.
        """
        if self.cadence is Cadence.WEEKLY:
            return Window(self.start, self.end)
        match WindowConvention(convention):
            case WindowConvention.CALENDAR:
                return Window(self.start, self.end)
            case WindowConvention.DECREE_09:
                # Opens the day after the previous cut-off, which is in the month before the
                # period (December of the previous year for the first period of a year).
                before = self.start.subtract(months=1)
                opens = pendulum.date(before.year, before.month, _CUTOFF_DAY + 1)
                closes = pendulum.date(self.year, self.last_month, _CUTOFF_DAY)
                return Window(opens, closes)
        raise ValueError(f"unknown window convention {convention!r}")  # pragma: no cover

    def next(self) -> Period:
        """The following period of the same cadence."""
        if self.index == self.cadence.count_in_year(self.year):
            return Period(self.year + 1, self.cadence, 1)
        return Period(self.year, self.cadence, self.index + 1)

    def previous(self) -> Period:
        """The preceding period of the same cadence."""
        if self.index == 1:
            return Period(self.year - 1, self.cadence, self.cadence.count_in_year(self.year - 1))
        return Period(self.year, self.cadence, self.index - 1)

    @property
    def title_vi(self) -> str:
        """The period as written in a Vietnamese report title."""
        match self.cadence:
            case Cadence.WEEKLY:
                span = f"từ {self.start:%d/%m/%Y} đến {self.end:%d/%m/%Y}"
                return f"tuần {self.index:02d} năm {self.year} ({span})"
            case Cadence.MONTHLY:
                return f"tháng {self.index} năm {self.year}"
            case Cadence.QUARTERLY:
                return f"quý {_ROMAN[self.index - 1]} năm {self.year}"
            case Cadence.HALF_YEARLY:
                half = "đầu" if self.index == 1 else "cuối"
                return f"6 tháng {half} năm {self.year}"
            case Cadence.YEARLY:
                return f"năm {self.year}"


def periods_in_year(cadence: Cadence, year: int) -> list[Period]:
    """All periods of a cadence in a year (ISO weeks of the ISO year), in order."""
    c = Cadence(cadence)
    return [Period(year, c, i) for i in range(1, c.count_in_year(year) + 1)]
