"""Working days, overrides and local instants against real Vietnamese calendars."""

from datetime import UTC, date, datetime, time, timedelta, timezone

import pendulum
import pytest

from schedules.calendar import (
    ANNOUNCEMENT,
    LAW,
    LAW_BASIS,
    PACKAGED_BASIS,
    CalendarDay,
    CalendarOverride,
    DayKind,
    WorkCalendar,
    end_of_day,
    local_date,
    working_instant,
)

# The 2026 New Year swap, announced by the government but absent from the holidays package.
ANNOUNCED_2026 = "Thông báo lịch nghỉ năm 2026"
NEW_YEAR_2026 = (
    CalendarOverride(
        date(2026, 1, 2), DayKind.DAY_OFF, "Nghỉ Tết Dương lịch 2026 (hoán đổi)", ANNOUNCED_2026
    ),
    CalendarOverride(
        date(2026, 1, 10), DayKind.WORKDAY, "Làm bù cho ngày 02/01/2026", ANNOUNCED_2026
    ),
)

PLAIN = WorkCalendar()
WITH_2026 = WorkCalendar(NEW_YEAR_2026)


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2024, 1, 1), False),  # Tết Dương lịch, Monday
        (date(2024, 1, 2), True),
        (date(2024, 2, 7), True),  # Wednesday before Tết
        (date(2024, 2, 8), False),  # Tết 2024: Thu 8 Feb ...
        (date(2024, 2, 9), False),
        (date(2024, 2, 10), False),
        (date(2024, 2, 11), False),
        (date(2024, 2, 12), False),
        (date(2024, 2, 13), False),
        (date(2024, 2, 14), False),  # ... to Wed 14 Feb
        (date(2024, 2, 15), True),
        (date(2024, 2, 17), False),  # an ordinary Saturday
        (date(2024, 4, 17), True),
        (date(2024, 4, 18), False),  # Giỗ Tổ Hùng Vương
        (date(2024, 4, 29), False),  # substitute day off for Sat 4 May
        (date(2024, 4, 30), False),
        (date(2024, 5, 1), False),
        (date(2024, 5, 2), True),
        (date(2024, 5, 4), True),  # make-up Saturday
        (date(2024, 5, 11), False),  # the next Saturday is off again
        (date(2024, 9, 2), False),  # Quốc khánh
        (date(2024, 9, 3), False),  # the adjacent day
        (date(2024, 9, 4), True),
        (date(2025, 11, 24), True),  # Vietnam Cultural Day is a holiday only from 2026
        (date(2026, 11, 24), False),
        (pendulum.date(2024, 2, 12), False),  # pendulum dates are accepted too
    ],
)
def test_is_working_day(day: date, working: bool) -> None:
    assert PLAIN.is_working_day(day) is working


@pytest.mark.parametrize(
    ("day", "without_override", "with_override"),
    [
        (date(2026, 1, 1), False, False),
        (date(2026, 1, 2), True, False),  # Friday taken off
        (date(2026, 1, 5), True, True),
        (date(2026, 1, 10), False, True),  # Saturday worked instead
        (date(2026, 1, 17), False, False),
    ],
)
def test_2026_new_year_swap_needs_overrides(
    day: date, without_override: bool, with_override: bool
) -> None:
    assert PLAIN.is_working_day(day) is without_override
    assert WITH_2026.is_working_day(day) is with_override


def test_2026_new_year_swap_moves_deadlines() -> None:
    # Wrong without the announcement: Fri 2 Jan would count as a working day.
    assert PLAIN.roll_forward(date(2026, 1, 1)) == date(2026, 1, 2)
    assert WITH_2026.roll_forward(date(2026, 1, 1)) == date(2026, 1, 5)
    assert PLAIN.add_working_days(date(2025, 12, 31), 2) == date(2026, 1, 5)
    assert WITH_2026.add_working_days(date(2025, 12, 31), 2) == date(2026, 1, 6)
    assert PLAIN.working_days_between(date(2025, 12, 31), date(2026, 1, 9)) == 6
    assert WITH_2026.working_days_between(date(2025, 12, 31), date(2026, 1, 9)) == 5
    assert PLAIN.next_working_day(date(2026, 1, 9)) == date(2026, 1, 12)
    assert WITH_2026.next_working_day(date(2026, 1, 9)) == date(2026, 1, 10)


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2024, 2, 10), date(2024, 2, 15)),  # Tết
        (date(2024, 2, 7), date(2024, 2, 7)),  # already a working day
        (date(2024, 2, 17), date(2024, 2, 19)),  # weekend
        (date(2024, 4, 27), date(2024, 5, 2)),  # weekend, then 29/4, 30/4, 1/5
        (date(2024, 5, 4), date(2024, 5, 4)),  # make-up Saturday
        (date(2024, 8, 31), date(2024, 9, 4)),  # weekend, then 2/9 and 3/9
        (date(2026, 11, 24), date(2026, 11, 25)),
    ],
)
def test_roll_forward(day: date, expected: date) -> None:
    result = PLAIN.roll_forward(day)
    assert result == expected
    assert isinstance(result, pendulum.Date)


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2024, 2, 7), date(2024, 2, 15)),
        (date(2024, 2, 10), date(2024, 2, 15)),
        (date(2024, 5, 3), date(2024, 5, 4)),  # Friday, then the make-up Saturday
        (date(2024, 5, 4), date(2024, 5, 6)),
        (date(2024, 4, 17), date(2024, 4, 19)),  # over Hung Kings' day
    ],
)
def test_next_working_day(day: date, expected: date) -> None:
    assert PLAIN.next_working_day(day) == expected


@pytest.mark.parametrize(
    ("day", "n", "expected"),
    [
        (date(2024, 2, 7), 0, date(2024, 2, 7)),
        (date(2024, 2, 10), 0, date(2024, 2, 15)),  # n=0 rolls forward
        (date(2024, 2, 7), 1, date(2024, 2, 15)),
        (date(2024, 2, 7), 2, date(2024, 2, 16)),
        (date(2024, 2, 10), 1, date(2024, 2, 15)),  # from a day off: the next working day
        (date(2024, 2, 15), 1, date(2024, 2, 16)),  # d itself is not counted
        (date(2024, 4, 26), 1, date(2024, 5, 2)),
        (date(2024, 4, 26), 3, date(2024, 5, 4)),  # the make-up Saturday counts
        (date(2024, 2, 15), -1, date(2024, 2, 7)),
        (date(2024, 5, 6), -1, date(2024, 5, 4)),
        (date(2024, 5, 2), -1, date(2024, 4, 26)),
        (date(2024, 2, 10), -1, date(2024, 2, 7)),
    ],
)
def test_add_working_days(day: date, n: int, expected: date) -> None:
    assert PLAIN.add_working_days(day, n) == expected


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (date(2024, 2, 7), date(2024, 2, 7), 0),
        (date(2024, 2, 7), date(2024, 2, 15), 1),
        (date(2024, 2, 15), date(2024, 2, 7), -1),
        (date(2024, 4, 26), date(2024, 5, 6), 4),  # 2, 3, 4 (Sat), 6 May
        (date(2024, 1, 31), date(2024, 2, 29), 16),  # 21 weekdays minus 5 of Tết
        (date(2024, 8, 30), date(2024, 9, 6), 3),
    ],
)
def test_working_days_between(start: date, end: date, expected: int) -> None:
    assert PLAIN.working_days_between(start, end) == expected


def test_days_2024() -> None:
    days = PLAIN.days(2024)
    assert [(d.day, d.kind) for d in days] == [
        (date(2024, 1, 1), DayKind.DAY_OFF),
        (date(2024, 2, 8), DayKind.DAY_OFF),
        (date(2024, 2, 9), DayKind.DAY_OFF),
        (date(2024, 2, 12), DayKind.DAY_OFF),
        (date(2024, 2, 13), DayKind.DAY_OFF),
        (date(2024, 2, 14), DayKind.DAY_OFF),
        (date(2024, 4, 18), DayKind.DAY_OFF),
        (date(2024, 4, 29), DayKind.DAY_OFF),
        (date(2024, 4, 30), DayKind.DAY_OFF),
        (date(2024, 5, 1), DayKind.DAY_OFF),
        (date(2024, 5, 4), DayKind.WORKDAY),
        (date(2024, 9, 2), DayKind.DAY_OFF),
        (date(2024, 9, 3), DayKind.DAY_OFF),
    ]
    # The 2024 Labour Day swap (off Mon 29/04, worked Sat 04/05) was announced, not legislated.
    swap = {date(2024, 4, 29), date(2024, 5, 4)}
    assert {(d.source, d.basis) for d in days if d.day not in swap} == {(LAW, LAW_BASIS)}
    assert {(d.source, d.basis) for d in days if d.day in swap} == {(ANNOUNCEMENT, PACKAGED_BASIS)}
    names = {d.day: d.name for d in days}
    assert names[date(2024, 1, 1)] == "Tết Dương lịch"
    assert names[date(2024, 2, 9)] == "Giao thừa Tết Nguyên đán"
    assert names[date(2024, 4, 18)] == "Ngày Giỗ Tổ Hùng Vương"
    assert names[date(2024, 9, 2)] == "Ngày Quốc khánh"
    assert names[date(2024, 5, 4)] == "Ngày làm bù (cho ngày nghỉ 29/04/2024)"


def test_days_2026_with_overrides() -> None:
    by_day = {d.day: d for d in WITH_2026.days(2026)}
    assert by_day[date(2026, 1, 2)] == CalendarDay(
        date(2026, 1, 2),
        DayKind.DAY_OFF,
        "Nghỉ Tết Dương lịch 2026 (hoán đổi)",
        ANNOUNCEMENT,
        ANNOUNCED_2026,
    )
    assert by_day[date(2026, 1, 10)] == CalendarDay(
        date(2026, 1, 10),
        DayKind.WORKDAY,
        "Làm bù cho ngày 02/01/2026",
        ANNOUNCEMENT,
        ANNOUNCED_2026,
    )
    assert by_day[date(2026, 11, 24)].source == LAW
    assert by_day[date(2026, 11, 24)].name == "Ngày Văn hóa Việt Nam"
    assert by_day[date(2026, 2, 17)].name == "Tết Nguyên đán"
    assert by_day[date(2026, 8, 22)].kind is DayKind.WORKDAY
    # Hung Kings' day falls on Sunday 26 Apr 2026: only the Monday substitute is listed.
    assert date(2026, 4, 26) not in by_day
    assert by_day[date(2026, 4, 27)].kind is DayKind.DAY_OFF
    assert list(by_day) == sorted(by_day)
    assert date(2026, 1, 2) not in {d.day for d in PLAIN.days(2026)}


def test_override_beats_the_holidays_package() -> None:
    cal = WorkCalendar([CalendarOverride(date(2024, 4, 29), DayKind.WORKDAY, "thử nghiệm")])
    assert cal.is_working_day(date(2024, 4, 29))
    assert PLAIN.is_working_day(date(2024, 4, 29)) is False


def test_conflicting_overrides_are_rejected() -> None:
    with pytest.raises(ValueError, match="2026-01-02"):
        WorkCalendar(
            [
                CalendarOverride(date(2026, 1, 2), DayKind.DAY_OFF, "nghỉ"),
                CalendarOverride(date(2026, 1, 2), DayKind.WORKDAY, "làm"),
            ]
        )


def test_datetimes_are_refused_as_dates() -> None:
    with pytest.raises(TypeError, match="local_date"):
        PLAIN.is_working_day(datetime(2024, 2, 10, tzinfo=UTC))


def test_end_of_day() -> None:
    instant = end_of_day(date(2024, 4, 5))
    assert instant.isoformat() == "2024-04-05T17:00:00+00:00"
    assert instant == datetime(2024, 4, 6, tzinfo=timezone(timedelta(hours=7)))
    assert instant.utcoffset() == timedelta(0)


def test_working_instant() -> None:
    instant = working_instant(date(2024, 4, 5), time(7, 30))
    assert instant.isoformat() == "2024-04-05T07:30:00+07:00"
    assert instant == datetime(2024, 4, 5, 0, 30, tzinfo=UTC)
    with pytest.raises(ValueError, match="naive"):
        working_instant(date(2024, 4, 5), time(7, 30, tzinfo=UTC))


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        (datetime(2024, 4, 5, 16, 59, 59, tzinfo=UTC), date(2024, 4, 5)),
        (datetime(2024, 4, 5, 17, 0, tzinfo=UTC), date(2024, 4, 6)),
        (datetime(2024, 4, 6, 0, 0, tzinfo=timezone(timedelta(hours=7))), date(2024, 4, 6)),
        (pendulum.datetime(2023, 12, 31, 18, tz="UTC"), date(2024, 1, 1)),
    ],
)
def test_local_date(instant: datetime, expected: date) -> None:
    result = local_date(instant)
    assert result == expected
    assert isinstance(result, pendulum.Date)
    assert not isinstance(result, datetime)


def test_local_date_refuses_naive() -> None:
    with pytest.raises(ValueError, match="naive"):
        local_date(datetime(2024, 4, 5, 12))
