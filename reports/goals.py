"""Goals: which way a target's goal points, and how far the year to date has come.

One rule for every format: the sentence, the table, the workbook and the chart word and draw
a target by its goal's sense (`goal_sense`), and `progress` judges it the same way.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING

from plans.vocabulary import Aggregation, TargetKind

if TYPE_CHECKING:  # reports.figures imports this module
    from reports.figures import TargetSpec, Value

HUNDRED = Decimal(100)


def meets(value: Decimal, comparator: str | None, goal: Decimal) -> bool:
    match comparator:
        case ">":
            return value > goal
        case "<":
            return value < goal
        case "<=":
            return value <= goal
        case "=":
            return value == goal
        case _:  # ">=" and a bare number
            return value >= goal


class GoalSense(StrEnum):
    """Which way a target's goal points; the one rule every format words and draws by."""

    FLOOR = "floor"  # ">= 1300", "> 3": a minimum to reach, more is better
    CEILING = "ceiling"  # "<= 10", "< 3": a limit not to pass, less is better
    EXACT = "exact"  # "= 1": exactly that
    YES_NO = "yes_no"  # done or not


def goal_sense(spec: TargetSpec) -> GoalSense | None:
    """The goal's sense; None when the target has no goal to be measured against."""
    if spec.kind == TargetKind.YES_NO:
        return GoalSense.YES_NO if spec.goal_text in ("yes", "no") else None
    if spec.goal_number is None:
        return None
    if spec.comparator in ("<", "<="):
        return GoalSense.CEILING
    return GoalSense.EXACT if spec.comparator == "=" else GoalSense.FLOOR


def progress(
    spec: TargetSpec, to_date: Value, months_elapsed: int
) -> tuple[Decimal | None, Decimal | None, bool | None]:
    """(% of the annual goal, pro-rata expected %, on track) for a year-to-date value.

    A ceiling is never a quantity to reach pro rata: it is kept (on track) while the year to
    date stays within it, and broken for the year once passed; its pro-rata share is the
    allowance to date, which the words warn about when passed.
    """
    sense = goal_sense(spec)
    if sense is GoalSense.YES_NO:
        if to_date is None:
            return None, None, None
        met = bool(to_date) == (spec.goal_text == "yes")
        # A one-off event is not "behind" before the year is out: only a met goal is news.
        return None, None, True if met else (False if months_elapsed >= 12 else None)
    if not isinstance(to_date, Decimal) or spec.goal_number is None:
        return None, None, None
    goal = spec.goal_number
    percent = to_date * HUNDRED / goal if goal != 0 else None
    if spec.aggregation != Aggregation.SUM:
        return percent, None, meets(to_date, spec.comparator, goal)
    share = Decimal(months_elapsed) / Decimal(12)
    if sense is GoalSense.CEILING:  # the pro-rata share is an allowance, not a quantity due
        return percent, share * HUNDRED, meets(to_date, spec.comparator, goal)
    return percent, share * HUNDRED, to_date >= goal * share
