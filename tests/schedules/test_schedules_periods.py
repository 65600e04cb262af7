"""Period labels, titles and data windows."""

from datetime import date, timedelta
from itertools import pairwise

import pendulum
import pytest

from schedules.periods import Cadence, Period, Window, WindowConvention, periods_in_year

M, Q, H, Y = Cadence.MONTHLY, Cadence.QUARTERLY, Cadence.HALF_YEARLY, Cadence.YEARLY


@pytest.mark.parametrize(
    ("period", "label"),
    [
        (Period(2024, M, 3), "2024-03"),
        (Period(2024, M, 12), "2024-12"),
        (Period(2024, Q, 1), "2024-Q1"),
        (Period(2024, H, 2), "2024-H2"),
        (Period(2024, Y, 1), "2024"),
        (Period(2024, Cadence.WEEKLY, 5), "2024-W05"),
        (Period(2020, Cadence.WEEKLY, 53), "2020-W53"),
    ],
)
def test_label_and_parse(period: Period, label: str) -> None:
    assert period.label == label
    assert Period.parse(label) == period


@pytest.mark.parametrize("cadence", list(Cadence))
def test_label_round_trip(cadence: Cadence) -> None:
    for period in periods_in_year(cadence, 2024):
        assert Period.parse(period.label) == period


@pytest.mark.parametrize(
    "label",
    [
        "2024-13",
        "2024-00",
        "2024-Q5",
        "2024-Q0",
        "2024-H3",
        "2024-W00",
        "2024-W53",  # 2024 has 52 ISO weeks
        "2024-W5",
        "24-01",
        "2024-1",
        "2024-q1",
        "",
        " 2024",
    ],
)
def test_parse_bad_labels(label: str) -> None:
    with pytest.raises(ValueError, match=f"bad period label '{label}'"):
        Period.parse(label)


def test_bad_index() -> None:
    with pytest.raises(ValueError, match="index"):
        Period(2024, Q, 5)


@pytest.mark.parametrize(
    ("label", "start", "end"),
    [
        ("2024-01", date(2023, 12, 15), date(2024, 1, 14)),
        ("2024-03", date(2024, 2, 15), date(2024, 3, 14)),
        ("2024-12", date(2024, 11, 15), date(2024, 12, 14)),
        ("2024-Q1", date(2023, 12, 15), date(2024, 3, 14)),
        ("2024-Q2", date(2024, 3, 15), date(2024, 6, 14)),
        ("2024-Q4", date(2024, 9, 15), date(2024, 12, 14)),
        ("2024-H1", date(2023, 12, 15), date(2024, 6, 14)),
        ("2024-H2", date(2024, 6, 15), date(2024, 12, 14)),
        ("2024", date(2023, 12, 15), date(2024, 12, 14)),
    ],
)
def test_decree09_windows(label: str, start: date, end: date) -> None:
    window = Period.parse(label).window(WindowConvention.DECREE_09)
    assert (window.start, window.end) == (start, end)
    assert isinstance(window.start, pendulum.Date)


@pytest.mark.parametrize(
    ("label", "start", "end"),
    [
        ("2024-02", date(2024, 2, 1), date(2024, 2, 29)),  # leap year
        ("2023-02", date(2023, 2, 1), date(2023, 2, 28)),
        ("2024-04", date(2024, 4, 1), date(2024, 4, 30)),
        ("2024-Q1", date(2024, 1, 1), date(2024, 3, 31)),
        ("2024-Q2", date(2024, 4, 1), date(2024, 6, 30)),
        ("2024-H2", date(2024, 7, 1), date(2024, 12, 31)),
        ("2024", date(2024, 1, 1), date(2024, 12, 31)),
    ],
)
def test_calendar_windows(label: str, start: date, end: date) -> None:
    period = Period.parse(label)
    window = period.window(WindowConvention.CALENDAR)
    assert (window.start, window.end) == (start, end)
    assert (period.start, period.end) == (start, end)


@pytest.mark.parametrize("convention", list(WindowConvention))
@pytest.mark.parametrize("cadence", list(Cadence))
def test_windows_tile_without_gaps(cadence: Cadence, convention: WindowConvention) -> None:
    periods = periods_in_year(cadence, 2023) + periods_in_year(cadence, 2024)
    for a, b in pairwise(periods):
        assert b.window(convention).start == a.window(convention).end + timedelta(days=1)


def test_window_contains() -> None:
    window = Period.parse("2024-01").window(WindowConvention.DECREE_09)
    assert date(2023, 12, 15) in window
    assert date(2024, 1, 14) in window
    assert date(2024, 1, 15) not in window


def test_window_rejects_reversed_dates() -> None:
    with pytest.raises(ValueError, match="before its start"):
        Window(pendulum.date(2024, 2, 1), pendulum.date(2024, 1, 31))


@pytest.mark.parametrize(
    ("label", "nxt", "prev"),
    [
        ("2024-12", "2025-01", "2024-11"),
        ("2024-01", "2024-02", "2023-12"),
        ("2024-Q1", "2024-Q2", "2023-Q4"),
        ("2024-Q4", "2025-Q1", "2024-Q3"),
        ("2024-H2", "2025-H1", "2024-H1"),
        ("2024", "2025", "2023"),
        ("2024-W52", "2025-W01", "2024-W51"),
        ("2021-W01", "2021-W02", "2020-W53"),
    ],
)
def test_next_and_previous(label: str, nxt: str, prev: str) -> None:
    period = Period.parse(label)
    assert period.next().label == nxt
    assert period.previous().label == prev


@pytest.mark.parametrize(
    ("label", "title"),
    [
        ("2024-03", "tháng 3 năm 2024"),
        ("2024-11", "tháng 11 năm 2024"),
        ("2024-Q1", "quý I năm 2024"),
        ("2024-Q4", "quý IV năm 2024"),
        ("2024-H1", "6 tháng đầu năm 2024"),
        ("2024-H2", "6 tháng cuối năm 2024"),
        ("2024", "năm 2024"),
        ("2025-W01", "tuần 01 năm 2025 (từ 30/12/2024 đến 05/01/2025)"),
    ],
)
def test_title_vi(label: str, title: str) -> None:
    assert Period.parse(label).title_vi == title


@pytest.mark.parametrize(
    ("year", "start", "end", "count"),
    [
        (2024, date(2024, 1, 1), date(2024, 12, 29), 52),
        (2025, date(2024, 12, 30), date(2025, 12, 28), 52),
        (2026, date(2025, 12, 29), date(2027, 1, 3), 53),
    ],
)
def test_weeks_of_a_year_are_iso_weeks(year: int, start: date, end: date, count: int) -> None:
    weeks = periods_in_year(Cadence.WEEKLY, year)
    assert (len(weeks), weeks[0].start, weeks[-1].end) == (count, start, end)
    for convention in WindowConvention:  # Decree 09 sets no weekly cut-off: the week itself
        assert weeks[0].window(convention) == Window(weeks[0].start, weeks[0].end)
    assert weeks[0].start.weekday() == 0 and weeks[-1].end.weekday() == 6


@pytest.mark.parametrize(("cadence", "count"), [(M, 12), (Q, 4), (H, 2), (Y, 1)])
def test_periods_in_year(cadence: Cadence, count: int) -> None:
    periods = periods_in_year(cadence, 2024)
    assert len(periods) == count
    assert periods == sorted(periods)
    assert [p.index for p in periods] == list(range(1, count + 1))
    assert periods[-1].end == date(2024, 12, 31)
