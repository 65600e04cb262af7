"""The report as JSON for machines: every figure with its parts, by unit, and the document."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from reports.document import Block, ObligationSheet, Para, Part, Report, Slot
from reports.figures import Figure, Value

SCHEMA = "dondoc.report/1"


def number(value: Decimal | None) -> int | float | None:
    """A Decimal as a JSON number: integral values as integers, others to 6 decimals."""
    if value is None:
        return None
    if value == value.to_integral_value():
        return int(value)
    return float(round(value, 6))


def _value(value: Value) -> Any:
    return number(value) if isinstance(value, Decimal) else value


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _figure(fig: Figure) -> dict[str, Any]:
    t = fig.target
    return {
        "code": t.code,
        "name": t.name,
        "unit_of_measure": t.unit_of_measure,
        "kind": t.kind,
        "aggregation": t.aggregation,
        "numerator": t.numerator,
        "denominator": t.denominator,
        "goal": {
            "comparator": t.comparator,
            "number": number(t.goal_number),
            "upper": number(t.goal_upper),
            "baseline": number(t.baseline),
            "text": t.goal_text,
        },
        "period": _value(fig.period),
        "to_date": _value(fig.to_date),
        "percent_of_goal": number(fig.percent_of_goal),
        "expected_percent": number(fig.expected_percent),
        "on_track": fig.on_track,
        "note": fig.note,
        "provisional": list(fig.provisional),
        "by_unit": [
            {
                "unit": u.unit_code,
                "name": u.unit_name,
                "period": _value(u.period),
                "to_date": _value(u.to_date),
                "period_computed": _value(u.period_computed),
                "to_date_computed": _value(u.to_date_computed),
            }
            for u in fig.by_unit
        ],
    }


def _block(block: Block) -> dict[str, Any]:
    if isinstance(block, Part):
        return {
            "part": block.heading,
            "level": block.level,
            "blocks": [_block(b) for b in block.blocks],
        }
    if isinstance(block, Slot):
        return {"slot": block.name}
    assert isinstance(block, Para)
    return {"kind": block.kind.value, "text": block.text}


def _sheet(sheet: ObligationSheet) -> dict[str, Any]:
    return {
        "code": sheet.code,
        "title": sheet.title,
        "targets": [c.code for c in sheet.columns],
        "units": [
            {
                "unit": r.unit_code,
                "name": r.unit_name,
                "expected": r.expected,
                "received": r.received,
                "late": r.late,
                "missing": r.missing,
                "not_due_yet": r.pending,
                "last_received": _iso(r.last_received),
                "period": [_value(v) for v in r.period],
                "to_date": [_value(v) for v in r.to_date],
            }
            for r in sheet.rows
        ],
        "total_period": [_value(v) for v in sheet.total_period],
        "total_to_date": [_value(v) for v in sheet.total_to_date],
    }


def report_dict(report: Report) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "plan": report.plan_code,
        "period": report.period,
        "period_title": report.period_title,
        "compiled_at": _iso(report.as_of),
        "window": {"start": _iso(report.window[0]), "end": _iso(report.window[1])},
        "to_date_window": {
            "start": _iso(report.to_date_window[0]),
            "end": _iso(report.to_date_window[1]),
        },
        "header": {
            "governing_body": report.governing_body,
            "agency": list(report.agency_lines),
            "number": report.number_line,
            "place_date": report.place_date,
            "title": report.title,
            "summary": report.summary,
        },
        "figures": [_figure(f) for f in report.figures],
        "obligations": [_sheet(s) for s in report.sheets],
        "reconciliation": [
            {
                "unit": r.unit_code,
                "name": r.unit_name,
                "target": r.target.code,
                "window": r.window,
                "reported": _value(r.reported),
                "inputs": _value(r.inputs),
                "input_units": r.input_units,
                "difference": number(r.difference),
            }
            for r in report.reconciliation
        ],
        "late_or_missing": [
            {
                "unit": x.unit_name,
                "report": x.obligation_title,
                "period": x.period_label,
                "status": x.status,
                "deadline": _iso(x.deadline_on),
                "received": _iso(x.received_on),
                "working_days": x.working_days,
            }
            for x in report.reporting
        ],
        "deliverables": [
            {
                "deliverable": d.deliverable_code,
                "title": d.title,
                "task": d.task_code,
                "unit": d.unit_code,
                "deadline": _iso(d.deadline_on),
                "state": d.state,
                "done_on": _iso(d.done_on),
            }
            for d in report.deliverables
        ],
        "narratives": [
            {
                "unit": n.unit_code,
                "name": n.unit_name,
                "obligation": n.obligation_code,
                "period": n.period_label,
                "sections": dict(n.sections),
            }
            for n in report.narratives
        ],
        "document": [_block(b) for b in report.body],
        "signature": {"title": list(report.signer_title_lines), "name": report.signer_name},
        "distribution": list(report.distribution),
    }


def render_json(report: Report) -> bytes:
    return (json.dumps(report_dict(report), ensure_ascii=False, indent=2) + "\n").encode("utf-8")
