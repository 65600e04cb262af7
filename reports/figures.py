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
- Which units count is reports.levels' rule: the reports addressed to the issuer, each
  consolidating unit once (its inputs are not extra people); `Counted` carries the result.
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
  A unit that typed the ratio keeps what it typed (a lone unit's typed ratio is the total);
  the value its parts give is shown beside it, and a difference warns (submissions.ratios).
- Progress against the goal, by the goal's sense (floor, ceiling...): reports.goals.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from models.plan import Target
from plans.vocabulary import Aggregation, TargetKind
from reports.goals import progress
from schedules.periods import Cadence, Period, periods_in_year
from submissions.ratios import ratio_of as ratio
from submissions.ratios import ratio_warning
from wording.collation import sort_key

Value = Decimal | bool | str | None

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
    goal_upper: Decimal | None = None  # a range's upper bound (goal_number: its lower)
    baseline: Decimal | None = None  # what a reduction is measured from

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
            goal_upper=t.goal_upper,
            baseline=t.baseline,
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
    # A ratio the unit typed, as its parts give it (shown beside what it typed).
    period_computed: Value = None
    to_date_computed: Value = None


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
    provisional: tuple[str, ...] = ()  # consolidating units whose inputs stand in (reports.levels)


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
# A source's values one period at a time: period label -> (window end, value).
ByLabel = dict[str, tuple[date, Value]]


@dataclass
class Tally:
    """Reported values folded per source (obligation, unit, target): the period, the year.

    `by_label` keeps the values of the `detailed` obligations one period at a time: the
    reporting levels (reports.levels) need them to put a consolidating unit's inputs in place
    of a report it has not sent yet, period by period; and those of merged units, whose line
    counts each period once (reports.lineage).
    """

    period: dict[SourceKey, OverTime] = field(default_factory=dict)
    to_date: dict[SourceKey, OverTime] = field(default_factory=dict)
    unit_names: dict[str, str] = field(default_factory=dict)
    cadences: dict[str, str | None] = field(default_factory=dict)  # by obligation code
    by_label: dict[SourceKey, ByLabel] = field(default_factory=dict)
    in_period: frozenset[str] = frozenset()  # the labels of the report period

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
    targets: Sequence[TargetSpec],
    to_date_rows: Iterable[ReportedValue],
    period: Collection[str],
    detailed: Collection[str] = (),
    merged: Collection[str] = (),
) -> Tally:
    """Fold the year-to-date values; those of the `period` labels count for the period too.

    The values of the `detailed` obligations, and those of the `merged` units (reports.lineage),
    are also kept one period at a time.
    """
    kinds = {t.code: t.kind for t in targets}
    result = Tally(in_period=frozenset(period))
    to_date, in_period = result.to_date, result.period
    for row in to_date_rows:
        unit, unit_name, obligation, cadence, label, window_end, target, number, text, flag = row
        key = (obligation, unit, target)
        raw = _raw(kinds.get(target), number, text, flag)
        if label and (obligation in detailed or unit in merged):
            result.by_label.setdefault(key, {})[label] = (window_end, raw)
        for window in (to_date, in_period) if label in period else (to_date,):
            acc = window.get(key)
            if acc is None:
                acc = window[key] = OverTime()
                result.unit_names[unit] = unit_name
                result.cadences[obligation] = cadence
            acc.add(window_end, raw)
    return result


# Per target code, per unit code: the unit's values over time that the figure combines.
Sources = dict[str, dict[str, OverTime]]


@dataclass(frozen=True)
class Counted:
    """What each figure combines across units, per window ("period", "to_date")."""

    windows: dict[str, Sources]
    unit_names: dict[str, str]
    provisional: dict[str, tuple[str, ...]] = field(default_factory=dict)  # by target code
    notes: dict[str, str] = field(default_factory=dict)  # by target code

    @classmethod
    def every_unit(cls, values: Tally) -> Counted:
        """Every unit's finest source counts (no reporting levels)."""
        return cls(
            {
                "period": finest_sources(values.period, values.cadences),
                "to_date": finest_sources(values.to_date, values.cadences),
            },
            values.unit_names,
        )


def cadence_rank(obligation: str, cadences: Mapping[str, str | None]) -> tuple[int, str]:
    """Finer cadences first (monthly before quarterly); an ad-hoc obligation counts as yearly."""
    cadence = cadences.get(obligation)
    return (Cadence(cadence).months if cadence else 12, obligation)


def finest_sources(
    window: dict[SourceKey, OverTime], cadences: dict[str, str | None]
) -> dict[str, dict[str, OverTime]]:
    """Per target and unit, the values of the unit's finest-cadence obligation only."""
    ranks = {o: cadence_rank(o, cadences) for o in cadences}
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


def aggregate(
    targets: Sequence[TargetSpec],
    values: Tally,
    months_elapsed: int,
    counted: Counted | None = None,
) -> list[Figure]:
    """Every target's figure from the values of the period and of the year to date.

    `counted` says which units' values a figure combines (reports.levels: the reports addressed
    to the issuer); by default every unit's.
    """
    by_code = {t.code: t for t in targets}
    counted = counted or Counted.every_unit(values)
    windows, names = counted.windows, counted.unit_names

    def unit_values(spec: TargetSpec, window: str) -> dict[str, Value]:
        return {u: acc.value(spec) for u, acc in windows[window].get(spec.code, {}).items()}

    figures = []
    for spec in targets:
        note = counted.notes.get(spec.code)
        per_window: dict[str, tuple[Value, dict[str, Value], dict[str, Value]]] = {}
        for window in windows:
            if spec.aggregation == Aggregation.RATIO and spec.numerator and spec.denominator:
                parts = (by_code[spec.numerator], by_code[spec.denominator])
                given = [unit_values(s, window) for s in (spec, *parts)]
                total, units, computed, window_note = ratio_window(spec, parts, given, names)
            else:
                units, computed = unit_values(spec, window), {}
                total, window_note = across_units(spec, list(units.values()))
            note = _joined(note, window_note)
            per_window[window] = (total, units, computed)
        period_total, period_units, period_computed = per_window["period"]
        to_date_total, to_date_units, to_date_computed = per_window["to_date"]
        percent, expected, on_track = progress(spec, to_date_total, months_elapsed)
        reported = sorted(set(period_units) | set(to_date_units), key=lambda c: sort_key(names[c]))
        by_unit = tuple(
            UnitFigure(
                u,
                names[u],
                period_units.get(u),
                to_date_units.get(u),
                period_computed.get(u),
                to_date_computed.get(u),
            )
            for u in reported
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
                provisional=counted.provisional.get(spec.code, ()),
            )
        )
    return figures


def ratio_window(
    spec: TargetSpec,
    parts: tuple[TargetSpec, TargetSpec],
    given: list[dict[str, Value]],
    names: Mapping[str, str],
) -> tuple[Value, dict[str, Value], dict[str, Value], str | None]:
    """A ratio target over one window: (total, each unit's value, each unit's value computed
    from its parts where it typed the ratio too, note).

    What a unit typed is its value; the total is 100 × Σ numerator ÷ Σ denominator over the
    units that gave both parts, except that a lone unit's typed ratio is the total. A typed
    ratio its parts do not give (beyond rounding) is named in the note.
    """
    typed_all, nums, dens = given
    typed = {u: v for u, v in typed_all.items() if isinstance(v, Decimal)}
    both = [u for u in nums if nums[u] is not None and dens.get(u) is not None]
    note = NOTE_RATIO_PARTIAL if len(both) < len(set(nums) | set(dens)) else None
    from_parts = {u: ratio(_dec(nums[u]), _dec(dens[u])) for u in both}
    for u in sorted(set(typed) & set(both), key=lambda c: sort_key(names[c])):
        warning = ratio_warning(f"{spec.name} ({names[u]})", typed[u], _dec(nums[u]), _dec(dens[u]))
        note = _joined(note, warning)
    units: dict[str, Value] = {**from_parts, **typed}
    if len(units) == 1 and typed:
        total: Value = next(iter(typed.values()))
    elif both:
        total_num, _ = across_units(parts[0], [nums[u] for u in both])
        total_den, _ = across_units(parts[1], [dens[u] for u in both])
        total = ratio(_dec(total_num), _dec(total_den))
    else:
        total, percent_note = across_units(spec, list(typed.values()))
        note = _joined(note, percent_note)
    computed: dict[str, Value] = {u: from_parts[u] for u in typed if u in from_parts}
    return total, units, computed, note


def _joined(note: str | None, more: str | None) -> str | None:
    if not more or (note and more in note):
        return note
    return f"{note} {more}" if note else more


def _dec(value: Value) -> Decimal | None:
    return value if isinstance(value, Decimal) else None
