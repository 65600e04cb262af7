"""Properties of the roll-forward rule, deadline instants and escalation timing (hypothesis).

They add to tests/properties/ (periods, windows, monotone deadlines, working-day arithmetic)
what is not covered there: that a deadline is the *first* working day on or after its nominal
day (Civil Code art. 148), where the deadline instant lies, and the ladder rules of
schedules/escalation.py (one rung per audience, catch-up without skipping anyone, supersession,
sending hours).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from datetime import date, timedelta

import pendulum
from hypothesis import given, settings
from hypothesis import strategies as st

from schedules.calendar import VN_TZ, WorkCalendar, local_date
from schedules.deadlines import DeadlineKind, DeadlineRule, deadline_date, deadline_instant
from schedules.escalation import (
    OVERDUE,
    REMINDER,
    due_rungs,
    is_sending_time,
    next_sending_time,
    place_ladder,
)
from schedules.periods import Cadence, WindowConvention, periods_in_year

CALENDAR = WorkCalendar()
DAYS = st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31))
INSTANTS = st.datetimes(min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2030, 12, 31)).map(
    lambda t: pendulum.instance(t, tz=VN_TZ).in_timezone("UTC")
)
AUDIENCES = st.sampled_from(
    ["reporting_officer", "unit_head", "recipient_head", "leader_in_charge"]
)


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days)]


@settings(max_examples=300, deadline=None)
@given(DAYS)
def test_rolling_forward_stops_at_the_first_working_day(day: date) -> None:
    rolled = CALENDAR.roll_forward(day)
    assert rolled >= day and CALENDAR.is_working_day(rolled)
    assert not [d for d in _days(day, rolled) if CALENDAR.is_working_day(d)]
    back = CALENDAR.roll_back(day)
    assert back <= day and CALENDAR.is_working_day(back)
    assert not [
        d
        for d in _days(back + timedelta(days=1), day + timedelta(days=1))
        if (CALENDAR.is_working_day(d) and d != back)
    ]


@settings(max_examples=300, deadline=None)
@given(
    st.integers(2020, 2030),
    st.sampled_from(list(Cadence)),
    st.sampled_from(list(WindowConvention)),
    st.integers(0, 40),
    st.integers(0, 11),
)
def test_a_calendar_day_deadline_is_the_first_working_day_on_or_after_its_day(
    year: int, cadence: Cadence, convention: WindowConvention, n: int, index: int
) -> None:
    periods = periods_in_year(cadence, year)
    period = periods[index % len(periods)]
    window = period.window(convention)
    rule = DeadlineRule(kind=DeadlineKind.DAYS_AFTER, n=n)
    nominal = window.end + timedelta(days=n)
    due = deadline_date(rule, window, period.end, CALENDAR)
    assert due == CALENDAR.roll_forward(nominal)
    assert not [d for d in _days(nominal, due) if CALENDAR.is_working_day(d)]


@settings(max_examples=200, deadline=None)
@given(DAYS, st.sampled_from(list(Cadence)), st.sampled_from(list(WindowConvention)))
def test_a_fixed_date_deadline_rolls_forward_only(
    on: date, cadence: Cadence, convention: WindowConvention
) -> None:
    period = periods_in_year(cadence, 2024)[0]
    rule = DeadlineRule(kind=DeadlineKind.FIXED_DATE, on=on)
    due = deadline_date(rule, period.window(convention), period.end, CALENDAR)
    assert due == CALENDAR.roll_forward(on)  # whatever the period, the date is the date


@settings(max_examples=200, deadline=None)
@given(DAYS, st.none() | st.times())
def test_the_deadline_instant_closes_the_due_day_in_vietnam(
    day: date, time: dt.time | None
) -> None:
    rule = DeadlineRule(kind=DeadlineKind.WORKING_DAYS_AFTER, n=0, time=time)
    instant = deadline_instant(rule, day)
    assert instant.utcoffset() == timedelta(0)
    local = pendulum.instance(instant).in_timezone(VN_TZ)
    if time is None:  # the end of the day: 24:00 local, so the whole due day counts
        assert local_date(instant - timedelta(microseconds=1)) == day
        assert (local.hour, local.minute, local.second) == (0, 0, 0)
        assert local.date() == day + timedelta(days=1)
    else:
        assert local.date() == day
        assert (local.hour, local.minute, local.second) == (time.hour, time.minute, time.second)


@settings(max_examples=300, deadline=None)
@given(INSTANTS)
def test_the_next_sending_time_is_the_first_moment_messages_may_go(now: dt.datetime) -> None:
    nxt = next_sending_time(now, CALENDAR)
    assert nxt >= now and is_sending_time(nxt, CALENDAR)
    assert (nxt == now) == is_sending_time(now, CALENDAR)
    if nxt > now:
        local = pendulum.instance(nxt).in_timezone(VN_TZ)
        assert (local.hour, local.minute) == (7, 30)  # the start of working hours
        assert CALENDAR.is_working_day(local.date())
        before = max(now, nxt - timedelta(minutes=1))
        assert before == now or not is_sending_time(before, CALENDAR)
        # No working day with working hours lies strictly between now and nxt.
        assert not [
            d
            for d in _days(local_date(now) + timedelta(days=1), local.date())
            if CALENDAR.is_working_day(d)
        ]


@dataclass(frozen=True)
class Step:
    code: str
    offset: int
    kind: str
    to: tuple[str, ...]


@st.composite
def ladders(draw: st.DrawFn) -> list[Step]:
    steps = []
    for i in range(draw(st.integers(1, 6))):
        offset = draw(st.integers(-5, 8))
        kind = REMINDER if offset <= 0 and draw(st.booleans()) else OVERDUE
        to = tuple(draw(st.lists(AUDIENCES, min_size=1, max_size=3, unique=True)))
        steps.append(Step(f"s{i}", offset, kind, to))
    return steps


@settings(max_examples=300, deadline=None)
@given(ladders(), DAYS)
def test_a_ladder_lands_on_working_days_in_offset_order(steps: list[Step], deadline: date) -> None:
    rungs = place_ladder(steps, deadline, CALENDAR)
    assert all(CALENDAR.is_working_day(r.day) for r in rungs)
    by_offset = sorted(steps, key=lambda s: s.offset)
    days = {r.code: r.day for r in rungs}
    assert [days[s.code] for s in by_offset] == sorted(days[s.code] for s in by_offset)
    for s in steps:
        if s.offset == 0:
            assert days[s.code] == CALENDAR.roll_forward(deadline)


@settings(max_examples=400, deadline=None)
@given(ladders(), DAYS, st.integers(-10, 15), st.booleans())
def test_due_rungs_reach_everyone_once_with_the_latest_rung(
    steps: list[Step], deadline: date, shift: int, passed: bool
) -> None:
    rungs = place_ladder(steps, deadline, CALENDAR)
    today = deadline + timedelta(days=shift)
    due = due_rungs(rungs, today=today, deadline_passed=passed)
    kind = OVERDUE if passed else REMINDER
    audiences = [d.audience for d in due]
    assert len(audiences) == len(set(audiences))  # one notice per audience per run
    reached = {a for r in rungs if r.kind == kind and r.day <= today for a in r.audiences}
    assert set(audiences) == reached  # catch-up: nobody whose rung has come is skipped
    for d in due:
        assert d.rung.kind == kind and d.rung.day <= today and d.audience in d.rung.audiences
        later = [
            r
            for r in rungs
            if r.kind == kind and d.audience in r.audiences and d.rung < r and r.day <= today
        ]
        assert later == []  # superseded rungs are not sent


@settings(max_examples=200, deadline=None)
@given(ladders(), DAYS, st.integers(-10, 15), st.integers(1, 10), st.booleans())
def test_a_later_check_never_goes_back_down_the_ladder(
    steps: list[Step], deadline: date, shift: int, wait: int, passed: bool
) -> None:
    rungs = place_ladder(steps, deadline, CALENDAR)
    today = deadline + timedelta(days=shift)
    first = {d.audience: d.rung for d in due_rungs(rungs, today=today, deadline_passed=passed)}
    later = due_rungs(rungs, today=today + timedelta(days=wait), deadline_passed=passed)
    for d in later:
        if d.audience in first:
            assert d.rung >= first[d.audience]
    assert set(first) <= {d.audience for d in later}
