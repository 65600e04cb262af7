"""Deadline rules and how they turn into a due date and a due instant."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

import pendulum

from schedules.calendar import WorkCalendar, as_date, end_of_day, working_instant
from schedules.periods import Window


class DeadlineKind(StrEnum):
    """The shape of a deadline rule."""

    DAY_OF_MONTH = "day_of_month"
    WEEKDAY = "weekday"
    WORKING_DAYS_AFTER = "working_days_after"
    DAYS_AFTER = "days_after"
    FIXED_DATE = "fixed_date"


class Anchor(StrEnum):
    """The date a relative deadline counts from."""

    WINDOW_END = "window_end"
    PERIOD_END = "period_end"


class Weekday(StrEnum):
    """A day of the week, for weekly deadlines ("every Friday")."""

    MONDAY = "monday"
    TUESDAY = "tuesday"
    WEDNESDAY = "wednesday"
    THURSDAY = "thursday"
    FRIDAY = "friday"
    SATURDAY = "saturday"
    SUNDAY = "sunday"

    @property
    def number(self) -> int:
        """0 for Monday ... 6 for Sunday, as `date.weekday()`."""
        return list(Weekday).index(self)

    @property
    def vi(self) -> str:
        """The day's Vietnamese name: "thứ Sáu", "Chủ nhật"."""
        return "Chủ nhật" if self is Weekday.SUNDAY else f"thứ {_WEEKDAY_VI[self.number]}"


_WEEKDAY_VI = ("Hai", "Ba", "Tư", "Năm", "Sáu", "Bảy")

# A day-of-month deadline may fall at most this many months before the period's last month
# (a yearly report due in November of the year it covers).
MAX_MONTHS_BEFORE = 11

_ANCHOR_VI = {
    Anchor.WINDOW_END: "ngày chốt số liệu",
    Anchor.PERIOD_END: "ngày kết thúc kỳ báo cáo",
}

# Which optional fields each kind uses; the rest must stay None so a typo in a plan file
# (say, n on a day-of-month rule) is reported instead of silently ignored.
_FIELDS = {
    DeadlineKind.DAY_OF_MONTH: {"day", "month_offset"},
    DeadlineKind.WEEKDAY: {"weekday", "week_offset"},
    DeadlineKind.WORKING_DAYS_AFTER: {"n"},
    DeadlineKind.DAYS_AFTER: {"n"},
    DeadlineKind.FIXED_DATE: {"on"},
}


@dataclass(frozen=True)
class DeadlineRule:
    """When a report is due, as data on the obligation."""

    kind: DeadlineKind
    day: int | None = None
    month_offset: int | None = None
    n: int | None = None
    anchor: Anchor = Anchor.WINDOW_END
    on: date | None = None
    time: dt.time | None = None
    weekday: Weekday | None = None
    week_offset: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", DeadlineKind(self.kind))
        object.__setattr__(self, "anchor", Anchor(self.anchor))
        kind = self.kind
        for name in ("day", "month_offset", "n", "on", "weekday", "week_offset"):
            if getattr(self, name) is not None and name not in _FIELDS[kind]:
                raise ValueError(f"{name} is not used by a {kind.value} deadline rule")
        if kind is DeadlineKind.DAY_OF_MONTH:
            if self.day is None:
                raise ValueError("day is required for a day_of_month deadline rule")
            if not 1 <= self.day <= 31:
                raise ValueError(f"day must be 1–31, got {self.day}")
            if self.month_offset is not None and self.month_offset < -MAX_MONTHS_BEFORE:
                raise ValueError(
                    f"month_offset must be >= {-MAX_MONTHS_BEFORE}, got {self.month_offset}"
                )
        elif kind is DeadlineKind.WEEKDAY:
            if self.weekday is None:
                raise ValueError("weekday is required for a weekday deadline rule")
            object.__setattr__(self, "weekday", Weekday(self.weekday))
            if self.week_offset is not None and self.week_offset < 0:
                raise ValueError(f"week_offset must be >= 0, got {self.week_offset}")
        elif kind in (DeadlineKind.WORKING_DAYS_AFTER, DeadlineKind.DAYS_AFTER):
            if self.n is None:
                raise ValueError(f"n is required for a {kind.value} deadline rule")
            if self.n < 0:
                raise ValueError(f"n must be >= 0, got {self.n}")
        elif kind is DeadlineKind.FIXED_DATE:
            if self.on is None:
                raise ValueError("on is required for a fixed_date deadline rule")
            object.__setattr__(self, "on", as_date(self.on))
        if self.time is not None and self.time.tzinfo is not None:
            raise ValueError(f"time must be a naive local time, got {self.time!r}")

    def describe_vi(self) -> str:
        """The rule in short Vietnamese, e.g. "ngày 15 tháng sau kỳ báo cáo"."""
        text = self._describe_day_vi()
        if self.time is not None:
            clock = f"{self.time.hour} giờ"
            if self.time.minute:
                clock += f" {self.time.minute:02d}"
            text += f", trước {clock}"
        return text

    def _describe_day_vi(self) -> str:
        anchor = _ANCHOR_VI[self.anchor]
        match self.kind:
            case DeadlineKind.DAY_OF_MONTH:
                assert self.day is not None
                # Day 31 is clamped to the month's length, so it always means the last day.
                last = self.day == 31
                match self.month_offset:
                    case None:
                        day = "ngày cuối tháng" if last else f"ngày {self.day}"
                        return f"{day} kế tiếp sau {anchor}"
                    case 0:
                        month = "tháng cuối kỳ báo cáo"
                    case 1:
                        month = "tháng sau kỳ báo cáo"
                    case -1:
                        month = "tháng liền trước tháng cuối kỳ báo cáo"
                    case k if k < 0:
                        month = f"tháng thứ {-k} trước tháng cuối kỳ báo cáo"
                    case k:
                        month = f"tháng thứ {k} sau kỳ báo cáo"
                return f"ngày cuối cùng của {month}" if last else f"ngày {self.day} {month}"
            case DeadlineKind.WEEKDAY:
                assert self.weekday is not None
                match self.week_offset or 0:
                    case 0:
                        week = "của tuần báo cáo"
                    case 1:
                        week = "tuần sau kỳ báo cáo"
                    case k:
                        week = f"của tuần thứ {k} sau kỳ báo cáo"
                return f"{self.weekday.vi} {week}"
            case DeadlineKind.WORKING_DAYS_AFTER:
                return f"{self.n} ngày làm việc sau {anchor}" if self.n else f"trong {anchor}"
            case DeadlineKind.DAYS_AFTER:
                return f"{self.n} ngày sau {anchor}" if self.n else f"trong {anchor}"
            case DeadlineKind.FIXED_DATE:
                assert self.on is not None
                return f"ngày {self.on:%d/%m/%Y}"


def _clamped(year: int, month: int, day: int) -> pendulum.Date:
    return pendulum.date(year, month, min(day, pendulum.date(year, month, 1).days_in_month))


def deadline_date(
    rule: DeadlineRule, window: Window, period_end: date, calendar: WorkCalendar
) -> pendulum.Date:
    """The due date: the rule's raw date rolled to a working day (Civil Code art. 148)."""
    anchor = as_date(window.end if rule.anchor is Anchor.WINDOW_END else period_end)
    match rule.kind:
        case DeadlineKind.DAY_OF_MONTH:
            assert rule.day is not None
            if rule.month_offset is not None:
                month = as_date(period_end).start_of("month").add(months=rule.month_offset)
                raw = _clamped(month.year, month.month, rule.day)
            else:
                raw = _clamped(anchor.year, anchor.month, rule.day)
                if raw <= anchor:
                    month = anchor.start_of("month").add(months=1)
                    raw = _clamped(month.year, month.month, rule.day)
        case DeadlineKind.WEEKDAY:
            assert rule.weekday is not None
            # That weekday of the week holding the period's last day, week_offset weeks on.
            end = as_date(period_end)
            monday = end.subtract(days=end.weekday())
            raw = monday.add(weeks=rule.week_offset or 0, days=rule.weekday.number)
        case DeadlineKind.WORKING_DAYS_AFTER:
            assert rule.n is not None
            raw = calendar.add_working_days(anchor, rule.n)
        case DeadlineKind.DAYS_AFTER:
            assert rule.n is not None
            raw = anchor.add(days=rule.n)
        case DeadlineKind.FIXED_DATE:
            assert rule.on is not None
            raw = as_date(rule.on)
    return calendar.roll_forward(raw)


def deadline_instant(rule: DeadlineRule, day: date) -> datetime:
    """The aware UTC instant the deadline ends on its (already rolled) due date."""
    if rule.time is None:
        return end_of_day(day)
    return pendulum.instance(working_instant(day, rule.time)).in_timezone("UTC")
