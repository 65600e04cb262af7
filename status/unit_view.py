"""What a unit's page shows: the unit, a page of its items with their states, their submissions."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from models.access import AccessToken
from models.calendar import load_calendar
from models.items import DueItem
from models.org import Person, Unit
from models.submissions import Submission
from plans.vocabulary import PERSON_ROLE_VI, UNIT_KIND_VI
from status.states import ItemState, ItemStatus, item_states

# Items needing attention come first; among the rest, the nearest deadline first.
_ATTENTION = {ItemStatus.OVERDUE: 0, ItemStatus.OPEN: 1}
_TOKEN_IN_LABEL = re.compile(r"token#(\d+)")


@dataclass(frozen=True)
class Paging:
    """Which slice of a long list a page shows (pages count from 1)."""

    number: int
    size: int
    total: int

    @classmethod
    def of(cls, requested: int, size: int, total: int) -> Paging:
        last = max(1, -(-total // size))
        return cls(number=min(max(1, requested), last), size=size, total=total)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    @property
    def window(self) -> slice:
        return slice(self.offset, self.offset + self.size)


@dataclass(frozen=True)
class Contact:
    """Someone of the unit, as the page lists them."""

    name: str
    role: str
    title: str | None
    email: str | None
    phone: str | None


@dataclass(frozen=True)
class UnitFacts:
    """The unit itself: what it is, whom it answers to, how to reach it."""

    id: int
    code: str
    name: str
    kind: str
    parent_code: str | None
    parent_name: str | None
    email: str | None
    phone: str | None
    address: str | None
    people: list[Contact]


@dataclass(frozen=True)
class SubmissionLine:
    """One version of an item's submission."""

    version: int
    receipt_no: str
    received_at: datetime
    channel: str
    submitted_by: str  # the audit actor label
    token_label: str | None  # the label the office gave the token it was sent with
    accepted: bool


def find_unit(code: str, *, session: Session) -> Unit | None:
    return session.scalars(select(Unit).where(Unit.code == code)).one_or_none()


def unit_facts(unit: Unit, *, session: Session) -> UnitFacts:
    people = session.scalars(select(Person).where(Person.unit_id == unit.id).order_by(Person.id))
    parent = unit.parent
    return UnitFacts(
        id=unit.id,
        code=unit.code,
        name=unit.name,
        kind=UNIT_KIND_VI.get(unit.kind, unit.kind),
        parent_code=parent.code if parent else None,
        parent_name=parent.name if parent else None,
        email=unit.email,
        phone=unit.phone,
        address=unit.address,
        people=[
            Contact(
                name=p.full_name,
                role=PERSON_ROLE_VI.get(p.role, p.role),
                title=p.title,
                email=p.email,
                phone=p.phone,
            )
            for p in people
        ],
    )


def unit_items(
    unit: Unit,
    *,
    session: Session,
    now: datetime,
    visible: ColumnElement[bool],
    status: ItemStatus | None = None,
) -> list[ItemState]:
    """The unit's live items the actor may see (`visible`: access.scope.item_condition),
    optionally of one state: overdue first, then open, then by deadline, latest first."""
    allowed = set(session.scalars(select(DueItem.id).where(DueItem.unit_id == unit.id, visible)))
    states = [
        s
        for s in item_states(
            session=session, as_of=now, calendar=load_calendar(session=session), unit=unit.code
        )
        if s.item_id in allowed and (status is None or s.status is status)
    ]
    states.sort(key=lambda s: -s.deadline_at.timestamp())
    states.sort(key=lambda s: _ATTENTION.get(s.status, 2))
    return states


def submissions_of(item_ids: Iterable[int], *, session: Session) -> dict[int, list[SubmissionLine]]:
    """Every version received for these items (newest first), with the sending token's label."""
    ids = list(item_ids)
    if not ids:
        return {}
    rows = session.execute(
        select(
            Submission.item_id,
            Submission.version,
            Submission.receipt_no,
            Submission.received_at,
            Submission.channel,
            Submission.submitted_by,
            Submission.accepted,
        )
        .where(Submission.item_id.in_(ids))
        .order_by(Submission.item_id, Submission.version.desc())
    ).all()
    token_ids = {int(m.group(1)) for r in rows if (m := _TOKEN_IN_LABEL.search(r.submitted_by))}
    labels = {
        token_id: label
        for token_id, label in session.execute(
            select(AccessToken.id, AccessToken.label).where(AccessToken.id.in_(token_ids))
        )
    }
    out: dict[int, list[SubmissionLine]] = {}
    for r in rows:
        found = _TOKEN_IN_LABEL.search(r.submitted_by)
        out.setdefault(r.item_id, []).append(
            SubmissionLine(
                version=r.version,
                receipt_no=r.receipt_no,
                received_at=r.received_at,
                channel=r.channel,
                submitted_by=r.submitted_by,
                token_label=labels.get(int(found.group(1))) if found else None,
                accepted=r.accepted,
            )
        )
    return out
