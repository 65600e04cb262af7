"""Status of one period for all units: dondoc's item_states against one hand-written SQL query."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, text

from benchmarks.timing import compare
from models.calendar import load_calendar
from models.db import session_factory
from status.states import ItemState, item_states

PERIOD = "2024-06"
OBLIGATION = "bc-thang-xa"

# The baseline: what a DBA would write by hand, status decided in SQL, no ORM. It returns the
# same columns as an ItemState (bar the working days overdue, which need the calendar) and
# finds each item's first accepted submission the fastest way we found for one period: one
# index probe per item (the GROUP BY over every submission first written here was 2x slower;
# MATERIALIZED keeps PostgreSQL from running that probe once per use in the CASE).
BASELINE_SQL = text(
    """
    WITH x AS MATERIALIZED (
        SELECT d.id, d.key, d.kind, d.unit_id, d.period_label, d.opens_at, d.deadline_at,
               d.deadline_on, u.code AS unit_code, u.name AS unit_name,
               o.code AS obligation, o.title,
               (SELECT MIN(s.received_at) FROM submissions s
                WHERE s.item_id = d.id AND s.accepted AND s.received_at <= :as_of) AS first_at
        FROM due_items d
        JOIN units u ON u.id = d.unit_id
        JOIN obligations o ON o.id = d.obligation_id
        WHERE d.period_label = :period AND o.code = :obligation AND d.withdrawn_at IS NULL
    )
    SELECT x.*,
           CASE WHEN x.first_at IS NULL AND :as_of > x.deadline_at THEN 'overdue'
                WHEN x.first_at IS NULL AND :as_of < x.opens_at THEN 'not_yet_open'
                WHEN x.first_at IS NULL THEN 'open'
                WHEN x.first_at <= x.deadline_at THEN 'submitted_on_time'
                ELSE 'submitted_late' END AS status
    FROM x
    ORDER BY x.deadline_at, x.unit_code, x.id
    """
)


def run(engine: Engine, as_of: datetime, repeat: int = 5) -> dict[str, Any]:
    factory = session_factory(engine)
    with factory() as session:
        calendar = load_calendar(session=session)

    def ours() -> list[ItemState]:
        with factory() as session:
            return item_states(
                session=session,
                as_of=as_of,
                calendar=calendar,
                period=PERIOD,
                obligation=OBLIGATION,
            )

    utc = datetime.fromtimestamp(as_of.timestamp(), UTC)
    # SQLite keeps instants as naive UTC text (models.base.UTCDateTime); compare like for like.
    as_of_param: object = utc if engine.dialect.name != "sqlite" else f"{utc:%Y-%m-%d %H:%M:%S.%f}"

    def baseline() -> list[Any]:
        with engine.connect() as conn:
            return list(
                conn.execute(
                    BASELINE_SQL, {"as_of": as_of_param, "period": PERIOD, "obligation": OBLIGATION}
                ).all()
            )

    timed = compare({"dondoc": ours, "baseline": baseline}, repeat)
    states: list[ItemState] = timed["dondoc"]["result"]
    rows = timed["baseline"]["result"]
    ours_status = {s.item_id: s.status.value for s in states}
    base_status = {r.id: r.status for r in rows}
    if ours_status != base_status:
        differ = [i for i in ours_status if ours_status[i] != base_status.get(i)][:5]
        raise AssertionError(f"dondoc and the SQL baseline disagree on items {differ}")
    counts: dict[str, int] = {}
    for status in ours_status.values():
        counts[status] = counts.get(status, 0) + 1
    ours_s, base_s = timed["dondoc"]["best_s"], timed["baseline"]["best_s"]
    return {
        "benchmark": "status",
        "title": "status of one period for all units",
        "items": len(states),
        "statuses": counts,
        "dondoc_s": ours_s,
        "baseline_s": base_s,
        "ratio": ours_s / base_s,
        "goal": "ratio <= 1.5 and dondoc < 1 s",
        "met": ours_s / base_s <= 1.5 and ours_s < 1.0,
        "dondoc_peak_mib": timed["dondoc"]["peak_mib"],
        "baseline_peak_mib": timed["baseline"]["peak_mib"],
    }
