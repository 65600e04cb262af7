"""Access tokens (kept only as SHA-256 hashes) and who they let in (the actor)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from access.actor import SETTINGS_ADMIN, Actor
from access.audit import record_event
from access.scope import may_act_for_office
from models.access import AccessToken, Role, WebSession
from models.org import Person, Unit
from plans.vocabulary import PersonRole
from submissions.errors import FieldError, Forbidden, Invalid

TOKEN_PREFIX = "dd_"  # noqa: S105 - a visible prefix, not a secret


def hash_token(secret: str) -> str:
    """The stored form of a token: SHA-256 of a 256-bit random secret needs no salt."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_secret() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def issue_token(
    *,
    session: Session,
    role: Role,
    unit: Unit | None,
    label: str | None,
    issued_by: Actor,
    now: datetime,
    source_address: str | None = None,
    person: Person | None = None,
) -> tuple[AccessToken, str]:
    """A new token row and its secret; the secret is returned once and never stored."""
    if (role is Role.UNIT) != (unit is not None):
        raise ValueError("a unit token needs a unit; admin and person tokens have none")
    if (role is Role.PERSON) != (person is not None):
        raise ValueError("a person token needs a person; unit and admin tokens have none")
    secret = new_secret()
    row = AccessToken(
        token_hash=hash_token(secret),
        hint=secret[: len(TOKEN_PREFIX) + 4],
        role=role.value,
        unit_id=unit.id if unit else None,
        person_id=person.id if person else None,
        label=label,
        issued_at=now,
        issued_by=issued_by.label,
    )
    session.add(row)
    session.flush()
    record_event(
        session=session,
        actor=issued_by,
        action="token.issue",
        object_type="access_token",
        object_id=str(row.id),
        source_address=source_address,
        details={
            "role": role.value,
            "unit": unit.code if unit else None,
            "person": person.code if person else None,
            "label": label,
        },
        now=now,
    )
    return row, secret


def issue_person_token(
    person_code: str,
    *,
    session: Session,
    issued_by: Actor,
    now: datetime,
    label: str | None = None,
    source_address: str | None = None,
) -> tuple[AccessToken, Person, str]:
    """The office issues a token to a person of the plan (`dondoc token issue --person`, the
    office's page): the row, the person and the secret, shown once. Forbidden for anyone but
    the office; Invalid for an unknown person code."""
    if not may_act_for_office(issued_by):
        raise Forbidden("office_only", "Chỉ văn phòng (cán bộ tổng hợp) được cấp mã truy cập.")
    code = person_code.strip()
    person = session.scalars(select(Person).where(Person.code == code)).one_or_none()
    if person is None:
        message = f"Không có người nào mã «{code}» trong kế hoạch."
        raise Invalid([FieldError("person", "unknown_person", message)], message)
    token, secret = issue_token(
        session=session,
        role=Role.PERSON,
        unit=None,
        person=person,
        label=label or person.full_name,
        issued_by=issued_by,
        now=now,
        source_address=source_address,
    )
    return token, person, secret


def revoke_tokens(
    *,
    session: Session,
    revoked_by: Actor,
    now: datetime,
    token_id: int | None = None,
    unit_id: int | None = None,
    person_id: int | None = None,
    source_address: str | None = None,
) -> list[AccessToken]:
    """Revoke one token by id, every live token of a unit, or of a person; returns those
    revoked now. The page sessions opened with them end at once (access.sessions)."""
    if [token_id, unit_id, person_id].count(None) != 2:
        raise ValueError("give exactly one of token_id, unit_id and person_id")
    query = select(AccessToken).where(AccessToken.revoked_at.is_(None))
    if token_id is not None:
        query = query.where(AccessToken.id == token_id)
    elif unit_id is not None:
        query = query.where(AccessToken.unit_id == unit_id)
    else:
        query = query.where(AccessToken.person_id == person_id)
    rows = list(session.scalars(query.order_by(AccessToken.id)))
    for row in rows:
        row.revoked_at = now
        row.revoked_by = revoked_by.label
        record_event(
            session=session,
            actor=revoked_by,
            action="token.revoke",
            object_type="access_token",
            object_id=str(row.id),
            source_address=source_address,
            details={"role": row.role, "unit_id": row.unit_id, "person_id": row.person_id},
            now=now,
        )
    if rows:
        # Their page sessions end now: a revoked token's are refused anyway, and the sessions
        # table then says when each ended.
        session.execute(
            update(WebSession)
            .where(WebSession.token_id.in_([r.id for r in rows]), WebSession.ended_at.is_(None))
            .values(ended_at=now)
        )
    session.flush()
    return rows


# A token with whoever holds it: the unit of a unit token, the person (and their unit) of a
# person token; one row per token.
HOLDER = (
    select(AccessToken, Person, Unit)
    .outerjoin(Person, Person.id == AccessToken.person_id)
    .outerjoin(Unit, Unit.id == func.coalesce(AccessToken.unit_id, Person.unit_id))
)


def token_actor(token: AccessToken, person: Person | None, unit: Unit | None) -> Actor:
    """The actor a live token stands for (see access.scope for what each may see and do)."""
    if person is not None:
        return _person_actor(token, person, unit)
    if token.role == Role.ADMIN:
        return Actor(role=Role.ADMIN, label=f"admin token#{token.id}", token_id=token.id)
    return Actor(
        role=Role.UNIT,
        label=f"unit:{unit.code if unit else None} token#{token.id}",
        unit_id=token.unit_id,
        unit_code=unit.code if unit else None,
        unit_name=unit.name if unit else None,
        token_id=token.id,
    )


def _person_actor(token: AccessToken, person: Person, unit: Unit | None) -> Actor:
    who: dict[str, Any] = {
        "label": f"person:{person.code} token#{token.id}",
        "token_id": token.id,
        "person_id": person.id,
        "person_name": person.full_name,
        "person_role": person.role,
        "person_title": person.title,
        "person_unit_id": person.unit_id,
        "person_unit_name": unit.name if unit else None,
    }
    match person.role:
        case PersonRole.ADMIN:
            return Actor(role=Role.ADMIN, **who)
        case PersonRole.REPORTING_OFFICER | PersonRole.UNIT_HEAD:
            return Actor(
                role=Role.PERSON,
                unit_id=person.unit_id,
                unit_code=unit.code if unit else None,
                unit_name=unit.name if unit else None,
                **who,
            )
        case _:
            # A leader in charge follows the units in their charge and reports for none.
            return Actor(role=Role.PERSON, **who)


def authenticate(secret: str, *, session: Session, admin_secret: str | None) -> Actor | None:
    """The actor a presented access token stands for, or None when unknown or revoked."""
    if not secret:
        return None
    digest = hash_token(secret)
    if admin_secret and hmac.compare_digest(digest, hash_token(admin_secret)):
        return SETTINGS_ADMIN
    row = session.execute(
        HOLDER.where(AccessToken.token_hash == digest, AccessToken.revoked_at.is_(None))
    ).first()
    if row is None:
        return None
    token, person, unit = row
    return token_actor(token, person, unit)


@dataclass(frozen=True)
class TokenListing:
    """One token as the CLI's list and the office's page show it (never the secret)."""

    id: int
    role: str
    holder_code: str | None  # the unit's or the person's code; None for an admin token
    holder_name: str | None
    person_role: str | None
    label: str | None
    hint: str
    issued_at: datetime
    revoked_at: datetime | None


def list_tokens(*, session: Session, live_only: bool = False) -> list[TokenListing]:
    """Every token (or the live ones) with its holder, oldest first."""
    query = HOLDER.order_by(AccessToken.id)
    if live_only:
        query = query.where(AccessToken.revoked_at.is_(None))
    listing = []
    for token, person, unit in session.execute(query):
        if person is not None:
            code, name = person.code, person.full_name
        else:
            code, name = (unit.code, unit.name) if unit else (None, None)
        listing.append(
            TokenListing(
                id=token.id,
                role=token.role,
                holder_code=code,
                holder_name=name,
                person_role=person.role if person else None,
                label=token.label,
                hint=token.hint,
                issued_at=token.issued_at,
                revoked_at=token.revoked_at,
            )
        )
    return listing
