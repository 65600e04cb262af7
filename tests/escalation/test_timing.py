"""Escalation timing rules (pure): rung days, catch-up and supersession, working hours."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from plans.schema import DEFAULT_ESCALATION, Audience, EscalationStep, StepKind
from schedules.calendar import WorkCalendar
from schedules.escalation import (
    DueRung,
    due_rungs,
    is_sending_time,
    next_sending_time,
    place_ladder,
)
from tests.support.escalation import vn

CAL = WorkCalendar()
Q1_DEADLINE = date(2024, 3, 18)  # Monday
TET_DEADLINE = date(2024, 2, 15)  # Thursday, first working day after Tết 2024 (8–14/02 off)


def test_default_ladder_days_around_a_monday_deadline() -> None:
    rungs = place_ladder(DEFAULT_ESCALATION, Q1_DEADLINE, CAL)
    assert [(r.code, r.day) for r in rungs] == [
        ("remind-3", date(2024, 3, 13)),  # 3 working days before: Wed (Sat/Sun skipped)
        ("remind-0", date(2024, 3, 18)),
        ("overdue-1", date(2024, 3, 19)),
        ("overdue-3", date(2024, 3, 21)),
        ("overdue-5", date(2024, 3, 25)),  # over the weekend
    ]


def test_rung_days_skip_tet() -> None:
    rungs = place_ladder(DEFAULT_ESCALATION, TET_DEADLINE, CAL)
    days = {r.code: r.day for r in rungs}
    # Three working days before Thu 15/02 are Mon 05, Tue 06, Wed 07: Tết is skipped.
    assert days["remind-3"] == date(2024, 2, 5)
    assert days["overdue-1"] == date(2024, 2, 16)
    assert days["overdue-3"] == date(2024, 2, 20)


def _due(today: date, passed: bool) -> list[tuple[str, str]]:
    rungs = place_ladder(DEFAULT_ESCALATION, Q1_DEADLINE, CAL)
    return [
        (d.rung.code, d.audience) for d in due_rungs(rungs, today=today, deadline_passed=passed)
    ]


@pytest.mark.parametrize(
    ("today", "passed", "expected"),
    [
        (date(2024, 3, 12), False, []),
        (date(2024, 3, 13), False, [("remind-3", "reporting_officer")]),
        # Between rungs the earlier one stays due; the outbox knows it was sent.
        (date(2024, 3, 15), False, [("remind-3", "reporting_officer")]),
        # remind-0 supersedes remind-3 for the same audience (a missed remind-3 is not sent).
        (date(2024, 3, 18), False, [("remind-0", "reporting_officer")]),
        # The day after the deadline: reminders are over, overdue-1 reaches officer and head.
        (
            date(2024, 3, 19),
            True,
            [("overdue-1", "reporting_officer"), ("overdue-1", "unit_head")],
        ),
        # Catch-up: the first run on overdue-5's day still owes the officer and the head their
        # overdue-1, and the lead department's head its overdue-3; each audience once.
        (
            date(2024, 3, 25),
            True,
            [
                ("overdue-1", "reporting_officer"),
                ("overdue-1", "unit_head"),
                ("overdue-3", "recipient_head"),
                ("overdue-5", "leader_in_charge"),
            ],
        ),
        # A reminder is never sent once the deadline has passed, even if it was missed.
        (date(2024, 3, 18), True, []),
    ],
)
def test_due_rungs(today: date, passed: bool, expected: list[tuple[str, str]]) -> None:
    assert _due(today, passed) == expected


def test_a_later_rung_for_the_same_audience_supersedes_a_missed_one() -> None:
    ladder = [
        EscalationStep(code="a", offset=1, kind=StepKind.OVERDUE, to=[Audience.REPORTING_OFFICER]),
        EscalationStep(code="b", offset=2, kind=StepKind.OVERDUE, to=[Audience.REPORTING_OFFICER]),
    ]
    rungs = place_ladder(ladder, Q1_DEADLINE, CAL)
    due = due_rungs(rungs, today=date(2024, 3, 20), deadline_passed=True)
    assert [(d.rung.code, d.audience) for d in due] == [("b", "reporting_officer")]
    assert all(isinstance(d, DueRung) for d in due)


@pytest.mark.parametrize(
    ("instant", "sending"),
    [
        (vn(2024, 3, 19, 7, 29), False),
        (vn(2024, 3, 19, 7, 30), True),
        (vn(2024, 3, 19, 16, 59), True),
        (vn(2024, 3, 19, 17, 0), False),
        (vn(2024, 3, 16, 9, 0), False),  # Saturday
        (vn(2024, 2, 12, 9, 0), False),  # Monday in Tết
        (vn(2024, 5, 4, 9, 0), True),  # make-up Saturday (làm bù for 29/04)
        (vn(2024, 4, 29, 9, 0), False),  # the Monday it paid for
    ],
)
def test_sending_hours(instant: datetime, sending: bool) -> None:
    assert is_sending_time(instant, CAL) is sending


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        (vn(2024, 3, 19, 9, 0), vn(2024, 3, 19, 9, 0)),
        (vn(2024, 3, 19, 6, 0), vn(2024, 3, 19, 7, 30)),
        (vn(2024, 3, 15, 17, 30), vn(2024, 3, 18, 7, 30)),  # Friday evening -> Monday
        (vn(2024, 2, 7, 18, 0), vn(2024, 2, 15, 7, 30)),  # eve of Tết -> after it
    ],
)
def test_next_sending_time(instant: datetime, expected: datetime) -> None:
    assert next_sending_time(instant, CAL) == expected
