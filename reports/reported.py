"""The reported values a report reads from the database, streamed as plain rows."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, Subquery, select
from sqlalchemy.orm import Session

from models.items import DueItem
from models.org import Unit
from models.plan import Obligation, Target
from models.queries import latest_accepted_versions
from models.submissions import Submission, SubmissionValue
from plans.vocabulary import ItemKind
from reports.figures import (
    Figure,
    ReportedValue,
    Tally,
    TargetSpec,
    aggregate,
    period_labels,
    tally,
    to_date_labels,
)
from schedules.periods import Period

STREAM_ROWS = 5_000  # rows fetched at a time: memory stays flat however large the province


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


def read_tally(
    *,
    session: Session,
    plan_id: int,
    targets: Sequence[TargetSpec],
    period: Period,
    as_of: datetime,
    detailed: Collection[str] = (),
) -> Tally:
    """The values of `period` and of the year to date at its end, read once, as of an instant."""
    rows = reported_values(
        session=session, plan_id=plan_id, labels=to_date_labels(period), as_of=as_of
    )
    return tally(targets, rows, set(period_labels(period)), detailed)


def compute_figures(
    *, session: Session, plan_id: int, period: Period, as_of: datetime
) -> list[Figure]:
    """Every unit's figures for `period`, as of an instant, with no reporting levels (each
    obligation's sheet and the benchmark); the report's own are reports.levels.report_figures."""
    targets = plan_targets(session=session, plan_id=plan_id)
    values = read_tally(
        session=session, plan_id=plan_id, targets=targets, period=period, as_of=as_of
    )
    return aggregate(targets, values, period.last_month)
