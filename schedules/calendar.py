"""Vietnamese working-day calendar: holidays, make-up Saturdays, overrides and local instants."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

import holidays
import pendulum

VN_TZ = "Asia/Ho_Chi_Minh"
_VN_ZONE = ZoneInfo(VN_TZ)

# A run of days off longer than this means the override table is broken (Tết is at most ~9 days);
# failing loudly beats looping forever.
_MAX_SCAN_DAYS = 366

# The holidays package's Vietnamese names, adjusted to the spelling used in official documents.
_NAME_FIXES = {
    "Quốc khánh": "Ngày Quốc khánh",
}


class DayKind(StrEnum):
    """Whether a day is worked or not."""

    DAY_OFF = "day_off"
    WORKDAY = "workday"


@dataclass(frozen=True)
class CalendarOverride:
    """A government announcement the holidays package misses."""

    day: date
    kind: DayKind
    reason: str
    announcement: str | None = None  # the announcement's title; None: a plan file's own day

    def __post_init__(self) -> None:
        object.__setattr__(self, "day", as_date(self.day))
        object.__setattr__(self, "kind", DayKind(self.kind))
        if not self.reason.strip():
            raise ValueError(f"CalendarOverride for {self.day}: reason must not be empty")


@dataclass(frozen=True)
class CalendarDay:
    """One entry of the calendar listing: a weekday off or a weekend day worked."""

    day: date
    kind: DayKind
    name: str
    source: str  # LAW (the holidays package) or ANNOUNCEMENT (a stored override)
    basis: str  # the law's article, or the announcement's title


LAW = "law"
ANNOUNCEMENT = "announcement"
# Public holidays and the days off in lieu of those falling on a weekend.
LAW_BASIS = "Bộ luật Lao động 2019, Điều 112 (gói holidays)"
# Swapped days and make-up Saturdays of past years the package already carries.
PACKAGED_BASIS = "Thông báo hoán đổi ngày làm việc của Chính phủ (đã có trong gói holidays)"


def as_date(d: date) -> pendulum.Date:
    """Convert any plain date to a pendulum.Date; refuse datetimes."""
    # A datetime is a date subclass, but its calendar date depends on the time zone: make the
    # caller choose (local_date) instead of silently using whatever wall clock it carries.
    if isinstance(d, datetime):
        raise TypeError(f"expected a date, got the datetime {d!r}; use local_date() first")
    if not isinstance(d, date):
        raise TypeError(f"expected a date, got {type(d).__name__}")
    return pendulum.date(d.year, d.month, d.day)


def _vi_name(name: str) -> str:
    # The package may join several names for one day with "; ".
    parts = [_NAME_FIXES.get(p, p).replace("Nguyên Đán", "Nguyên đán") for p in name.split("; ")]
    return "; ".join(parts)


class WorkCalendar:
    """Mon–Fri minus public holidays and days off, plus make-up working days."""

    def __init__(self, overrides: Iterable[CalendarOverride] = ()) -> None:
        self._overrides: dict[pendulum.Date, CalendarOverride] = {}
        for o in overrides:
            key = as_date(o.day)
            known = self._overrides.get(key)
            if known is not None and (known.kind, known.reason) != (o.kind, o.reason):
                raise ValueError(f"conflicting calendar overrides for {key}")
            self._overrides[key] = o
        self._holidays = holidays.country_holidays("VN", language="vi")
        self._loaded_years: set[int] = set()
        # Status of thousands of items asks the same few (deadline, today) spans over and over.
        self._between: dict[tuple[pendulum.Date, pendulum.Date], int] = {}

    @property
    def overrides(self) -> tuple[CalendarOverride, ...]:
        """The overrides in date order."""
        return tuple(self._overrides[k] for k in sorted(self._overrides))

    def _load(self, year: int) -> None:
        # weekend_workdays is only filled for the years the package has populated, and a
        # make-up day may be declared in the next year's table, so load both.
        for y in (year, year + 1):
            if y not in self._loaded_years:
                _ = date(y, 1, 1) in self._holidays
                self._loaded_years.add(y)

    def _package_kind(self, d: pendulum.Date) -> DayKind:
        self._load(d.year)
        if d.weekday() >= 5:
            return DayKind.WORKDAY if d in self._holidays.weekend_workdays else DayKind.DAY_OFF
        return DayKind.DAY_OFF if d in self._holidays else DayKind.WORKDAY

    def is_working_day(self, d: date) -> bool:
        """Whether d is a working day for government offices."""
        day = as_date(d)
        override = self._overrides.get(day)
        if override is not None:
            return override.kind is DayKind.WORKDAY
        return self._package_kind(day) is DayKind.WORKDAY

    def roll_forward(self, d: date) -> pendulum.Date:
        """d if it is a working day, else the next working day (Civil Code art. 148)."""
        day = as_date(d)
        for _ in range(_MAX_SCAN_DAYS):
            if self.is_working_day(day):
                return day
            day = day.add(days=1)
        raise RuntimeError(f"no working day within {_MAX_SCAN_DAYS} days after {d}")

    def roll_back(self, d: date) -> pendulum.Date:
        """d if it is a working day, else the previous working day."""
        day = as_date(d)
        for _ in range(_MAX_SCAN_DAYS):
            if self.is_working_day(day):
                return day
            day = day.subtract(days=1)
        raise RuntimeError(f"no working day within {_MAX_SCAN_DAYS} days before {d}")

    def next_working_day(self, d: date) -> pendulum.Date:
        """The first working day strictly after d."""
        return self.roll_forward(as_date(d).add(days=1))

    def previous_working_day(self, d: date) -> pendulum.Date:
        """The last working day strictly before d."""
        return self.roll_back(as_date(d).subtract(days=1))

    def add_working_days(self, d: date, n: int) -> pendulum.Date:
        """The n-th working day after d (n < 0: before d); n == 0 rolls d forward."""
        day = as_date(d)
        if n == 0:
            return self.roll_forward(day)
        step = self.next_working_day if n > 0 else self.previous_working_day
        for _ in range(abs(n)):
            day = step(day)
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in (start, end]; negative when end is before start."""
        a, b = as_date(start), as_date(end)
        if b < a:
            return -self.working_days_between(b, a)
        cached = self._between.get((a, b))
        if cached is None:
            cached = 0
            day = a.add(days=1)
            while day <= b:
                cached += self.is_working_day(day)
                day = day.add(days=1)
            self._between[(a, b)] = cached
        return cached

    def days(self, year: int) -> list[CalendarDay]:
        """Every weekday off and every weekend day worked in the year, in date order."""
        self._load(year)
        out: list[CalendarDay] = []
        day = pendulum.date(year, 1, 1)
        while day.year == year:
            weekend = day.weekday() >= 5
            kind = DayKind.WORKDAY if self.is_working_day(day) else DayKind.DAY_OFF
            # Only departures from the plain Mon–Fri week are listed.
            if weekend == (kind is DayKind.WORKDAY):
                override = self._overrides.get(day)
                if override is not None:
                    basis = override.announcement or "Kế hoạch (mục calendar của tệp kế hoạch)"
                    out.append(CalendarDay(day, kind, override.reason, ANNOUNCEMENT, basis))
                else:
                    out.append(self._package_day(day, kind))
            day = day.add(days=1)
        return out

    def _package_day(self, day: pendulum.Date, kind: DayKind) -> CalendarDay:
        name = self._package_name(day, kind)
        swapped = self._holidays.substituted_label.split("%s")[0]
        if kind is DayKind.WORKDAY or name.startswith(swapped):
            return CalendarDay(day, kind, name, ANNOUNCEMENT, PACKAGED_BASIS)
        return CalendarDay(day, kind, name, LAW, LAW_BASIS)

    def _package_name(self, day: pendulum.Date, kind: DayKind) -> str:
        if kind is DayKind.DAY_OFF:
            return _vi_name(str(self._holidays.get(day)))
        # The package names the day off a make-up day pays for, not the make-up day itself.
        stamp = day.strftime("%d/%m/%Y")
        for off, name in sorted(self._holidays.items()):
            if stamp in str(name):
                return f"Ngày làm bù (cho ngày nghỉ {off:%d/%m/%Y})"
        return "Ngày làm bù"


def working_instant(day: date, time: dt.time) -> datetime:
    """The aware Asia/Ho_Chi_Minh datetime of a local date and wall-clock time."""
    if time.tzinfo is not None:
        raise ValueError(f"time must be a naive local time, got {time!r}")
    d = as_date(day)
    return pendulum.datetime(
        d.year, d.month, d.day, time.hour, time.minute, time.second, time.microsecond, tz=VN_TZ
    )


def end_of_day(day: date) -> datetime:
    """24:00 local of day (00:00 local of the next day), as an aware UTC datetime."""
    nxt = as_date(day).add(days=1)
    return pendulum.datetime(nxt.year, nxt.month, nxt.day, tz=VN_TZ).in_timezone("UTC")


def local_date(instant: datetime) -> pendulum.Date:
    """The Asia/Ho_Chi_Minh calendar date of an aware instant."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"local_date needs an aware datetime, got the naive {instant!r}")
    # The standard library's conversion: pendulum.instance() costs 70 times as much, and a
    # province's report converts tens of thousands of instants.
    local = instant.astimezone(_VN_ZONE)
    return pendulum.date(local.year, local.month, local.day)
