"""What an actor may see and do: the units and items in their charge, and the office's acts.

One definition for every page, API route and CLI command that shows or acts on items:
- the office (an admin token, the settings' admin secret, or a person of role `admin`)
  sees everything and acts;
- a unit token and a reporting officer see and submit their unit's items;
- a unit head sees (and may submit) their unit's items, and sees the items reported to their
  unit (the obligation's or deliverable's recipient: the ladder's `recipient_head`);
- a leader in charge sees the items they are in charge of, read-only: the obligation's `via`
  person, else the plan task's leader (a deliverable), else the plan's signer, the chain
  notifications.routing follows;
- the compiled reports (the whole plan's figures, one set per period) are read by the office
  and by leaders in charge, to whom they are addressed (their Nơi nhận); a unit's token, a
  reporting officer and a unit head do not read them, whatever their items.
Every item rule is a SQL condition over `DueItem`, so a dashboard over 10,000 communes
filters in the database.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, false, or_, select, true
from sqlalchemy.orm import Session

from access.actor import SUBMITTING_ROLES, Actor
from models.access import Role
from models.items import DueItem
from models.plan import Deliverable, Obligation, Plan, PlanTask
from plans.vocabulary import PersonRole
from submissions.errors import Forbidden


def may_act_for_office(actor: Actor) -> bool:
    """The office's acts (extend, exempt, lock, retry, tokens, ad-hoc requests, compile)."""
    return actor.is_admin


def may_read_reports(actor: Actor) -> bool:
    """Whether the actor lists and downloads the compiled reports (only the office compiles)."""
    return actor.is_admin or (
        actor.role is Role.PERSON and actor.person_role == PersonRole.LEADER_IN_CHARGE
    )


def item_condition(actor: Actor) -> ColumnElement[bool]:
    """A WHERE clause over `DueItem` keeping the items `actor` may see (true for the office)."""
    if actor.is_admin:
        return true()
    match actor.person_role:
        case None | PersonRole.REPORTING_OFFICER:
            return _own_unit(actor)
        case PersonRole.UNIT_HEAD:
            return or_(_own_unit(actor), _reported_to(actor.person_unit_id))
        case PersonRole.LEADER_IN_CHARGE:
            return _led_by(actor.person_id)
        case _:
            return false()


def _own_unit(actor: Actor) -> ColumnElement[bool]:
    if actor.unit_id is None:
        return false()  # nobody's items: matches no row
    return DueItem.unit_id == actor.unit_id


def _reported_to(unit_id: int | None) -> ColumnElement[bool]:
    """Items whose obligation or deliverable reports to the unit (a few hundred sources)."""
    if unit_id is None:
        return false()
    return or_(
        DueItem.obligation_id.in_(
            select(Obligation.id).where(Obligation.recipient_unit_id == unit_id)
        ),
        DueItem.deliverable_id.in_(
            select(Deliverable.id).where(Deliverable.recipient_unit_id == unit_id)
        ),
    )


def _led_by(person_id: int | None) -> ColumnElement[bool]:
    """Items whose leader in charge is the person (notifications.routing.load_routes)."""
    if person_id is None:
        return false()
    obligations = (
        select(Obligation.id)
        .join(Plan, Plan.id == Obligation.plan_id)
        .where(
            or_(
                Obligation.via_person_id == person_id,
                and_(Obligation.via_person_id.is_(None), Plan.signer_id == person_id),
            )
        )
    )
    deliverables = (
        select(Deliverable.id)
        .join(Plan, Plan.id == Deliverable.plan_id)
        .outerjoin(PlanTask, PlanTask.id == Deliverable.task_id)
        .where(
            or_(
                PlanTask.leader_id == person_id,
                and_(PlanTask.leader_id.is_(None), Plan.signer_id == person_id),
            )
        )
    )
    return or_(DueItem.obligation_id.in_(obligations), DueItem.deliverable_id.in_(deliverables))


def may_see_unit(actor: Actor, unit_id: int, *, session: Session) -> bool:
    """Whether `actor` may open the unit's page: the unit, those in charge of it, the office."""
    if actor.is_admin or actor.unit_id == unit_id:
        return True
    found = session.scalar(
        select(DueItem.id).where(DueItem.unit_id == unit_id, item_condition(actor)).limit(1)
    )
    return found is not None


def may_see_item(actor: Actor, item_id: int, *, session: Session) -> bool:
    """Whether the item is in `actor`'s scope (`item_condition` for one item)."""
    if actor.is_admin:
        return True
    found = session.scalar(
        select(DueItem.id).where(DueItem.id == item_id, item_condition(actor)).limit(1)
    )
    return found is not None


def may_submit(actor: Actor) -> bool:
    """Whether the actor submits at all: the office, a unit token, a reporting officer or a
    unit head (for their own unit: `Actor.may_act_for`); a leader in charge only follows."""
    if actor.is_admin:
        return True
    if actor.person_role is not None and actor.person_role not in SUBMITTING_ROLES:
        return False
    return actor.unit_id is not None


def check_may_submit(actor: Actor) -> None:
    """Forbidden (in Vietnamese) for an actor who may see items but never submit them."""
    if not may_submit(actor):
        raise Forbidden(
            "read_only",
            f"{actor.person_role_vi or 'Mã truy cập này'} chỉ được theo dõi báo cáo, "
            "không được gửi báo cáo thay đơn vị.",
        )
