"""Access tokens (kept only as SHA-256 hashes) and who they let in (the actor)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from access.actor import SETTINGS_ADMIN, Actor
from access.audit import record_event
from models.access import AccessToken, Role
from models.org import Unit

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
) -> tuple[AccessToken, str]:
    """A new token row and its secret; the secret is returned once and never stored."""
    if (role is Role.UNIT) != (unit is not None):
        raise ValueError("a unit token needs a unit; an admin token has none")
    secret = new_secret()
    row = AccessToken(
        token_hash=hash_token(secret),
        hint=secret[: len(TOKEN_PREFIX) + 4],
        role=role.value,
        unit_id=unit.id if unit else None,
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
        details={"role": role.value, "unit": unit.code if unit else None, "label": label},
        now=now,
    )
    return row, secret


def revoke_tokens(
    *,
    session: Session,
    revoked_by: Actor,
    now: datetime,
    token_id: int | None = None,
    unit_id: int | None = None,
) -> list[AccessToken]:
    """Revoke one token by id, or every live token of a unit; returns those revoked now."""
    if (token_id is None) == (unit_id is None):
        raise ValueError("give exactly one of token_id and unit_id")
    query = select(AccessToken).where(AccessToken.revoked_at.is_(None))
    if token_id is not None:
        query = query.where(AccessToken.id == token_id)
    else:
        query = query.where(AccessToken.unit_id == unit_id)
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
            source_address=None,
            details={"role": row.role, "unit_id": row.unit_id},
            now=now,
        )
    session.flush()
    return rows


def _token_actor(token: AccessToken, unit_code: str | None, unit_name: str | None = None) -> Actor:
    if token.role == Role.ADMIN:
        return Actor(role=Role.ADMIN, label=f"admin token#{token.id}", token_id=token.id)
    return Actor(
        role=Role.UNIT,
        label=f"unit:{unit_code} token#{token.id}",
        unit_id=token.unit_id,
        unit_code=unit_code,
        unit_name=unit_name,
        token_id=token.id,
    )


def authenticate(secret: str, *, session: Session, admin_secret: str | None) -> Actor | None:
    """The actor a presented access token stands for, or None when unknown or revoked."""
    if not secret:
        return None
    digest = hash_token(secret)
    if admin_secret and hmac.compare_digest(digest, hash_token(admin_secret)):
        return SETTINGS_ADMIN
    row = session.execute(
        select(AccessToken, Unit.code, Unit.name)
        .outerjoin(Unit, Unit.id == AccessToken.unit_id)
        .where(AccessToken.token_hash == digest, AccessToken.revoked_at.is_(None))
    ).first()
    if row is None:
        return None
    token, unit_code, unit_name = row
    return _token_actor(token, unit_code, unit_name)
