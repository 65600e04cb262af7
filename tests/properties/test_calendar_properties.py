"""Properties of periods and deadline rules over many generated cases (hypothesis)."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from schedules.calendar import WorkCalendar
from schedules.deadlines import Anchor, DeadlineKind, DeadlineRule, deadline_date
from schedules.periods import Cadence, Period, WindowConvention, periods_in_year

CALENDAR = WorkCalendar()
YEARS = st.integers(min_value=2020, max_value=2030)
CADENCES = st.sampled_from(list(Cadence))
CONVENTIONS = st.sampled_from(list(WindowConvention))


@st.composite
def rules(draw: st.DrawFn) -> DeadlineRule:
    # Fixed dates and weekdays do not follow the window (tests/schedules has their tables).
    kinds = [k for k in DeadlineKind if k not in (DeadlineKind.FIXED_DATE, DeadlineKind.WEEKDAY)]
    kind = draw(st.sampled_from(kinds))
    anchor = draw(st.sampled_from(list(Anchor)))
    if kind is DeadlineKind.DAY_OF_MONTH:
        return DeadlineRule(
            kind=kind,
            day=draw(st.integers(1, 31)),
            month_offset=draw(st.none() | st.integers(1, 2)),
            anchor=anchor,
        )
    return DeadlineRule(kind=kind, n=draw(st.integers(0, 20)), anchor=anchor)


@settings(max_examples=300, deadline=None)
@given(YEARS, CADENCES, CONVENTIONS, rules())
def test_deadlines_are_working_days_after_the_window_and_monotone(
    year: int, cadence: Cadence, convention: WindowConvention, rule: DeadlineRule
) -> None:
    previous: date | None = None
    for period in periods_in_year(cadence, year):
        window = period.window(convention)
        day = deadline_date(rule, window, period.end, CALENDAR)
        assert CALENDAR.is_working_day(day)
        anchor = window.end if rule.anchor is Anchor.WINDOW_END else period.end
        assert day >= anchor if rule.n == 0 or rule.month_offset == 0 else day > anchor
        assert day >= window.end
        if previous is not None:
            assert day >= previous
        previous = day


@settings(max_examples=300, deadline=None)
@given(YEARS, CADENCES, st.integers(0, 11))
def test_period_labels_round_trip_and_windows_tile_the_year(
    year: int, cadence: Cadence, index: int
) -> None:
    periods = periods_in_year(cadence, year)
    period = periods[index % len(periods)]
    assert Period.parse(period.label) == period
    for convention in WindowConvention:
        windows = [p.window(convention) for p in periods]
        # Consecutive windows leave no gap and no overlap.
        for a, b in pairwise(windows):
            assert b.start == a.end + timedelta(days=1)


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=12))
def test_any_label_parses_or_says_why(label: str) -> None:
    try:
        period = Period.parse(label)
    except ValueError as exc:
        assert label in str(exc) or repr(label) in str(exc)
    else:
        assert period.label == label


@settings(max_examples=200, deadline=None)
@given(st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)), st.integers(0, 30))
def test_working_day_arithmetic_is_consistent(day: date, n: int) -> None:
    later = CALENDAR.add_working_days(day, n)
    assert CALENDAR.roll_forward(later) == later
    if n == 0:
        assert later == CALENDAR.roll_forward(day)
    else:
        assert CALENDAR.working_days_between(day, later) == n
        assert CALENDAR.add_working_days(later, -n) == CALENDAR.roll_back(day)
