"""The calendar: working days, periods, data windows and deadlines (pure functions)."""

from schedules.calendar import (
    VN_TZ,
    CalendarDay,
    CalendarOverride,
    DayKind,
    WorkCalendar,
    end_of_day,
    local_date,
    working_instant,
)
from schedules.deadlines import (
    Anchor,
    DeadlineKind,
    DeadlineRule,
    deadline_date,
    deadline_instant,
)
from schedules.periods import Cadence, Period, Window, WindowConvention, periods_in_year

__all__ = [
    "VN_TZ",
    "Anchor",
    "Cadence",
    "CalendarDay",
    "CalendarOverride",
    "DayKind",
    "DeadlineKind",
    "DeadlineRule",
    "Period",
    "Window",
    "WindowConvention",
    "WorkCalendar",
    "deadline_date",
    "deadline_instant",
    "end_of_day",
    "local_date",
    "periods_in_year",
    "working_instant",
]
