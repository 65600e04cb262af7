"""Routing: an item's ladder and audiences, audiences to people, people to channel addresses."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.db import chunked
from models.items import DueItem
from models.org import Person, Unit
from models.plan import Deliverable, Obligation, Plan, PlanTask
from notifications.channels import ChannelName
from plans.schema import DEFAULT_ESCALATION, Audience, EscalationStep
from plans.vocabulary import PersonRole

# A channel held in reserve while another reaches the person: the Zalo Bot for a person who
# follows the OA (one Zalo message, not two). It takes over when the OA cannot reach them.
RESERVE_FOR = {ChannelName.ZALO_BOT.value: ChannelName.ZALO_OA.value}
# Where a message goes when its channel answers that the person cannot be reached there.
FALLBACK_ORDER = (ChannelName.EMAIL.value, ChannelName.ZALO_BOT.value)


@dataclass(frozen=True)
class Route:
    """What routing needs to know about one item."""

    item_id: int
    ladder: tuple[EscalationStep, ...]
    unit_id: int  # the unit that owes the item
    recipient_unit_id: int | None  # the unit the report or deliverable goes to
    leader_id: int | None  # the leader in charge


@dataclass(frozen=True)
class PersonInfo:
    """A person and the addresses they can be reached at."""

    id: int
    full_name: str
    role: str
    unit_id: int
    unit_name: str
    email: str | None
    zalo_user_id: str | None
    zalo_chat_id: str | None

    @property
    def recipient_key(self) -> str:
        return f"person:{self.id}"

    def contacts(self, channels: Collection[str]) -> dict[str, str]:
        """Channel -> address, for the enabled channels this person has an address on."""
        candidates = {
            ChannelName.EMAIL.value: self.email,
            ChannelName.ZALO_OA.value: self.zalo_user_id,
            ChannelName.ZALO_BOT.value: self.zalo_chat_id,
        }
        return {c: a.strip() for c, a in candidates.items() if c in channels and a and a.strip()}

    def addresses(self, channels: Collection[str]) -> dict[str, str]:
        """The contacts a rung goes to: all but a channel held in reserve (`RESERVE_FOR`)."""
        contacts = self.contacts(channels)
        return {c: a for c, a in contacts.items() if RESERVE_FOR.get(c) not in contacts}


def ladder_of(escalation: list[dict[str, object]] | None) -> tuple[EscalationStep, ...]:
    """The stored ladder (validated when the plan was loaded), or the default one."""
    if not escalation:
        return DEFAULT_ESCALATION
    return tuple(EscalationStep.model_validate(step) for step in escalation)


def load_routes(*, session: Session, item_ids: Iterable[int]) -> dict[int, Route]:
    """Routes of the items, in one query.

    The leader in charge: the obligation's `via` person, else the plan task's leader (for a
    deliverable of a task), else the plan's signer.
    """
    routes = {}
    for chunk in chunked(item_ids):
        routes.update(_routes(session=session, item_ids=chunk))
    return routes


def _routes(*, session: Session, item_ids: list[int]) -> dict[int, Route]:
    rows = session.execute(
        select(
            DueItem.id,
            DueItem.unit_id,
            Obligation.escalation,
            Obligation.recipient_unit_id,
            Obligation.via_person_id,
            Deliverable.escalation,
            Deliverable.recipient_unit_id,
            PlanTask.leader_id,
            Plan.signer_id,
        )
        .join(Plan, Plan.id == DueItem.plan_id)
        .outerjoin(Obligation, Obligation.id == DueItem.obligation_id)
        .outerjoin(Deliverable, Deliverable.id == DueItem.deliverable_id)
        .outerjoin(PlanTask, PlanTask.id == Deliverable.task_id)
        .where(DueItem.id.in_(item_ids))
    )
    routes = {}
    for item_id, unit_id, o_ladder, o_to, via, d_ladder, d_to, task_leader, signer in rows:
        routes[item_id] = Route(
            item_id=item_id,
            ladder=ladder_of(o_ladder if o_to is not None else d_ladder),
            unit_id=unit_id,
            recipient_unit_id=o_to if o_to is not None else d_to,
            leader_id=via or task_leader or signer,
        )
    return routes


class People:
    """Everyone who can be reached, indexed by unit and role (loaded in one query)."""

    def __init__(self, people: Iterable[PersonInfo]) -> None:
        self.by_id: dict[int, PersonInfo] = {}
        self._by_unit_role: dict[tuple[int, str], list[PersonInfo]] = {}
        for p in people:
            self.by_id[p.id] = p
            self._by_unit_role.setdefault((p.unit_id, p.role), []).append(p)

    def in_unit(self, unit_id: int | None, role: PersonRole) -> list[PersonInfo]:
        if unit_id is None:
            return []
        return self._by_unit_role.get((unit_id, role.value), [])

    def for_audience(self, route: Route, audience: str) -> list[PersonInfo]:
        """The people an audience of a step means for this item."""
        match Audience(audience):
            case Audience.REPORTING_OFFICER:
                return self.in_unit(route.unit_id, PersonRole.REPORTING_OFFICER)
            case Audience.UNIT_HEAD:
                return self.in_unit(route.unit_id, PersonRole.UNIT_HEAD)
            case Audience.RECIPIENT_HEAD:
                return self.in_unit(route.recipient_unit_id, PersonRole.UNIT_HEAD)
            case Audience.LEADER_IN_CHARGE:
                leader = self.by_id.get(route.leader_id) if route.leader_id else None
                return [leader] if leader is not None else []


def load_people(*, session: Session, ids: Iterable[int] | None = None) -> People:
    """Every person (or those with `ids`) with their unit's name."""
    query = select(Person, Unit.name).join(Unit, Unit.id == Person.unit_id).order_by(Person.id)
    if ids is not None:
        query = query.where(Person.id.in_(list(ids)))  # people on the routes: a few hundred
    return People(
        PersonInfo(
            id=p.id,
            full_name=p.full_name,
            role=p.role,
            unit_id=p.unit_id,
            unit_name=unit_name,
            email=p.email,
            zalo_user_id=p.zalo_user_id,
            zalo_chat_id=p.zalo_chat_id,
        )
        for p, unit_name in session.execute(query)
    )
