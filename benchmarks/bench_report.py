"""Report aggregation: reports.reported.compute_figures against one SQL GROUP BY.

Also the whole report as an office receives it (reports.content.build_report: figures,
reporting status of every unit, narratives, sheets), timed on its own: no baseline does that.

Both sides compute, for every target and unit, the value of the report period and of the
year to date from the latest accepted version of each item's submission (as of an instant):
`sum` targets add the periods, `last` targets take the latest period's value. The baseline
is one statement with window functions; the run fails if the two disagree on any figure.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, bindparam, select, text

from benchmarks.timing import compare, measure
from models.db import session_factory
from models.plan import Plan
from reports.content import build_report
from reports.figures import Figure, period_labels, to_date_labels
from reports.reported import compute_figures
from schedules.periods import Period

PERIOD = "2024-Q2"

BASELINE_SQL = text(
    """
    WITH latest AS (
        SELECT s.id, s.item_id, s.received_at,
               ROW_NUMBER() OVER (PARTITION BY s.item_id ORDER BY s.version DESC) AS rn
        FROM submissions s
        JOIN due_items d ON d.id = s.item_id
        WHERE s.accepted AND s.received_at <= :as_of
          AND d.plan_id = :plan_id AND d.kind = 'report' AND d.withdrawn_at IS NULL
          AND d.period_label IN :to_date
    ),
    v AS (
        SELECT u.code AS unit, t.code AS target, t.aggregation, sv.number,
               CASE WHEN d.period_label IN :period THEN 1 ELSE 0 END AS in_period,
               ROW_NUMBER() OVER (PARTITION BY d.unit_id, t.id
                                  ORDER BY d.window_end DESC, l.received_at DESC) AS last_td,
               ROW_NUMBER() OVER (PARTITION BY d.unit_id, t.id,
                                      CASE WHEN d.period_label IN :period THEN 1 ELSE 0 END
                                  ORDER BY d.window_end DESC, l.received_at DESC) AS last_p
        FROM latest l
        JOIN due_items d ON d.id = l.item_id
        JOIN units u ON u.id = d.unit_id
        JOIN submission_values sv ON sv.submission_id = l.id
        JOIN targets t ON t.id = sv.target_id
        WHERE l.rn = 1 AND sv.number IS NOT NULL
    )
    SELECT target, unit,
           CASE WHEN aggregation = 'sum' THEN SUM(CASE WHEN in_period = 1 THEN number END)
                ELSE MAX(CASE WHEN in_period = 1 AND last_p = 1 THEN number END) END AS period,
           CASE WHEN aggregation = 'sum' THEN SUM(number)
                ELSE MAX(CASE WHEN last_td = 1 THEN number END) END AS to_date
    FROM v
    GROUP BY target, unit, aggregation
    """
).bindparams(bindparam("to_date", expanding=True), bindparam("period", expanding=True))


def _num(value: object) -> Decimal | None:
    return None if value is None else Decimal(str(value)).normalize()


def run(engine: Engine, as_of: datetime, repeat: int = 3) -> dict[str, Any]:
    factory = session_factory(engine)
    period = Period.parse(PERIOD)
    with factory() as session:
        plan_id = session.scalars(select(Plan.id).order_by(Plan.id)).first()
    assert plan_id is not None, "no plan: generate the synthetic data first"

    def ours() -> list[Figure]:
        with factory() as session:
            return compute_figures(session=session, plan_id=plan_id, period=period, as_of=as_of)

    utc = datetime.fromtimestamp(as_of.timestamp(), UTC)
    # SQLite keeps instants as naive UTC text (models.base.UTCDateTime); compare like for like.
    as_of_param: object = utc if engine.dialect.name != "sqlite" else f"{utc:%Y-%m-%d %H:%M:%S.%f}"
    params = {
        "as_of": as_of_param,
        "plan_id": plan_id,
        "to_date": to_date_labels(period),
        "period": period_labels(period),
    }

    def baseline() -> list[Any]:
        with engine.connect() as conn:
            return list(conn.execute(BASELINE_SQL, params).all())

    timed = compare({"dondoc": ours, "baseline": baseline}, repeat)
    figures: list[Figure] = timed["dondoc"]["result"]
    ours_by = {
        (f.target.code, u.unit_code): (_num(u.period), _num(u.to_date))
        for f in figures
        for u in f.by_unit
    }
    base_by = {
        (r.target, r.unit): (_num(r.period), _num(r.to_date)) for r in timed["baseline"]["result"]
    }
    if ours_by != base_by:
        differ = [k for k in ours_by if ours_by[k] != base_by.get(k)][:5]
        raise AssertionError(f"figures differ from the SQL baseline for {differ}")

    def whole_report() -> int:
        with factory() as session:
            plan = session.get_one(Plan, plan_id)
            report = build_report(session=session, plan=plan, period=period, as_of=as_of)
            return sum(len(sheet.rows) for sheet in report.sheets)

    report_rows, report_s, report_mib = measure(whole_report, max(1, repeat // 2))
    ours_s, base_s = timed["dondoc"]["best_s"], timed["baseline"]["best_s"]
    return {
        "benchmark": "report",
        "title": f"report aggregation ({PERIOD} and year to date, every unit)",
        "unit_figures": len(ours_by),
        "totals": {f.target.code: str(f.to_date) for f in figures},
        "dondoc_s": ours_s,
        "baseline_s": base_s,
        "ratio": ours_s / base_s,
        "goal": "ratio <= 2",
        "met": ours_s / base_s <= 2,
        "dondoc_peak_mib": timed["dondoc"]["peak_mib"],
        "baseline_peak_mib": timed["baseline"]["peak_mib"],
        "whole_report_unit_rows": report_rows,
        "whole_report_s": report_s,
        "whole_report_peak_mib": report_mib,
    }
