"""Every item a plan makes due: periods, data windows and deadlines (pure, no database)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from plans.loader import expand_units
from plans.schema import PlanFile
from plans.vocabulary import ItemKind, ObligationKind
from schedules.calendar import WorkCalendar, as_date, working_instant
from schedules.deadlines import Anchor, DeadlineKind, DeadlineRule, deadline_date, deadline_instant
from schedules.periods import Period, Window, periods_in_year

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


def _not_before(day: date, *starts: date | None) -> date:
    """`day`, or the latest of the given start dates when one comes after it."""
    return max([day, *(s for s in starts if s is not None)])


def _report_opens_on(period: Period, window: Window, deadline_on: date) -> date:
    """Reports open on the cut-off day, when the window's data is complete. A report due
    before its cut-off (a weekly report due on Friday, a yearly one due in November with
    estimated figures) opens on the first day of its deadline's month, or of its period when
    that is later."""
    if window.end <= deadline_on:
        return window.end
    return max(period.start, deadline_on.replace(day=1))


def compute_dues(plan: PlanFile, calendar: WorkCalendar) -> list[Due]:
    """All items the plan makes due in its year, in a stable order.

    Nothing falls due before the plan is issued or before its obligation starts (`from`): a
    period whose deadline comes earlier is not owed (no one can be late for a duty that did
    not exist). A period is owed only when it overlaps the obligation's `from`–`until` span.
    A unit owes an item that falls due while it exists (`valid_from`–`valid_to`), so a merged
    unit's items stop at its end date and its successor's start at its start date.
    """
    units = {u.code: u for u in plan.units}
    issued = plan.plan.issued_on
    dues: list[Due] = []
    for obligation in plan.obligations:
        if obligation.kind is not ObligationKind.PERIODIC:
            continue  # ad-hoc and thematic reports become due when an admin requests them
        assert obligation.cadence is not None and obligation.deadline is not None
        rule = obligation.deadline.to_rule()
        reporters = expand_units(plan, obligation.reporters)
        for period in periods_in_year(obligation.cadence, plan.plan.year):
            if (obligation.starts_on and period.end < obligation.starts_on) or (
                obligation.ends_on and period.start > obligation.ends_on
            ):
                continue
            window = period.window(obligation.window)
            day = deadline_date(rule, window, period.end, calendar)
            if _not_before(day, issued, obligation.starts_on) != day:
                continue
            # Same for every reporter: computed once per period, not per unit.
            deadline_at = deadline_instant(rule, day)
            opens_on = _report_opens_on(period, window, day)
            opens_on = _not_before(opens_on, issued, obligation.starts_on)
            opens_at = working_instant(opens_on, START_OF_DAY)
            for unit in reporters:
                if not units[unit].exists_on(day):
                    continue
                dues.append(
                    Due(
                        key=f"report:{plan.plan.code}:{obligation.code}:{unit}:{period.label}",
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
    dues.extend(_deliverable_dues(plan, calendar))
    return dues


def _deliverable_dues(plan: PlanFile, calendar: WorkCalendar) -> list[Due]:
    """One item per assignee existing on the due date; the work opens when the deliverable
    starts (`from`), else when the plan is issued, else on 1 January, never before the issue."""
    units = {u.code: u for u in plan.units}
    dues: list[Due] = []
    for deliverable in plan.deliverables:
        issued = plan.plan.issued_on
        opens_on = _not_before(
            deliverable.starts_on or issued or date(plan.plan.year, 1, 1), issued
        )
        rule = DeadlineRule(
            kind=DeadlineKind.FIXED_DATE, on=deliverable.due_on, anchor=Anchor.WINDOW_END
        )
        window = Window(start=as_date(opens_on), end=as_date(deliverable.due_on))
        day = deadline_date(rule, window, deliverable.due_on, calendar)
        deadline_at = deadline_instant(rule, day)
        opens_at = working_instant(opens_on, START_OF_DAY)
        for unit in expand_units(plan, deliverable.assignees):
            if not units[unit].exists_on(deliverable.due_on):
                continue
            dues.append(
                Due(
                    key=f"deliverable:{plan.plan.code}:{deliverable.code}:{unit}",
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
