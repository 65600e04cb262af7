"""Each obligation's sheet: every unit's figures and reporting counts, and the totals."""

from __future__ import annotations

from collections import defaultdict

from reports.document import ObligationSheet, SheetColumn, SheetRow
from reports.facts import Facts
from reports.figures import aggregate
from schedules.calendar import local_date
from schedules.periods import Period
from status.states import NOT_DUE_YET, ItemState, ItemStatus
from wording.collation import sort_key


def obligation_sheets(facts: Facts, period: Period) -> tuple[ObligationSheet, ...]:
    """One sheet per obligation with items in the period: each unit's line and the totals."""
    by_code = {t.code: t for t in facts.targets}
    states_by: dict[str, dict[str, list[ItemState]]] = defaultdict(lambda: defaultdict(list))
    names: dict[str, str] = {}
    for s in facts.states:
        states_by[s.source_code][s.unit_code].append(s)
        names[s.unit_code] = s.unit_name
    sheets = []
    for code, obligation in facts.obligations.items():
        if code not in states_by:
            continue
        columns = [
            by_code[ot.target.code] for ot in obligation.targets if ot.target.code in by_code
        ]
        needed = list(columns)
        for spec in columns:  # a ratio needs its parts even when the report does not carry them
            for part in (spec.numerator, spec.denominator):
                if part and by_code.get(part) and by_code[part] not in needed:
                    needed.append(by_code[part])
        figures = aggregate(needed, facts.values.only(code), period.last_month)
        fig_by = {f.target.code: f for f in figures}
        # Indexed once: a lookup per (unit, column) stays cheap with thousands of units.
        unit_figures = {f.target.code: {u.unit_code: u for u in f.by_unit} for f in figures}
        rows = []
        for unit_code in sorted(states_by[code], key=lambda u: sort_key(names[u])):
            unit_states = states_by[code][unit_code]
            per_unit = {c.code: unit_figures[c.code].get(unit_code) for c in columns}
            received = [s for s in unit_states if s.first_accepted_at is not None]
            rows.append(
                SheetRow(
                    unit_code=unit_code,
                    unit_name=names[unit_code],
                    expected=len([s for s in unit_states if s.status is not ItemStatus.EXCUSED]),
                    received=len(received),
                    late=len([s for s in unit_states if s.status is ItemStatus.SUBMITTED_LATE]),
                    missing=len([s for s in unit_states if s.status is ItemStatus.OVERDUE]),
                    pending=len([s for s in unit_states if s.status in NOT_DUE_YET]),
                    last_received=max(
                        (local_date(s.first_accepted_at) for s in received if s.first_accepted_at),
                        default=None,
                    ),
                    period=tuple(u.period if u else None for u in per_unit.values()),
                    to_date=tuple(u.to_date if u else None for u in per_unit.values()),
                    period_computed=tuple(
                        u.period_computed if u else None for u in per_unit.values()
                    ),
                )
            )
        sheets.append(
            ObligationSheet(
                code=code,
                title=obligation.title,
                columns=tuple(
                    SheetColumn(c.code, c.name, c.unit_of_measure or "") for c in columns
                ),
                rows=tuple(rows),
                total_period=tuple(fig_by[c.code].period for c in columns),
                total_to_date=tuple(fig_by[c.code].to_date for c in columns),
            )
        )
    return tuple(sheets)
