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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.intake import latest_accepted
from models.items import DueItem, ItemKind
from models.org import Unit
from models.plan import Aggregation, Obligation, Target, TargetKind
from schedules.periods import Cadence, Period, periods_in_year

Value = Decimal | bool | str | None
HUNDRED = Decimal(100)

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


@dataclass(frozen=True)
class ReportedValue:
    """One value from the latest accepted version of one item's submission."""

    item_id: int
    submission_id: int
    version: int
    received_at: datetime
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


@dataclass(frozen=True)
class UnitFigure:
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
    """Labels of every period of `year`, of any cadence, lying inside [start, end]."""
    return [
        p.label
        for cadence in Cadence
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


def reported_values(
    *, session: Session, plan_id: int, labels: Iterable[str], as_of: datetime
) -> list[ReportedValue]:
    """Every value of the latest accepted version of each report item of the given periods.

    Which version counts is models.intake's rule (`latest_accepted`), the one definition.
    """
    items = session.execute(
        select(
            DueItem.id,
            Unit.code,
            Unit.name,
            Obligation.code,
            Obligation.cadence,
            DueItem.period_label,
            DueItem.window_end,
        )
        .join(Unit, Unit.id == DueItem.unit_id)
        .join(Obligation, Obligation.id == DueItem.obligation_id)
        .where(
            DueItem.plan_id == plan_id,
            DueItem.kind == ItemKind.REPORT.value,
            DueItem.withdrawn_at.is_(None),
            DueItem.period_label.in_(list(labels)),
        )
    ).all()
    latest = latest_accepted([i[0] for i in items], session=session, as_of=as_of)
    values = []
    for item_id, unit_code, unit_name, obligation, cadence, label, window_end in items:
        submission = latest.get(item_id)
        if submission is None:
            continue
        for v in submission.values:
            values.append(
                ReportedValue(
                    item_id=item_id,
                    submission_id=submission.id,
                    version=submission.version,
                    received_at=submission.received_at,
                    unit_code=unit_code,
                    unit_name=unit_name,
                    obligation_code=obligation,
                    cadence=cadence,
                    period_label=label,
                    window_end=window_end,
                    target_code=v.target.code,
                    number=v.number,
                    text=v.text,
                    flag=v.flag,
                )
            )
    return sorted(values, key=lambda r: (r.window_end, r.unit_code, r.target_code))


def plan_targets(*, session: Session, plan_id: int) -> list[TargetSpec]:
    """The plan's targets in plan order."""
    rows = session.scalars(select(Target).where(Target.plan_id == plan_id).order_by(Target.id))
    return [TargetSpec.of(t) for t in rows]


# --- combining values ------------------------------------------------------------------------


def _cadence_months(cadence: str | None) -> int:
    return Cadence(cadence).months if cadence else 12


def finest_sources(rows: Iterable[ReportedValue]) -> list[ReportedValue]:
    """Per (unit, target), only the rows of the unit's finest-cadence obligation."""
    best: dict[tuple[str, str], tuple[int, str]] = {}
    rows = list(rows)
    for r in rows:
        key = (r.unit_code, r.target_code)
        rank = (_cadence_months(r.cadence), r.obligation_code)
        if key not in best or rank < best[key]:
            best[key] = rank
    return [r for r in rows if best[(r.unit_code, r.target_code)][1] == r.obligation_code]


def _raw(spec: TargetSpec, r: ReportedValue) -> Value:
    if spec.kind == TargetKind.YES_NO:
        return r.flag
    if spec.kind == TargetKind.TEXT:
        return r.text.strip() if r.text and r.text.strip() else None
    return r.number


def over_time(spec: TargetSpec, rows: Sequence[ReportedValue]) -> Value:
    """One unit's value for a target over the given periods, by the target's aggregation."""
    dated = [(r.window_end, r.received_at, _raw(spec, r)) for r in rows]
    dated = [d for d in dated if d[2] is not None]
    if not dated:
        return None
    if spec.kind in (TargetKind.YES_NO, TargetKind.TEXT):
        return max(dated, key=lambda d: (d[0], d[1]))[2]
    numbers = [d[2] for d in dated if isinstance(d[2], Decimal)]
    match spec.aggregation:
        case Aggregation.SUM:
            return sum(numbers, Decimal(0))
        case Aggregation.MAX:
            return max(numbers)
        case _:  # LAST: the latest period's value
            return max(dated, key=lambda d: (d[0], d[1]))[2]


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


def aggregate(
    targets: Sequence[TargetSpec],
    period_rows: Sequence[ReportedValue],
    to_date_rows: Sequence[ReportedValue],
    months_elapsed: int,
) -> list[Figure]:
    """Every target's figure from the reported values of the period and of the year to date."""
    by_code = {t.code: t for t in targets}
    windows = {"period": finest_sources(period_rows), "to_date": finest_sources(to_date_rows)}
    # per window -> target -> unit -> rows
    grouped: dict[str, dict[str, dict[str, list[ReportedValue]]]] = {}
    names: dict[str, str] = {}
    for window, rows in windows.items():
        g: dict[str, dict[str, list[ReportedValue]]] = defaultdict(lambda: defaultdict(list))
        for r in rows:
            g[r.target_code][r.unit_code].append(r)
            names[r.unit_code] = r.unit_name
        grouped[window] = g

    def unit_values(spec: TargetSpec, window: str) -> dict[str, Value]:
        return {u: over_time(spec, rows) for u, rows in grouped[window][spec.code].items()}

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
    period_rows = reported_values(
        session=session, plan_id=plan_id, labels=period_labels(period), as_of=as_of
    )
    to_date_rows = reported_values(
        session=session, plan_id=plan_id, labels=to_date_labels(period), as_of=as_of
    )
    return aggregate(targets, period_rows, to_date_rows, period.last_month)
