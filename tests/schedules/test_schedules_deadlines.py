"""Deadline rules: raw dates, roll-forward over days off, instants and validation."""

from datetime import UTC, date, datetime, time, timedelta, timezone

import pendulum
import pytest

from schedules.calendar import CalendarOverride, DayKind, WorkCalendar
from schedules.deadlines import (
    Anchor,
    DeadlineKind,
    DeadlineRule,
    Weekday,
    deadline_date,
    deadline_instant,
)
from schedules.periods import Period, Window, WindowConvention

DOM = DeadlineKind.DAY_OF_MONTH
WDA = DeadlineKind.WORKING_DAYS_AFTER
DA = DeadlineKind.DAYS_AFTER
FIX = DeadlineKind.FIXED_DATE
WD = DeadlineKind.WEEKDAY
FRI = Weekday.FRIDAY
DECREE, CAL = WindowConvention.DECREE_09, WindowConvention.CALENDAR

PLAIN = WorkCalendar()


def due(rule: DeadlineRule, label: str, convention: WindowConvention, cal: WorkCalendar) -> date:
    period = Period.parse(label)
    return deadline_date(rule, period.window(convention), period.end, cal)


@pytest.mark.parametrize(
    ("rule", "label", "convention", "expected"),
    [
        # DAY_OF_MONTH with a month offset
        (DeadlineRule(DOM, day=15, month_offset=1), "2023-12", DECREE, date(2024, 1, 15)),
        (DeadlineRule(DOM, day=10, month_offset=1), "2024-01", DECREE, date(2024, 2, 15)),  # Tết
        (DeadlineRule(DOM, day=15, month_offset=1), "2024-05", DECREE, date(2024, 6, 17)),  # Sat
        (DeadlineRule(DOM, day=6, month_offset=0), "2024-Q1", DECREE, date(2024, 3, 6)),
        (DeadlineRule(DOM, day=31, month_offset=0), "2024-09", CAL, date(2024, 9, 30)),  # clamp
        (DeadlineRule(DOM, day=31, month_offset=1), "2024-01", CAL, date(2024, 2, 29)),  # leap
        (DeadlineRule(DOM, day=30, month_offset=1), "2023-01", CAL, date(2023, 2, 28)),
        (DeadlineRule(DOM, day=5, month_offset=2), "2024-Q4", DECREE, date(2025, 2, 5)),
        # DAY_OF_MONTH: the first such day strictly after the anchor
        (DeadlineRule(DOM, day=15), "2024-03", DECREE, date(2024, 3, 15)),
        (DeadlineRule(DOM, day=15), "2024-03", CAL, date(2024, 4, 15)),
        (DeadlineRule(DOM, day=14), "2024-03", DECREE, date(2024, 4, 15)),  # 14/4 is Sunday
        (DeadlineRule(DOM, day=31), "2024-04", DECREE, date(2024, 5, 2)),  # 30/4, clamped, off
        (DeadlineRule(DOM, day=5, anchor=Anchor.PERIOD_END), "2024-01", DECREE, date(2024, 2, 5)),
        # WORKING_DAYS_AFTER
        (DeadlineRule(WDA, n=2), "2024-01", DECREE, date(2024, 1, 16)),  # cut-off Sun 14/1
        (DeadlineRule(WDA, n=0), "2024-01", DECREE, date(2024, 1, 15)),
        (DeadlineRule(WDA, n=2, anchor=Anchor.PERIOD_END), "2024-04", DECREE, date(2024, 5, 3)),
        (DeadlineRule(WDA, n=3, anchor=Anchor.PERIOD_END), "2024-04", DECREE, date(2024, 5, 4)),
        (DeadlineRule(WDA, n=5), "2024-01", CAL, date(2024, 2, 7)),
        (DeadlineRule(WDA, n=6), "2024-01", CAL, date(2024, 2, 15)),  # over Tết
        # DAYS_AFTER
        (DeadlineRule(DA, n=10, anchor=Anchor.PERIOD_END), "2024-01", DECREE, date(2024, 2, 15)),
        (DeadlineRule(DA, n=5), "2024-H1", DECREE, date(2024, 6, 19)),
        (DeadlineRule(DA, n=1), "2024-H1", DECREE, date(2024, 6, 17)),  # Sat 15/6
        (DeadlineRule(DA, n=0), "2024-08", CAL, date(2024, 9, 4)),  # Sat 31/8, then 2/9, 3/9
        # FIXED_DATE
        (DeadlineRule(FIX, on=date(2024, 12, 31)), "2024", DECREE, date(2024, 12, 31)),
        (DeadlineRule(FIX, on=date(2024, 9, 1)), "2024-08", DECREE, date(2024, 9, 4)),
        (DeadlineRule(FIX, on=date(2024, 2, 10)), "2024-01", DECREE, date(2024, 2, 15)),
        # DAY_OF_MONTH before the period's last month (negative offset)
        (DeadlineRule(DOM, day=15, month_offset=-1), "2024", DECREE, date(2024, 11, 15)),
        (DeadlineRule(DOM, day=20, month_offset=-1), "2024-H1", DECREE, date(2024, 5, 20)),
        (DeadlineRule(DOM, day=25, month_offset=-1), "2024-Q2", CAL, date(2024, 5, 27)),  # Sat
        (DeadlineRule(DOM, day=30, month_offset=-2), "2024-Q2", CAL, date(2024, 5, 2)),  # 30/4
        (DeadlineRule(DOM, day=31, month_offset=-11), "2024", CAL, date(2024, 1, 31)),
        # WEEKDAY: ISO weeks, the weekday of the reporting week, rolled forward
        (DeadlineRule(WD, weekday=FRI), "2024-W05", CAL, date(2024, 2, 2)),
        (DeadlineRule(WD, weekday=FRI), "2024-W06", CAL, date(2024, 2, 15)),  # Tết 9-14/2
        (DeadlineRule(WD, weekday=Weekday.WEDNESDAY), "2024-W18", CAL, date(2024, 5, 2)),  # 1/5
        (
            DeadlineRule(WD, weekday=Weekday.MONDAY, week_offset=1),
            "2024-W05",
            DECREE,
            date(2024, 2, 5),
        ),
        (DeadlineRule(WD, weekday=FRI), "2025-W01", CAL, date(2025, 1, 3)),  # week from 30/12/2024
        (DeadlineRule(WD, weekday=FRI), "2020-W53", CAL, date(2021, 1, 4)),  # 1/1/2021, then Mon
        (DeadlineRule(WD, weekday=FRI), "2026-W01", CAL, date(2026, 1, 2)),  # no announcement
    ],
)
def test_deadline_date(
    rule: DeadlineRule, label: str, convention: WindowConvention, expected: date
) -> None:
    result = due(rule, label, convention, PLAIN)
    assert result == expected
    assert isinstance(result, pendulum.Date)


def test_the_2026_new_year_swap_moves_a_weekly_deadline() -> None:
    swapped = WorkCalendar(
        [
            CalendarOverride(date(2026, 1, 2), DayKind.DAY_OFF, "Nghỉ hoán đổi"),
            CalendarOverride(date(2026, 1, 10), DayKind.WORKDAY, "Làm bù"),
        ]
    )
    # Friday 02/01/2026 is swapped off: the report of week 1 is due Monday 05/01/2026.
    assert due(DeadlineRule(WD, weekday=FRI), "2026-W01", CAL, swapped) == date(2026, 1, 5)
    # Saturday 10/01/2026 is a make-up day, so a Saturday deadline stays on it.
    saturday = DeadlineRule(WD, weekday=Weekday.SATURDAY)
    assert due(saturday, "2026-W02", CAL, swapped) == date(2026, 1, 10)
    assert due(saturday, "2026-W02", CAL, PLAIN) == date(2026, 1, 12)


def test_2026_override_moves_a_deadline() -> None:
    cal = WorkCalendar(
        [
            CalendarOverride(date(2026, 1, 2), DayKind.DAY_OFF, "Nghỉ hoán đổi"),
            CalendarOverride(date(2026, 1, 10), DayKind.WORKDAY, "Làm bù"),
        ]
    )
    window = Window(pendulum.date(2025, 12, 1), pendulum.date(2025, 12, 31))
    rule = DeadlineRule(WDA, n=1)
    assert deadline_date(rule, window, date(2025, 12, 31), PLAIN) == date(2026, 1, 2)  # wrong
    assert deadline_date(rule, window, date(2025, 12, 31), cal) == date(2026, 1, 5)


@pytest.mark.parametrize(
    ("rule", "day", "iso"),
    [
        (DeadlineRule(FIX, on=date(2024, 4, 5)), date(2024, 4, 5), "2024-04-05T17:00:00+00:00"),
        (
            DeadlineRule(FIX, on=date(2024, 4, 5), time=time(17)),
            date(2024, 4, 5),
            "2024-04-05T10:00:00+00:00",
        ),
        (
            DeadlineRule(WDA, n=2, time=time(16, 30)),
            date(2024, 2, 15),
            "2024-02-15T09:30:00+00:00",
        ),
    ],
)
def test_deadline_instant(rule: DeadlineRule, day: date, iso: str) -> None:
    instant = deadline_instant(rule, day)
    assert instant.isoformat() == iso
    assert instant.utcoffset() == timedelta(0)


def test_end_of_day_instant_is_local_midnight() -> None:
    instant = deadline_instant(DeadlineRule(WDA, n=2), date(2024, 4, 5))
    assert instant == datetime(2024, 4, 6, 0, 0, tzinfo=timezone(timedelta(hours=7)))
    assert instant == datetime(2024, 4, 5, 17, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"kind": DOM}, "day"),
        ({"kind": DOM, "day": 0}, "day"),
        ({"kind": DOM, "day": 32}, "day"),
        ({"kind": DOM, "day": 15, "month_offset": -12}, "month_offset"),
        ({"kind": WD}, "weekday"),
        ({"kind": WD, "weekday": "friday", "week_offset": -1}, "week_offset"),
        ({"kind": WD, "weekday": "friday", "day": 5}, "day"),
        ({"kind": DOM, "day": 15, "n": 2}, "n"),
        ({"kind": WDA}, "n"),
        ({"kind": WDA, "n": -1}, "n"),
        ({"kind": DA, "n": -3}, "n"),
        ({"kind": DA, "n": 3, "day": 5}, "day"),
        ({"kind": FIX}, "on"),
        ({"kind": FIX, "on": date(2024, 1, 1), "n": 1}, "n"),
        ({"kind": WDA, "n": 2, "time": time(17, tzinfo=UTC)}, "time"),
    ],
)
def test_rule_validation(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ValueError, match=rf"\b{field}\b"):
        DeadlineRule(**kwargs)  # type: ignore[arg-type]


def test_rule_accepts_plain_strings() -> None:
    rule = DeadlineRule("working_days_after", n=2, anchor="period_end")  # type: ignore[arg-type]
    assert rule.kind is WDA
    assert rule.anchor is Anchor.PERIOD_END
    with pytest.raises(ValueError, match="bogus"):
        DeadlineRule("bogus")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("rule", "text"),
    [
        (DeadlineRule(DOM, day=15, month_offset=1), "ngày 15 tháng sau kỳ báo cáo"),
        (DeadlineRule(DOM, day=6, month_offset=0), "ngày 6 tháng cuối kỳ báo cáo"),
        (DeadlineRule(DOM, day=5, month_offset=2), "ngày 5 tháng thứ 2 sau kỳ báo cáo"),
        (DeadlineRule(DOM, day=31, month_offset=1), "ngày cuối cùng của tháng sau kỳ báo cáo"),
        (DeadlineRule(DOM, day=15), "ngày 15 kế tiếp sau ngày chốt số liệu"),
        (
            DeadlineRule(DOM, day=20, month_offset=-1),
            "ngày 20 tháng liền trước tháng cuối kỳ báo cáo",
        ),
        (
            DeadlineRule(DOM, day=10, month_offset=-2),
            "ngày 10 tháng thứ 2 trước tháng cuối kỳ báo cáo",
        ),
        (DeadlineRule(WD, weekday=FRI), "thứ Sáu của tuần báo cáo"),
        (DeadlineRule(WD, weekday=Weekday.MONDAY, week_offset=1), "thứ Hai tuần sau kỳ báo cáo"),
        (
            DeadlineRule(WD, weekday=Weekday.SUNDAY, week_offset=2),
            "Chủ nhật của tuần thứ 2 sau kỳ báo cáo",
        ),
        (DeadlineRule(WDA, n=2), "2 ngày làm việc sau ngày chốt số liệu"),
        (
            DeadlineRule(WDA, n=3, anchor=Anchor.PERIOD_END),
            "3 ngày làm việc sau ngày kết thúc kỳ báo cáo",
        ),
        (DeadlineRule(WDA, n=0), "trong ngày chốt số liệu"),
        (DeadlineRule(DA, n=10), "10 ngày sau ngày chốt số liệu"),
        (DeadlineRule(FIX, on=date(2024, 12, 31)), "ngày 31/12/2024"),
        (DeadlineRule(FIX, on=date(2025, 2, 5)), "ngày 05/02/2025"),
        (
            DeadlineRule(DOM, day=15, month_offset=1, time=time(16, 30)),
            "ngày 15 tháng sau kỳ báo cáo, trước 16 giờ 30",
        ),
        (
            DeadlineRule(WDA, n=2, time=time(17)),
            "2 ngày làm việc sau ngày chốt số liệu, trước 17 giờ",
        ),
    ],
)
def test_describe_vi(rule: DeadlineRule, text: str) -> None:
    assert rule.describe_vi() == text
