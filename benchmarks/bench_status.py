"""Status of one period for all units: dondoc's item_states against one hand-written SQL query."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, text

from benchmarks.timing import measure
from models.calendar import load_calendar
from models.db import session_factory
from models.status import ItemStatus, item_states

PERIOD = "2024-06"
OBLIGATION = "bc-thang-xa"

# The baseline: what a DBA would write by hand, status decided in SQL, no ORM.
BASELINE_SQL = text(
    """
    SELECT d.id, u.code, d.deadline_at, f.first_at,
           CASE WHEN f.first_at IS NULL AND :as_of > d.deadline_at THEN 'overdue'
                WHEN f.first_at IS NULL AND :as_of < d.opens_at THEN 'not_yet_open'
                WHEN f.first_at IS NULL THEN 'open'
                WHEN f.first_at <= d.deadline_at THEN 'submitted_on_time'
                ELSE 'submitted_late' END AS status
    FROM due_items d
    JOIN units u ON u.id = d.unit_id
    JOIN obligations o ON o.id = d.obligation_id
    LEFT JOIN (SELECT item_id, MIN(received_at) AS first_at FROM submissions
               WHERE accepted AND received_at <= :as_of GROUP BY item_id) f ON f.item_id = d.id
    WHERE d.period_label = :period AND o.code = :obligation AND d.withdrawn_at IS NULL
    ORDER BY d.deadline_at, u.code
    """
)


def run(engine: Engine, as_of: datetime, repeat: int = 5) -> dict[str, object]:
    factory = session_factory(engine)
    with factory() as session:
        calendar = load_calendar(session=session)

    def ours() -> list[object]:
        with factory() as session:
            return list(
                item_states(
                    session=session,
                    as_of=as_of,
                    calendar=calendar,
                    period=PERIOD,
                    obligation=OBLIGATION,
                )
            )

    utc = datetime.fromtimestamp(as_of.timestamp(), UTC)
    # SQLite keeps instants as naive UTC text (models.base.UTCDateTime); compare like for like.
    as_of_param: object = utc if engine.dialect.name != "sqlite" else f"{utc:%Y-%m-%d %H:%M:%S.%f}"

    def baseline() -> list[object]:
        with engine.connect() as conn:
            return list(
                conn.execute(
                    BASELINE_SQL, {"as_of": as_of_param, "period": PERIOD, "obligation": OBLIGATION}
                ).all()
            )

    ours_result, ours_t, ours_mem = measure(ours, repeat)
    base_result, base_t, base_mem = measure(baseline, repeat)
    ours_counts: dict[str, int] = {}
    for state in ours_result:
        key = state.status.value  # type: ignore[attr-defined]
        ours_counts[key] = ours_counts.get(key, 0) + 1
    base_counts: dict[str, int] = {}
    for row in base_result:
        base_counts[row.status] = base_counts.get(row.status, 0) + 1  # type: ignore[attr-defined]
    if ours_counts != base_counts:
        raise AssertionError(f"status counts differ: dondoc {ours_counts} vs SQL {base_counts}")
    return {
        "benchmark": "status of one period",
        "items": len(ours_result),
        "overdue": ours_counts.get(ItemStatus.OVERDUE.value, 0),
        "dondoc_s": ours_t,
        "baseline_s": base_t,
        "ratio": ours_t / base_t,
        "dondoc_peak_mib": ours_mem,
        "baseline_peak_mib": base_mem,
    }
