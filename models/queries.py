"""Read queries shared by the CLI, the portal and the flows (keyword-only session, no commits)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, Subquery, func, select
from sqlalchemy.orm import Session, joinedload, selectinload

from models.db import chunked
from models.items import DueItem
from models.org import Unit
from models.plan import Deliverable, Obligation, Plan
from models.submissions import Submission, SubmissionValue


def list_due_items(
    *,
    session: Session,
    year: int | None = None,
    unit: str | None = None,
    obligation: str | None = None,
    include_withdrawn: bool = False,
) -> Sequence[DueItem]:
    """Items due, ordered by deadline then unit, with unit, obligation and deliverable loaded."""
    query = (
        select(DueItem)
        .join(Plan, Plan.id == DueItem.plan_id)
        .join(Unit, Unit.id == DueItem.unit_id)
        .outerjoin(Obligation, Obligation.id == DueItem.obligation_id)
        .outerjoin(Deliverable, Deliverable.id == DueItem.deliverable_id)
        .options(
            joinedload(DueItem.unit),
            joinedload(DueItem.obligation),
            joinedload(DueItem.deliverable),
        )
        .order_by(DueItem.deadline_at, Unit.code, DueItem.key)
    )
    if year is not None:
        query = query.where(Plan.year == year)
    if unit is not None:
        query = query.where(Unit.code == unit)
    if obligation is not None:
        query = query.where((Obligation.code == obligation) | (Deliverable.code == obligation))
    if not include_withdrawn:
        query = query.where(DueItem.withdrawn_at.is_(None))
    return session.scalars(query).unique().all()


def latest_plan(*, session: Session, code: str | None = None) -> Plan | None:
    """The plan with `code`, or the newest plan loaded."""
    query = select(Plan).order_by(Plan.year.desc(), Plan.id.desc())
    if code is not None:
        query = query.where(Plan.code == code)
    return session.scalars(query.limit(1)).first()


# ---------------------------------------------------------------- queries


def _accepted(as_of: datetime | None) -> list[ColumnElement[bool]]:
    """Submissions that count: accepted, and received by `as_of` when given."""
    conditions: list[ColumnElement[bool]] = [Submission.accepted.is_(True)]
    if as_of is not None:
        conditions.append(Submission.received_at <= as_of)
    return conditions


def latest_accepted_versions(
    *conditions: ColumnElement[bool], as_of: datetime | None = None
) -> Subquery:
    """Which submission counts for each item: the accepted one received last.

    The received time is read inside the item's lock when stored, so it orders versions as
    they were stored; the version number breaks a tie (two versions of one batch instant).

    The one definition of that rule, as a selectable (`submission_id`, `item_id`) to join, so
    a report can stream plain rows instead of loading entities. `conditions` on Submission
    choose the items; with `as_of`, only submissions received by then count.
    """
    ranked = (
        select(
            Submission.id.label("submission_id"),
            Submission.item_id,
            func.row_number()
            .over(
                partition_by=Submission.item_id,
                order_by=(Submission.received_at.desc(), Submission.version.desc()),
            )
            .label("newest_first"),
        )
        .where(*_accepted(as_of), *conditions)
        .subquery()
    )
    return (
        select(ranked.c.submission_id, ranked.c.item_id)
        .where(ranked.c.newest_first == 1)
        .subquery()
    )


def latest_accepted(
    item_ids: Iterable[int], *, session: Session, as_of: datetime | None = None
) -> dict[int, Submission]:
    """For each item, the submission that counts (`latest_accepted_versions`), loaded.

    Set-based: one query per 5,000 items, values (with targets) and attachments loaded.
    With `as_of`, only submissions received by then count, so a past day can be replayed.
    Items without an accepted submission are absent from the result.
    """
    out: dict[int, Submission] = {}
    for chunk in chunked(item_ids):
        latest = latest_accepted_versions(Submission.item_id.in_(chunk), as_of=as_of)
        query = (
            select(Submission)
            .join(latest, Submission.id == latest.c.submission_id)
            .options(
                selectinload(Submission.values).selectinload(SubmissionValue.target),
                selectinload(Submission.attachments),
            )
        )
        out.update({s.item_id: s for s in session.scalars(query)})
    return out


def first_accepted_at(
    item_ids: Iterable[int], *, session: Session, as_of: datetime | None = None
) -> dict[int, datetime]:
    """For each item, when its first accepted submission was received: timeliness counts this.

    The same rule as status.states (earliest receipt time among accepted versions); with
    `as_of`, only submissions received by then. Items never submitted are absent.
    """
    out: dict[int, datetime] = {}
    for chunk in chunked(item_ids):
        query = (
            select(Submission.item_id, func.min(Submission.received_at))
            .where(*_accepted(as_of), Submission.item_id.in_(chunk))
            .group_by(Submission.item_id)
        )
        out.update({item_id: at for item_id, at in session.execute(query)})
    return out
