"""Merged units: a successor's figures take in its predecessors' reports, each period once.

The July 2025 reform merged communes: xã Đông, xã Tây and thị trấn Đồng Mẫu became xã Hòa
Bình on 01/07/2025. Their reports of the first half year are part of the new commune's year to
date, and the report lists the new commune once, with its predecessors' figures inside:

- A unit and every unit whose work it took over (`successor`, through any chain of mergers)
  form one line, named after the unit that carries on.
- Period by period, each figure is counted once: for one obligation and period, the report of
  the unit nearest the successor counts (the successor's own, else its predecessors', which
  combine across units as usual: two communes' jobs add up).
- Where reports of different cadences overlap (the old communes' second-quarter report, the
  new commune's June report), finer reports that cover a whole period count, as for any unit
  (monthly beats quarterly); a coarser report counts instead of finer ones that cover only
  part of its period, because it holds the whole period's figure.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from models.org import Unit
from plans.vocabulary import TargetKind
from reports.figures import OverTime, TargetSpec, Value, across_units
from schedules.periods import Period
from wording.collation import sort_key

# One value of a unit of a line: (obligation code, unit code, period label, window end, value).
LineValue = tuple[str, str, str, date, Value]


@dataclass(frozen=True)
class Lineage:
    """Which unit took over whose work, as plain codes and names."""

    successor: Mapping[str, str] = field(default_factory=dict)  # unit -> its direct successor
    names: Mapping[str, str] = field(default_factory=dict)

    def chain(self, unit: str) -> list[str]:
        """The units that took over `unit`'s work, one merger after another."""
        later: list[str] = []
        seen = {unit}  # a circle in the data stops where it closes
        while unit in self.successor and self.successor[unit] not in seen:
            unit = self.successor[unit]
            later.append(unit)
            seen.add(unit)
        return later

    def root(self, unit: str) -> str:
        """The unit that carries on `unit`'s work today (itself when it never merged)."""
        return (self.chain(unit) or [unit])[-1]

    def depth(self, unit: str) -> int:
        """How many mergers separate `unit` from the unit carrying on its work."""
        return len(self.chain(unit))

    @cached_property
    def members(self) -> frozenset[str]:
        """Every unit of a line that merged: the predecessors and the units carrying on."""
        return frozenset(self.successor) | frozenset(self.root(u) for u in self.successor)


def read_lineage(*, session: Session) -> Lineage:
    """The succession of units, read from the units that have a successor (a few)."""
    later = aliased(Unit)
    rows = session.execute(
        select(Unit.code, Unit.name, later.code, later.name).join(
            later, later.id == Unit.successor_id
        )
    ).all()
    names = {code: name for code, name, _, _ in rows} | {code: name for *_, code, name in rows}
    return Lineage({code: after for code, _, after, _ in rows}, names)


@dataclass(frozen=True)
class LineFigure:
    """A line's values over time per window, and the predecessors whose reports count."""

    windows: dict[str, OverTime]
    predecessors: frozenset[str]


def fold_line(
    spec: TargetSpec,
    values: Iterable[LineValue],
    lineage: Lineage,
    rank: Callable[[str], tuple[int, str]],
    windows: Mapping[str, Callable[[str], bool]],
) -> LineFigure:
    """One line's values of one target, each period counted once (see the module's rule)."""
    sent: dict[str, dict[str, list[tuple[int, str, date, Value]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for obligation, unit, label, end, raw in values:
        sent[obligation][label].append((lineage.depth(unit), unit, end, raw))
    chosen: dict[str, tuple[Period, date, Value, set[str]]] = {}  # label -> what counts
    for obligation in sorted(sent, key=rank):
        for label, reports in sorted(sent[obligation].items()):
            given = [r for r in reports if r[3] is not None]
            nearest = min((r[0] for r in given), default=0)
            kept = [r for r in given if r[0] == nearest]
            value = _combined(spec, [r[3] for r in kept])
            if value is None or label in chosen:
                continue
            period = Period.parse(label)
            inside = [lb for lb, c in chosen.items() if _within(c[0], period)]
            if any(_overlap(c[0], period) for lb, c in chosen.items() if lb not in inside):
                continue
            if inside and sum(_days(chosen[lb][0]) for lb in inside) == _days(period):
                continue  # finer reports cover the whole period already
            for lb in inside:  # a complete coarser figure beats a few finer ones
                del chosen[lb]
            predecessors = {r[1] for r in kept if r[0] > 0}
            chosen[label] = (period, max(r[2] for r in kept), value, predecessors)
    result = {}
    for window, keep in windows.items():
        acc = OverTime()
        for label, (_, end, value, _) in chosen.items():
            if keep(label):
                acc.add(end, value)
        result[window] = acc
    return LineFigure(result, frozenset().union(*(c[3] for c in chosen.values())))


def _combined(spec: TargetSpec, values: list[Value]) -> Value:
    """Values of one period from units of the same line (two old communes), combined as
    across units; texts are kept side by side rather than dropped."""
    if spec.kind == TargetKind.TEXT:
        return "; ".join(dict.fromkeys(str(v) for v in values)) or None
    value, _ = across_units(spec, values)
    return value


def _days(period: Period) -> int:
    return (period.end - period.start).days + 1


def _within(inner: Period, outer: Period) -> bool:
    return outer.start <= inner.start and inner.end <= outer.end


def _overlap(a: Period, b: Period) -> bool:
    return a.start <= b.end and b.start <= a.end


def merged_note(successor: str, predecessors: Iterable[str]) -> str:
    """The words saying whose reports a successor's figures include."""
    return (
        f"Số liệu của {successor} gồm cả báo cáo của "
        f"{', '.join(sorted(predecessors, key=sort_key))} "
        "trước khi sáp nhập."
    )
