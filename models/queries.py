"""Read queries shared by the CLI, the portal and the flows (keyword-only session, no commits)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from models.items import DueItem
from models.org import Unit
from models.plan import Deliverable, Obligation, Plan


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
