"""Escalation timing: which rung of a ladder is due on a day, and when messages may go out.

Pure functions over dates and instants: no database, no clock.

The rules, one definition each:

- A rung's day is the deadline day plus its offset in working days
  (`WorkCalendar.add_working_days`; offset 0 is the deadline day itself).
- Reminder rungs are due only while the deadline instant has not passed; overdue rungs only
  after it. A late reminder would announce a deadline that is already gone, and an overdue
  notice before the deadline would be false.
- Catch-up: a rung whose day has passed without being sent (the check did not run, the plan
  was loaded late) is still due, once, unless a later rung of the same kind reaches the same
  audience: then only the later one is due. So a person never gets two notices of one kind
  for one item in a single run, and nobody is skipped because a day was missed (the unit's
  officer still hears the item is overdue when the check first runs on the day the leader is
  told).
- Messages go out only on working days, in working hours (07:30–17:00 local by default).
- A submission or exemption ends the ladder: the caller passes only items still owed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

import pendulum

from schedules.calendar import WorkCalendar, as_date, local_date, working_instant

WORK_START = dt.time(7, 30)
WORK_END = dt.time(17, 0)

REMINDER = "reminder"
OVERDUE = "overdue"


class StepLike(Protocol):
    """What the timing rules read of an escalation step (plans.schema.EscalationStep)."""

    @property
    def code(self) -> str: ...
    @property
    def offset(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def to(self) -> Sequence[str]: ...


@dataclass(frozen=True, order=True)
class Rung:
    """One step of a ladder placed on the calendar for a given deadline day."""

    day: pendulum.Date
    position: int  # order in the ladder, to break ties between rungs on one day
    code: str
    kind: str
    audiences: tuple[str, ...]


@dataclass(frozen=True)
class DueRung:
    """A rung due for one audience as of a day."""

    rung: Rung
    audience: str


def place_ladder(
    steps: Iterable[StepLike], deadline_on: date, calendar: WorkCalendar
) -> list[Rung]:
    """The ladder's rungs on the calendar, in day order."""
    rungs = [
        Rung(
            day=calendar.add_working_days(deadline_on, step.offset),
            position=i,
            code=step.code,
            kind=str(step.kind),
            audiences=tuple(str(a) for a in step.to),
        )
        for i, step in enumerate(steps)
    ]
    return sorted(rungs)


def due_rungs(rungs: Sequence[Rung], *, today: date, deadline_passed: bool) -> list[DueRung]:
    """The rungs due on `today` for an item still owed, with catch-up and supersession.

    For each audience only the latest rung of the matching kind whose day has come is due;
    the caller drops those already recorded, so a rung is sent once however often it runs.
    """
    kind = OVERDUE if deadline_passed else REMINDER
    day = as_date(today)
    latest: dict[str, Rung] = {}
    for rung in sorted(rungs):
        if rung.kind != kind or rung.day > day:
            continue
        for audience in rung.audiences:
            latest[audience] = rung  # a later rung of the same kind supersedes an earlier one
    return sorted(
        (DueRung(rung, audience) for audience, rung in latest.items()),
        key=lambda d: (d.rung, d.audience),
    )


def is_sending_time(
    now: datetime,
    calendar: WorkCalendar,
    *,
    start: dt.time = WORK_START,
    end: dt.time = WORK_END,
) -> bool:
    """Whether messages may go out at `now`: a working day, within working hours (local)."""
    day = local_date(now)
    if not calendar.is_working_day(day):
        return False
    return working_instant(day, start) <= now < working_instant(day, end)


def next_sending_time(
    now: datetime,
    calendar: WorkCalendar,
    *,
    start: dt.time = WORK_START,
    end: dt.time = WORK_END,
) -> datetime:
    """`now` if messages may go out then, else the start of the next working hours."""
    if is_sending_time(now, calendar, start=start, end=end):
        return now
    day = local_date(now)
    if calendar.is_working_day(day) and now < working_instant(day, start):
        return working_instant(day, start)
    return working_instant(calendar.next_working_day(day), start)
