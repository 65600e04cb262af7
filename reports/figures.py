"""Figures of the consolidated report: reported values in, totals against annual goals out.

How values combine (one definition, used by every format):

- Only the latest *accepted* version of each item's submission counts, and only versions
  received by the compilation instant (`as_of`), so a report can be compiled again exactly.
- An item counts for a report period when its own period lies inside it: the centre's monthly
  reports 2024-01..03 and the communes' 2024-Q1 reports make the 2024-Q1 report; every 2024
  period makes the year report "2024". Year to date (lũy kế) is every period of the year that
  ends by the report period's end.
- If one unit reports the same target under several obligations, only its finest-cadence
  obligation counts (monthly beats quarterly), so the same jobs are never counted twice.
- Over time, per unit, as the target's `aggregation` says: `sum` adds the periods (flows);
  `last` takes the latest period's value (stocks and rates: a stock carries forward into the
  year to date); `max` takes the largest.
- Across units the kind decides, because a target has one `aggregation`: counts add up (the
  district's trained labour is the sum of each unit's latest count); percentages never add
  and are never averaged: one unit's percentage is the total, several units' percentages give
  no total (declare the target as a `ratio` of two counts instead); a yes/no target is met
  only when every unit that answered says yes; `max` takes the largest unit value.
- A `ratio` target is 100 × Σ numerator / Σ denominator over the units that gave both parts,
  each part combined over time by its own target's rule. Never an average of percentages.
- Progress: % of the annual goal is year to date / goal. A `sum` target is on track when the
  year to date reaches the goal pro rata to the months elapsed (Q1: 3/12); any other target
  is on track when its current value meets the goal's comparator; a yes/no target not yet met
  counts as behind only in the year-end report.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import NamedTuple

from sqlalchemy import ColumnElement, Subquery, select
from sqlalchemy.orm import Session

from models.items import DueItem
from models.org import Unit
from models.plan import Obligation, Target
from models.queries import latest_accepted_versions
from models.submissions import Submission, SubmissionValue
from plans.vocabulary import Aggregation, ItemKind, TargetKind
from schedules.periods import Cadence, Period, periods_in_year

Value = Decimal | bool | str | None
HUNDRED = Decimal(100)
STREAM_ROWS = 5_000  # rows fetched at a time: memory stays flat however large the province

NOTE_PERCENT_UNITS = (
    "Tỷ lệ của nhiều đơn vị không cộng, không lấy trung bình được; xem số liệu từng đơn vị."
)
NOTE_RATIO_PARTIAL = "Chỉ tính các đơn vị báo cáo đủ cả tử số và mẫu số."


@dataclass(frozen=True)
class TargetSpec:
    """A target as the report needs it (plain values)."""

    code: str
    name: str
    unit_of_measure: str | None
    kind: str
    aggregation: str
    comparator: str | None
    goal_number: Decimal | None
    goal_text: str | None
    numerator: str | None = None
    denominator: str | None = None

    @classmethod
    def of(cls, t: Target) -> TargetSpec:
        return cls(
            code=t.code,
            name=t.name,
            unit_of_measure=t.unit_of_measure,
            kind=t.kind,
            aggregation=t.aggregation,
            comparator=t.comparator,
            goal_number=t.goal_number,
            goal_text=t.goal_text,
            numerator=t.numerator_code,
            denominator=t.denominator_code,
        )


class ReportedValue(NamedTuple):
    """One value from the version of one item's submission that counts (a plain row)."""

    unit_code: str
    unit_name: str
    obligation_code: str
    cadence: str | None
    period_label: str | None
    window_end: date
    target_code: str
    number: Decimal | None
    text: str | None
    flag: bool | None


class UnitFigure(NamedTuple):
    """One unit's figures for a target (a tuple: a province report has tens of thousands)."""

    unit_code: str
    unit_name: str
    period: Value
    to_date: Value


@dataclass(frozen=True)
class Figure:
    """A target's figures for the report: this period, year to date, progress, by unit."""

    target: TargetSpec
    period: Value
    to_date: Value
    percent_of_goal: Decimal | None
    expected_percent: Decimal | None  # pro-rata expectation, `sum` targets only
    on_track: bool | None
    by_unit: tuple[UnitFigure, ...]
    note: str | None = None


# --- which periods count ---------------------------------------------------------------------


def labels_within(start: date, end: date, year: int) -> list[str]:
    """Labels of every period of `year`, of any cadence but the week, lying inside [start, end].

    Weeks straddle months, quarters and even years, so weekly reports (progress notes for the
    weekly briefing) never add up into a period's figures; monthly and longer reports do.
    """
    return [
        p.label
        for cadence in Cadence
        if cadence is not Cadence.WEEKLY
        for p in periods_in_year(cadence, year)
        if p.start >= start and p.end <= end
    ]


def period_labels(period: Period) -> list[str]:
    """The periods whose reports make up the report of `period`."""
    return labels_within(period.start, period.end, period.year)


def to_date_labels(period: Period) -> list[str]:
    """The periods whose reports make up the year to date (lũy kế) at the end of `period`."""
    return labels_within(date(period.year, 1, 1), period.end, period.year)


# --- database --------------------------------------------------------------------------------


def report_items(plan_id: int, labels: Iterable[str]) -> list[ColumnElement[bool]]:
    """The plan's live report items of the given periods (conditions on DueItem)."""
    return [
        DueItem.plan_id == plan_id,
        DueItem.kind == ItemKind.REPORT.value,
        DueItem.withdrawn_at.is_(None),
        DueItem.period_label.in_(list(labels)),
    ]


def counted_versions(*, plan_id: int, labels: Iterable[str], as_of: datetime) -> Subquery:
    """The submission that counts for each report item of the periods, as of an instant."""
    items = select(DueItem.id).where(*report_items(plan_id, labels))
    return latest_accepted_versions(Submission.item_id.in_(items), as_of=as_of)


def reported_values(
    *, session: Session, plan_id: int, labels: Iterable[str], as_of: datetime
) -> Iterator[ReportedValue]:
    """Every value of the counted version of each report item of the given periods, streamed.

    Which version counts is models.queries' rule (`latest_accepted_versions`), joined here so
    the rows arrive as plain values, a few thousand at a time, whatever the province's size.
    Units, obligations and targets travel as ids and are named from one read of each table:
    fetching their names with every value took a third of the time.
    """
    latest = counted_versions(plan_id=plan_id, labels=labels, as_of=as_of)
    query = (
        select(
            DueItem.unit_id,
            DueItem.obligation_id,
            DueItem.period_label,
            DueItem.window_end,
            SubmissionValue.target_id,
            SubmissionValue.number,
            SubmissionValue.text,
            SubmissionValue.flag,
        )
        .select_from(latest)
        .join(DueItem, DueItem.id == latest.c.item_id)
        .join(SubmissionValue, SubmissionValue.submission_id == latest.c.submission_id)
    )
    units = {
        i: (code, name) for i, code, name in session.execute(select(Unit.id, Unit.code, Unit.name))
    }
    plan_obligations = select(Obligation.id, Obligation.code, Obligation.cadence).where(
        Obligation.plan_id == plan_id
    )
    # Report items always have an obligation (the key type is the column's).
    obligations: dict[int | None, tuple[str, str | None]] = {
        i: (code, cadence) for i, code, cadence in session.execute(plan_obligations)
    }
    target_codes = select(Target.id, Target.code).where(Target.plan_id == plan_id)
    targets = {i: code for i, code in session.execute(target_codes)}
    # Core rows, not ORM ones, fetched a partition at a time.
    result = session.connection().execution_options(yield_per=STREAM_ROWS).execute(query)
    for rows in result.partitions():
        for unit_id, obligation_id, label, window_end, target_id, number, text, flag in rows:
            unit_code, unit_name = units[unit_id]
            obligation_code, cadence = obligations[obligation_id]
            yield ReportedValue(
                unit_code,
                unit_name,
                obligation_code,
                cadence,
                label,
                window_end,
                targets[target_id],
                number,
                text,
                flag,
            )


def plan_targets(*, session: Session, plan_id: int) -> list[TargetSpec]:
    """The plan's targets in plan order."""
    rows = session.scalars(select(Target).where(Target.plan_id == plan_id).order_by(Target.id))
    return [TargetSpec.of(t) for t in rows]


# --- combining values ------------------------------------------------------------------------


class OverTime:
    """One unit's values of one target under one obligation, combined as they arrive.

    Holds what every aggregation needs (total, largest, latest), so values stream through
    and memory stays one accumulator per unit and target, however many periods there are.
    Within one obligation a unit has one item per period, so the window end orders them.
    """

    __slots__ = ("largest", "latest", "latest_end", "total")

    def __init__(self) -> None:
        self.total: Decimal | None = None
        self.largest: Decimal | None = None
        self.latest_end: date | None = None
        self.latest: Value = None

    def add(self, window_end: date, raw: Value) -> None:
        if raw is None:
            return
        if isinstance(raw, Decimal):
            self.total = raw if self.total is None else self.total + raw
            self.largest = raw if self.largest is None else max(self.largest, raw)
        if self.latest_end is None or window_end > self.latest_end:
            self.latest_end, self.latest = window_end, raw

    def value(self, spec: TargetSpec) -> Value:
        """The unit's value over the periods added, by the target's aggregation."""
        if self.latest_end is None or spec.kind in (TargetKind.YES_NO, TargetKind.TEXT):
            return self.latest
        match spec.aggregation:
            case Aggregation.SUM:
                return self.total
            case Aggregation.MAX:
                return self.largest
            case _:  # LAST: the latest period's value
                return self.latest


# (obligation code, unit code, target code)
SourceKey = tuple[str, str, str]


@dataclass
class Tally:
    """Reported values folded per source (obligation, unit, target): the period, the year."""

    period: dict[SourceKey, OverTime] = field(default_factory=dict)
    to_date: dict[SourceKey, OverTime] = field(default_factory=dict)
    unit_names: dict[str, str] = field(default_factory=dict)
    cadences: dict[str, str | None] = field(default_factory=dict)  # by obligation code

    def only(self, obligation_code: str) -> Tally:
        """The part of the tally one obligation reported."""
        return Tally(
            {k: v for k, v in self.period.items() if k[0] == obligation_code},
            {k: v for k, v in self.to_date.items() if k[0] == obligation_code},
            self.unit_names,
            self.cadences,
        )


def _raw(kind: str | None, number: Decimal | None, text: str | None, flag: bool | None) -> Value:
    if kind == TargetKind.YES_NO:
        return flag
    if kind == TargetKind.TEXT:
        return text.strip() if text and text.strip() else None
    return number


def tally(
    targets: Sequence[TargetSpec], to_date_rows: Iterable[ReportedValue], period: Collection[str]
) -> Tally:
    """Fold the year-to-date values; those of the `period` labels count for the period too."""
    kinds = {t.code: t.kind for t in targets}
    result = Tally()
    to_date, in_period = result.to_date, result.period
    for row in to_date_rows:
        unit, unit_name, obligation, cadence, label, window_end, target, number, text, flag = row
        key = (obligation, unit, target)
        raw = _raw(kinds.get(target), number, text, flag)
        for window in (to_date, in_period) if label in period else (to_date,):
            acc = window.get(key)
            if acc is None:
                acc = window[key] = OverTime()
                result.unit_names[unit] = unit_name
                result.cadences[obligation] = cadence
            acc.add(window_end, raw)
    return result


def read_tally(
    *,
    session: Session,
    plan_id: int,
    targets: Sequence[TargetSpec],
    period: Period,
    as_of: datetime,
) -> Tally:
    """The values of `period` and of the year to date at its end, read once, as of an instant."""
    rows = reported_values(
        session=session, plan_id=plan_id, labels=to_date_labels(period), as_of=as_of
    )
    return tally(targets, rows, set(period_labels(period)))


def finest_sources(
    window: dict[SourceKey, OverTime], cadences: dict[str, str | None]
) -> dict[str, dict[str, OverTime]]:
    """Per target and unit, the values of the unit's finest-cadence obligation only."""
    ranks = {o: (Cadence(c).months if c else 12, o) for o, c in cadences.items()}
    best: dict[tuple[str, str], tuple[tuple[int, str], OverTime]] = {}
    for (obligation, unit, target), acc in window.items():
        rank = ranks[obligation]
        if (unit, target) not in best or rank < best[(unit, target)][0]:
            best[(unit, target)] = (rank, acc)
    chosen: dict[str, dict[str, OverTime]] = defaultdict(dict)
    for (unit, target), (_, acc) in best.items():
        chosen[target][unit] = acc
    return chosen


def across_units(spec: TargetSpec, values: Sequence[Value]) -> tuple[Value, str | None]:
    """The total of units' values, and a note when no honest total exists."""
    present = [v for v in values if v is not None]
    if not present:
        return None, None
    if spec.kind == TargetKind.TEXT:
        return None, None
    if spec.kind == TargetKind.YES_NO:
        return all(bool(v) for v in present), None
    numbers = [v for v in present if isinstance(v, Decimal)]
    if spec.aggregation == Aggregation.MAX:
        return max(numbers), None
    if spec.kind == TargetKind.PERCENT:
        if len(numbers) == 1:
            return numbers[0], None
        return None, NOTE_PERCENT_UNITS
    return sum(numbers, Decimal(0)), None


def ratio(numerator: Decimal | None, denominator: Decimal | None) -> Decimal | None:
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator * HUNDRED / denominator


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


def progress(
    spec: TargetSpec, to_date: Value, months_elapsed: int
) -> tuple[Decimal | None, Decimal | None, bool | None]:
    """(% of the annual goal, pro-rata expected %, on track) for a year-to-date value."""
    if spec.kind == TargetKind.YES_NO:
        if to_date is None or spec.goal_text not in ("yes", "no"):
            return None, None, None
        met = bool(to_date) == (spec.goal_text == "yes")
        # A one-off event is not "behind" before the year is out: only a met goal is news.
        return None, None, True if met else (False if months_elapsed >= 12 else None)
    if not isinstance(to_date, Decimal) or spec.goal_number is None:
        return None, None, None
    goal = spec.goal_number
    percent = to_date * HUNDRED / goal if goal != 0 else None
    if spec.aggregation == Aggregation.SUM:
        share = Decimal(months_elapsed) / Decimal(12)
        expected = goal * share
        lower_is_better = spec.comparator in ("<", "<=")
        on_track = to_date <= expected if lower_is_better else to_date >= expected
        return percent, share * HUNDRED, on_track
    return percent, None, meets(to_date, spec.comparator, goal)


def aggregate(targets: Sequence[TargetSpec], values: Tally, months_elapsed: int) -> list[Figure]:
    """Every target's figure from the values of the period and of the year to date."""
    by_code = {t.code: t for t in targets}
    windows = {
        "period": finest_sources(values.period, values.cadences),
        "to_date": finest_sources(values.to_date, values.cadences),
    }
    names = values.unit_names

    def unit_values(spec: TargetSpec, window: str) -> dict[str, Value]:
        return {u: acc.value(spec) for u, acc in windows[window].get(spec.code, {}).items()}

    figures = []
    for spec in targets:
        note = None
        per_window: dict[str, tuple[Value, dict[str, Value]]] = {}
        for window in windows:
            if spec.aggregation == Aggregation.RATIO and spec.numerator and spec.denominator:
                num_spec, den_spec = by_code[spec.numerator], by_code[spec.denominator]
                nums, dens = unit_values(num_spec, window), unit_values(den_spec, window)
                both = [u for u in nums if nums[u] is not None and dens.get(u) is not None]
                if len(both) < len(set(nums) | set(dens)):
                    note = NOTE_RATIO_PARTIAL
                units: dict[str, Value] = {u: ratio(_dec(nums[u]), _dec(dens[u])) for u in both}
                total_num, _ = across_units(num_spec, [nums[u] for u in both])
                total_den, _ = across_units(den_spec, [dens[u] for u in both])
                total: Value = ratio(_dec(total_num), _dec(total_den))
            else:
                units = unit_values(spec, window)
                total, window_note = across_units(spec, list(units.values()))
                note = note or window_note
            per_window[window] = (total, units)
        period_total, period_units = per_window["period"]
        to_date_total, to_date_units = per_window["to_date"]
        percent, expected, on_track = progress(spec, to_date_total, months_elapsed)
        by_unit = tuple(
            UnitFigure(u, names[u], period_units.get(u), to_date_units.get(u))
            for u in sorted(set(period_units) | set(to_date_units), key=lambda c: names[c])
        )
        figures.append(
            Figure(
                target=spec,
                period=period_total,
                to_date=to_date_total,
                percent_of_goal=percent,
                expected_percent=expected,
                on_track=on_track,
                by_unit=by_unit,
                note=note,
            )
        )
    return figures


def _dec(value: Value) -> Decimal | None:
    return value if isinstance(value, Decimal) else None


def compute_figures(
    *, session: Session, plan_id: int, period: Period, as_of: datetime
) -> list[Figure]:
    """The report's figures for `period`, from the database, as of an instant."""
    targets = plan_targets(session=session, plan_id=plan_id)
    values = read_tally(
        session=session, plan_id=plan_id, targets=targets, period=period, as_of=as_of
    )
    return aggregate(targets, values, period.last_month)
