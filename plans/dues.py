"""Every item a plan makes due: periods, data windows and deadlines (pure, no database)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import pendulum

from plans.loader import expand_units
from plans.schema import PlanFile, UnitEntry
from plans.vocabulary import ItemKind, ObligationKind
from schedules.calendar import WorkCalendar, working_instant
from schedules.deadlines import Anchor, DeadlineKind, DeadlineRule, deadline_date, deadline_instant
from schedules.periods import Window, periods_in_year

START_OF_DAY = datetime.min.time()


# Keys of the items a plan file makes due; other items of the plan (ad-hoc requests, keyed
# "request:...") are not the plan file's to withdraw when it is loaded again.
PLAN_ITEM_PREFIXES = ("report:", "deliverable:")


@dataclass(frozen=True)
class Due:
    """One item due, before it is stored."""

    key: str
    kind: ItemKind
    unit: str
    obligation: str | None
    deliverable: str | None
    period_label: str | None
    window: Window
    deadline_on: date
    deadline_at: datetime
    opens_at: datetime


def _exists_on(unit: UnitEntry, day: date) -> bool:
    return (unit.valid_from is None or unit.valid_from <= day) and (
        unit.valid_to is None or unit.valid_to >= day
    )


def compute_dues(plan: PlanFile, calendar: WorkCalendar) -> list[Due]:
    """All items the plan makes due in its year, in a stable order.

    A unit owes a periodic report when it exists on the period's cut-off day, so a
    report stays tied to the unit that existed when it was due.
    """
    units = {u.code: u for u in plan.units}
    code = plan.plan.code
    dues: list[Due] = []
    for obligation in plan.obligations:
        if obligation.kind is not ObligationKind.PERIODIC:
            continue  # ad-hoc and thematic reports become due when an admin requests them
        assert obligation.cadence is not None and obligation.deadline is not None
        rule = obligation.deadline.to_rule()
        reporters = expand_units(plan, obligation.reporters)
        for period in periods_in_year(obligation.cadence, plan.plan.year):
            window = period.window(obligation.window)
            day = deadline_date(rule, window, period.end, calendar)
            # Same for every reporter: computed once per period, not per unit.
            deadline_at = deadline_instant(rule, day)
            # Reports open on the cut-off day, when the window's data is complete.
            opens_at = working_instant(window.end, START_OF_DAY)
            for unit in reporters:
                if not _exists_on(units[unit], window.end):
                    continue
                dues.append(
                    Due(
                        key=f"report:{code}:{obligation.code}:{unit}:{period.label}",
                        kind=ItemKind.REPORT,
                        unit=unit,
                        obligation=obligation.code,
                        deliverable=None,
                        period_label=period.label,
                        window=window,
                        deadline_on=day,
                        deadline_at=deadline_at,
                        opens_at=opens_at,
                    )
                )
    year_start = date(plan.plan.year, 1, 1)
    opens_on = plan.plan.issued_on or year_start
    for deliverable in plan.deliverables:
        rule = DeadlineRule(
            kind=DeadlineKind.FIXED_DATE, on=deliverable.due_on, anchor=Anchor.WINDOW_END
        )
        window = Window(
            start=pendulum.Date.fromordinal(opens_on.toordinal()),
            end=pendulum.Date.fromordinal(deliverable.due_on.toordinal()),
        )
        day = deadline_date(rule, window, deliverable.due_on, calendar)
        deadline_at = deadline_instant(rule, day)
        opens_at = working_instant(opens_on, START_OF_DAY)
        for unit in expand_units(plan, deliverable.assignees):
            if not _exists_on(units[unit], deliverable.due_on):
                continue
            dues.append(
                Due(
                    key=f"deliverable:{code}:{deliverable.code}:{unit}",
                    kind=ItemKind.DELIVERABLE,
                    unit=unit,
                    obligation=None,
                    deliverable=deliverable.code,
                    period_label=None,
                    window=window,
                    deadline_on=day,
                    deadline_at=deadline_at,
                    opens_at=opens_at,
                )
            )
    return dues
