"""Reporting levels: a figure of the issuer's report comes from the reports addressed to it.

Office practice (báo cáo tổng hợp theo cấp): each level consolidates the reports it receives
and reports once upward. The communes and the centre report to the labour department; the
department consolidates them with its own work and reports to the committee. The committee's
report therefore takes the department's figure (1.300 jobs), never the department's figure
plus the communes' and the centre's (that counts the same people twice).

The plan says who reports to whom (each obligation's recipient):

- An obligation addressed to a *consolidating unit* (a unit, not the issuer, that itself
  reports under the plan) is that unit's input. Its values never add to the report's totals.
- Every other obligation (addressed to the issuer, or to a unit that reports nothing upward)
  feeds the report directly, as before: per unit its finest-cadence obligation.
- A consolidating unit counts once, by its own report, one period of its own report at a
  time. For a period it has not reported (no report yet, or the target left empty), the
  roll-up of its inputs in that period stands in, computed by the same rules (and level by
  level if its inputs consolidate too); the figure names the unit as provisional when its
  report for that period belongs to the report period. A unit whose own report does not carry
  the target at all counts by the roll-up of its inputs, and that is not provisional.
- The reconciliation lists, per consolidating unit and target it reports upward, its own
  figure beside the roll-up of its inputs and the difference (its own work, or a gap to check).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import cached_property

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.org import Unit
from models.plan import Obligation, ObligationTarget, Plan, Target, obligation_reporters
from reports.figures import (
    ByLabel,
    Counted,
    Figure,
    OverTime,
    Tally,
    TargetSpec,
    Value,
    across_units,
    aggregate,
    cadence_rank,
    finest_sources,
)
from reports.lineage import Lineage, LineFigure, LineValue, fold_line, merged_note, read_lineage
from reports.reported import plan_targets, read_tally
from schedules.periods import Cadence, Period, periods_in_year
from wording.collation import sort_key

WINDOWS = ("period", "to_date")
ANY_PERIOD = "*"  # the one bucket of a unit whose own report does not carry the target


@dataclass(frozen=True)
class Routing:
    """Who reports to whom under a plan, as plain values."""

    issuer: str
    recipients: Mapping[str, str]  # obligation code -> recipient unit code
    reporters: Mapping[str, frozenset[str]]  # obligation code -> reporting unit codes
    carried: Mapping[str, frozenset[str]]  # obligation code -> target codes its report carries
    cadences: Mapping[str, str | None]  # obligation code -> cadence
    unit_names: Mapping[str, str]
    lineage: Lineage = field(default_factory=Lineage)  # merged units (reports.lineage)

    @cached_property
    def consolidators(self) -> frozenset[str]:
        """Units, other than the issuer, that receive reports and report themselves."""
        reporting = set().union(*self.reporters.values()) if self.reporters else set()
        return frozenset(r for r in self.recipients.values() if r != self.issuer) & reporting

    def consolidator_of(self, obligation: str) -> str | None:
        """The unit that consolidates the obligation's reports; None when they count directly."""
        recipient = self.recipients.get(obligation)
        return recipient if recipient in self.consolidators else None

    @cached_property
    def detailed(self) -> frozenset[str]:
        """The obligations whose values the levels need one period at a time."""
        return frozenset(
            o
            for o, units in self.reporters.items()
            if self.consolidator_of(o) is not None or units & self.consolidators
        )

    def upward(self, unit: str, target: str) -> str | None:
        """The finest obligation under which `unit` reports `target` to someone else."""
        own = [
            o
            for o, units in self.reporters.items()
            if unit in units and self.recipients.get(o) != unit and target in self.carried[o]
        ]
        return min(own, key=lambda o: cadence_rank(o, self.cadences)) if own else None

    def reports_to_a_consolidator(self, unit: str) -> bool:
        return any(
            unit in units and self.consolidator_of(o) is not None
            for o, units in self.reporters.items()
        )


def read_routing(*, session: Session, plan: Plan) -> Routing:
    """The plan's reporting lines: each obligation's recipient, reporters and targets.

    Read as codes from the link tables: a province's obligation has thousands of reporters.
    """
    obligations = session.execute(
        select(Obligation.code, Obligation.cadence, Unit.code, Unit.name)
        .join(Unit, Unit.id == Obligation.recipient_unit_id)
        .where(Obligation.plan_id == plan.id)
    ).all()
    reporters: dict[str, set[str]] = {code: set() for code, *_ in obligations}
    for code, unit in session.execute(
        select(Obligation.code, Unit.code)
        .join(obligation_reporters, obligation_reporters.c.obligation_id == Obligation.id)
        .join(Unit, Unit.id == obligation_reporters.c.unit_id)
        .where(Obligation.plan_id == plan.id)
    ):
        reporters[code].add(unit)
    carried: dict[str, set[str]] = {code: set() for code, *_ in obligations}
    for code, target in session.execute(
        select(Obligation.code, Target.code)
        .join(ObligationTarget, ObligationTarget.obligation_id == Obligation.id)
        .join(Target, Target.id == ObligationTarget.target_id)
        .where(Obligation.plan_id == plan.id)
    ):
        carried[code].add(target)
    lineage = read_lineage(session=session)
    return Routing(
        issuer=plan.issuer.code,
        recipients={code: recipient for code, _, recipient, _ in obligations},
        reporters={c: frozenset(units) for c, units in reporters.items()},
        carried={c: frozenset(t) for c, t in carried.items()},
        cadences={code: cadence for code, cadence, _, _ in obligations},
        # Consolidating units are recipients; their names are needed even before they report.
        unit_names={recipient: name for _, _, recipient, name in obligations},
        lineage=lineage,
    )


@dataclass(frozen=True)
class Reconciliation:
    """A consolidating unit's own figure beside the roll-up of the reports it received."""

    unit_code: str
    unit_name: str
    target: TargetSpec
    window: str  # "period" or "to_date"
    reported: Value  # None: the unit has not reported it
    inputs: Value
    input_units: int

    @property
    def difference(self) -> Decimal | None:
        if isinstance(self.reported, Decimal) and isinstance(self.inputs, Decimal):
            return self.reported - self.inputs
        return None


@dataclass
class _Index:
    """The per-period values, by who sent them and to whom."""

    # consolidator -> target -> input unit -> obligation -> values by label
    inputs: dict[str, dict[str, dict[str, dict[str, ByLabel]]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(lambda: defaultdict(dict)))
    )
    # unit -> target -> obligation -> values by label (the unit's own upward reports)
    own: dict[str, dict[str, dict[str, ByLabel]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(dict))
    )


class Levels:
    """The report's figures level by level, from a tally and the plan's routing."""

    def __init__(self, targets: list[TargetSpec], values: Tally, routing: Routing) -> None:
        self.specs = {t.code: t for t in targets}
        self.values, self.routing = values, routing
        self.index = _Index()
        for (obligation, unit, target), labels in values.by_label.items():
            consolidator = routing.consolidator_of(obligation)
            if consolidator is not None:
                self.index.inputs[consolidator][target][unit][obligation] = labels
            if unit in routing.consolidators and consolidator != unit:
                self.index.own[unit][target][obligation] = labels
        self._link_silent_consolidators()
        self._buckets: dict[tuple[str, str], str] = {}
        ends = [Period.parse(label).end for label in values.in_period]
        self.report_end = max(ends) if ends else None

    def _link_silent_consolidators(self) -> None:
        """A consolidating unit that has not reported still passes its inputs upward."""
        changed = True
        while changed:
            changed = False
            for unit in self.routing.consolidators:
                for target in list(self.index.inputs.get(unit, {})):
                    for o, reporters in self.routing.reporters.items():
                        upper = self.routing.consolidator_of(o)
                        if unit in reporters and upper not in (None, unit):
                            sent = self.index.inputs[upper][target][unit]
                            if o not in sent:
                                sent[o] = {}
                                changed = True

    def labels_below(self, unit: str, target: str, seen: frozenset[str] = frozenset()) -> set[str]:
        """Every period label a unit and the units beneath it reported the target for."""
        labels: set[str] = set()
        for own in self.index.own.get(unit, {}).get(target, {}).values():
            labels |= set(own)
        for source, sent in self.index.inputs.get(unit, {}).get(target, {}).items():
            for by_label in sent.values():
                labels |= set(by_label)
            if source in self.routing.consolidators and source not in seen:
                labels |= self.labels_below(source, target, seen | {unit})
        return labels

    def keep(self, window: str) -> Callable[[str], bool]:
        in_period = self.values.in_period
        return (lambda label: label in in_period) if window == "period" else (lambda _: True)

    def due_within(self, bucket: str, keep: Callable[[str], bool]) -> bool:
        """Whether a consolidating unit's report for `bucket` belongs to the window: only then
        does a roll-up of its inputs stand in for a report it owes."""
        if bucket == ANY_PERIOD or not keep(bucket) or self.report_end is None:
            return False
        return Period.parse(bucket).end <= self.report_end

    def bucket(self, label: str, cadence: str | None) -> str:
        """The period of `cadence` that holds the end of the period `label`."""
        if cadence is None:
            return ANY_PERIOD
        found = self._buckets.get((label, cadence))
        if found is None:
            end = Period.parse(label).end
            # The next year too: the ISO week holding 31 December may belong to it.
            found = next(
                p.label
                for year in (end.year, end.year + 1)
                for p in periods_in_year(Cadence(cadence), year)
                if p.end >= end
            )
            self._buckets[(label, cadence)] = found
        return found

    def _finest(self, by_obligation: Mapping[str, ByLabel]) -> ByLabel:
        return by_obligation[
            min(by_obligation, key=lambda o: cadence_rank(o, self.values.cadences))
        ]

    def series(
        self,
        unit: str,
        target: str,
        keep: Callable[[str], bool],
        *,
        use_own: bool = True,
        seen: frozenset[str] = frozenset(),
    ) -> tuple[OverTime, bool]:
        """A consolidating unit's values over time: its own report where it has one, else the
        roll-up of its inputs, period by period; and whether a roll-up stood in for a report
        of the window."""
        spec = self.specs[target]
        upward = self.routing.upward(unit, target)
        cadence = self.routing.cadences.get(upward) if upward else None
        by_bucket: dict[str, tuple[date, Value]] = {}
        own = self.index.own.get(unit, {}).get(target)
        if use_own and own:
            for label, (end, raw) in self._finest(own).items():
                if keep(label) and raw is not None:
                    by_bucket[label] = (end, raw)
        rolled: dict[str, dict[str, OverTime]] = defaultdict(dict)  # bucket -> unit -> values
        ends: dict[str, date] = {}
        for source, by_obligation in self.index.inputs.get(unit, {}).get(target, {}).items():
            if source in seen:
                continue  # a reporting circle: count each unit once
            labels = self._finest(by_obligation)
            below = self.labels_below(source, target, seen | {unit}) | set(labels)
            for b in {self.bucket(lb, cadence) for lb in below if keep(lb)} - set(by_bucket):

                def inside(lb: str, b: str = b) -> bool:
                    return keep(lb) and self.bucket(lb, cadence) == b

                if source in self.routing.consolidators:
                    acc, _ = self.series(source, target, inside, seen=seen | {unit})
                else:
                    acc = OverTime()
                    for lb, (end, raw) in labels.items():
                        if inside(lb):
                            acc.add(end, raw)
                if acc.latest_end is not None:
                    rolled[b][source] = acc
                    ends[b] = max(ends.get(b, acc.latest_end), acc.latest_end)
        provisional = False
        for b, units in rolled.items():
            value, _ = across_units(spec, [acc.value(spec) for acc in units.values()])
            if value is not None:
                by_bucket[b] = (ends[b], value)
                provisional = provisional or (use_own and self.due_within(b, keep))
        result = OverTime()
        for end, value in sorted(by_bucket.values(), key=lambda x: x[0]):
            result.add(end, value)
        return result, provisional

    def counted(self) -> Counted:
        """The units each figure combines: the direct reporters, each consolidating unit once,
        each merged unit's line once (reports.lineage)."""
        routing = self.routing
        names = {**self.values.unit_names, **routing.unit_names, **routing.lineage.names}
        merged = routing.lineage.members
        direct = {
            w: {
                k: v
                for k, v in getattr(self.values, w).items()
                if not self._is_input(k[0]) and k[1] not in merged
            }
            for w in WINDOWS
        }
        windows = {w: finest_sources(direct[w], self.values.cadences) for w in WINDOWS}
        notes: dict[str, str] = {}
        for (root, target), line in self.lines().items():
            for w in WINDOWS:
                if line.windows[w].latest_end is not None:
                    windows[w].setdefault(target, {})[root] = line.windows[w]
            if line.predecessors:
                more = merged_note(names[root], (names[u] for u in line.predecessors))
                notes[target] = f"{notes[target]} {more}" if target in notes else more
        provisional: dict[str, set[str]] = defaultdict(set)
        top = [c for c in routing.consolidators if not routing.reports_to_a_consolidator(c)]
        for unit in sorted(top):
            targets = set(self.index.own.get(unit, {})) | set(self.index.inputs.get(unit, {}))
            for target in targets & set(self.specs):
                for w in WINDOWS:
                    acc, stood_in = self.series(unit, target, self.keep(w))
                    if acc.latest_end is None:
                        windows[w].get(target, {}).pop(unit, None)
                        continue
                    windows[w].setdefault(target, {})[unit] = acc
                    names.setdefault(unit, unit)
                    if stood_in:
                        provisional[target].add(names[unit])
        for target, units in provisional.items():
            note = provisional_note(units)
            notes[target] = f"{note} {notes[target]}" if target in notes else note
        return Counted(windows, names, {t: tuple(sorted(u)) for t, u in provisional.items()}, notes)

    def lines(self) -> dict[tuple[str, str], LineFigure]:
        """Each merged unit's line (the unit carrying on and its predecessors), per target,
        counted directly: every period's figure once."""
        lineage = self.routing.lineage
        values: dict[tuple[str, str], list[LineValue]] = defaultdict(list)
        for (obligation, unit, target), labels in self.values.by_label.items():
            if unit in lineage.members and target in self.specs and not self._is_input(obligation):
                values[(lineage.root(unit), target)] += [
                    (obligation, unit, label, end, raw) for label, (end, raw) in labels.items()
                ]
        windows = {w: self.keep(w) for w in WINDOWS}
        return {
            (root, target): fold_line(
                self.specs[target],
                line,
                lineage,
                lambda o: cadence_rank(o, self.values.cadences),
                windows,
            )
            for (root, target), line in values.items()
        }

    def _is_input(self, obligation: str) -> bool:
        return self.routing.consolidator_of(obligation) is not None

    def reconciliation(self) -> tuple[Reconciliation, ...]:
        """Each consolidating unit's figures beside the roll-up of what it received."""
        rows = []
        names = {**self.values.unit_names, **self.routing.unit_names}
        for unit in sorted(self.routing.consolidators, key=lambda u: sort_key(names.get(u) or u)):
            received = self.index.inputs.get(unit, {})
            for spec in self.specs.values():
                if spec.code not in received or self.routing.upward(unit, spec.code) is None:
                    continue
                own = self.index.own.get(unit, {}).get(spec.code)
                for w in WINDOWS:
                    keep = self.keep(w)
                    reported = OverTime()
                    for label, (end, raw) in (self._finest(own) if own else {}).items():
                        if keep(label):
                            reported.add(end, raw)
                    inputs, _ = self.series(unit, spec.code, keep, use_own=False)
                    senders = sum(
                        any(keep(label) for label in self._finest(by_obligation))
                        for by_obligation in received[spec.code].values()
                    )
                    if reported.latest_end is None and inputs.latest_end is None:
                        continue
                    rows.append(
                        Reconciliation(
                            unit,
                            names.get(unit, unit),
                            spec,
                            w,
                            reported.value(spec),
                            inputs.value(spec),
                            senders,
                        )
                    )
        return tuple(rows)


def provisional_note(units: set[str]) -> str:
    """The words that mark a figure standing in for reports not yet received."""
    who = ", ".join(sorted(units, key=sort_key))
    return (
        f"Số liệu tạm tính: {who} chưa báo cáo chỉ tiêu này trong kỳ; tạm tổng hợp từ báo cáo "
        "của các đơn vị gửi về đơn vị đó."
    )


def level_figures(
    targets: list[TargetSpec], values: Tally, routing: Routing, months_elapsed: int
) -> tuple[list[Figure], tuple[Reconciliation, ...]]:
    """The report's figures with each level counted once, and the reconciliation."""
    levels = Levels(targets, values, routing)
    return aggregate(targets, values, months_elapsed, levels.counted()), levels.reconciliation()


@dataclass(frozen=True)
class ReportFigures:
    """The report's figures, the reconciliation, and the values they came from."""

    targets: list[TargetSpec]
    values: Tally
    figures: list[Figure]
    reconciliation: tuple[Reconciliation, ...]


def report_figures(
    *, session: Session, plan: Plan, period: Period, as_of: datetime
) -> ReportFigures:
    """The report's figures for `period`, level by level, as of an instant."""
    targets = plan_targets(session=session, plan_id=plan.id)
    routing = read_routing(session=session, plan=plan)
    values = read_tally(
        session=session,
        plan_id=plan.id,
        targets=targets,
        period=period,
        as_of=as_of,
        detailed=routing.detailed,
        merged=routing.lineage.members,
    )
    figures, reconciliation = level_figures(targets, values, routing, period.last_month)
    return ReportFigures(targets, values, figures, reconciliation)
