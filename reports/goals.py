"""Goals: which way a target's goal points, and how far the year to date has come.

One rule for every format: the sentence, the table, the workbook and the chart word and draw
a target by its goal's sense (`goal_sense`), and `progress` judges it the same way.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING

from plans.vocabulary import RANGE, REDUCTION, Aggregation, TargetKind

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
    RANGE = "range"  # "90-95": between two bounds, both included
    REDUCTION = "reduction"  # "-10%": at least 10% below the baseline
    YES_NO = "yes_no"  # done or not


def goal_sense(spec: TargetSpec) -> GoalSense | None:
    """The goal's sense; None when the target has no goal to be measured against."""
    if spec.kind == TargetKind.YES_NO:
        return GoalSense.YES_NO if spec.goal_text in ("yes", "no") else None
    if spec.goal_number is None:
        return None
    if spec.comparator == RANGE and spec.goal_upper is not None:
        return GoalSense.RANGE
    if spec.comparator == REDUCTION and spec.baseline:
        return GoalSense.REDUCTION
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

    A range is kept while the year to date lies between its bounds (a `sum` target: between
    their pro-rata shares); the percentage is of the upper bound, the expected one where the
    lower bound lies. A reduction's percentage is the reduction reached (`reduction`), on track
    when at least the goal's.
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
    share = _share(spec, months_elapsed)
    if sense is GoalSense.REDUCTION:
        reached = reduction(spec, to_date, months_elapsed)
        return reached, None, None if reached is None else reached >= goal
    if sense is GoalSense.RANGE and spec.goal_upper:
        low, high = goal * share, spec.goal_upper * share
        within = low <= to_date <= high
        return to_date * HUNDRED / spec.goal_upper, low * HUNDRED / spec.goal_upper, within
    percent = to_date * HUNDRED / goal if goal != 0 else None
    if spec.aggregation != Aggregation.SUM:
        return percent, None, meets(to_date, spec.comparator, goal)
    if sense is GoalSense.CEILING:  # the pro-rata share is an allowance, not a quantity due
        return percent, share * HUNDRED, meets(to_date, spec.comparator, goal)
    return percent, share * HUNDRED, to_date >= goal * share


def reduction(spec: TargetSpec, to_date: Value, months_elapsed: int) -> Decimal | None:
    """How far below its baseline the year to date lies, in percent (negative: a rise).

    A `sum` target is compared with the baseline's share to date (3/12 of last year's figure
    at the end of March), so "so với cùng kỳ" means the same months of the baseline year.
    """
    if not isinstance(to_date, Decimal) or not spec.baseline:
        return None
    base = spec.baseline * _share(spec, months_elapsed)
    return (base - to_date) * HUNDRED / base if base else None


def _share(spec: TargetSpec, months_elapsed: int) -> Decimal:
    """The part of the year a `sum` target's goal is due by (3/12 at the end of March); the
    whole goal for any other target."""
    if spec.aggregation != Aggregation.SUM:
        return Decimal(1)
    return Decimal(months_elapsed) / Decimal(12)
