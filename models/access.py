"""Access tokens and page sessions (kept only as SHA-256 hashes), and the audit trail."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.base import Base, UTCDateTime
from models.org import Unit

TOKEN_PREFIX = "dd_"  # noqa: S105 - a visible prefix, not a secret
SESSION_PREFIX = "dds_"  # a page session's secret; never accepted where a token is expected
SESSION_LIFETIME = timedelta(hours=12)


class Role(StrEnum):
    UNIT = "unit"  # a unit's reporting officer: sees and submits only the unit's items
    ADMIN = "admin"  # the compiling officer: sees everything, asks for ad-hoc reports


class AccessToken(Base):
    """A secret issued to a unit or an admin; only its hash is stored."""

    __tablename__ = "access_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters, so an admin can tell tokens apart without the secret.
    hint: Mapped[str] = mapped_column(String(16))
    role: Mapped[str] = mapped_column(String(16))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    label: Mapped[str | None] = mapped_column(String(255))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    issued_by: Mapped[str] = mapped_column(String(128))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by: Mapped[str | None] = mapped_column(String(128))


class WebSession(Base):
    """A signed-in browser: the portal's cookie holds its secret, the database only the hash.

    It stands for the token it was opened with and ends at logout, at expiry, when that token
    is revoked, or (opened with the settings' admin secret) when that secret changes.
    """

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # None: opened with the admin secret of the settings, which has no row.
    token_id: Mapped[int | None] = mapped_column(ForeignKey("access_tokens.id"), index=True)
    # Settings admin only: HMAC of that admin secret keyed by the session secret, so a changed
    # setting ends the session while the column alone tells nothing about the admin secret.
    admin_check: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuditEvent(Base):
    """Who did what, when, from where; written in the same transaction as the change."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_object", "object_type", "object_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(128))
    actor_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str | None] = mapped_column(String(64))
    source_address: Mapped[str | None] = mapped_column(String(255))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


@dataclass(frozen=True)
class Actor:
    """Who is acting: a unit's officer, an admin, or a trusted local channel (CLI, inbox)."""

    role: Role
    label: str  # for the audit trail, never the secret: "unit:xa-mot token#3", "cli:root"
    unit_id: int | None = None
    unit_code: str | None = None
    token_id: int | None = None

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    def may_act_for(self, unit_id: int) -> bool:
        """A unit token acts only for its own unit; an admin for every unit."""
        return self.is_admin or self.unit_id == unit_id


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


SETTINGS_ADMIN = Actor(role=Role.ADMIN, label="admin:settings")


def _token_actor(token: AccessToken, unit_code: str | None) -> Actor:
    if token.role == Role.ADMIN:
        return Actor(role=Role.ADMIN, label=f"admin token#{token.id}", token_id=token.id)
    return Actor(
        role=Role.UNIT,
        label=f"unit:{unit_code} token#{token.id}",
        unit_id=token.unit_id,
        unit_code=unit_code,
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
        select(AccessToken, Unit.code)
        .outerjoin(Unit, Unit.id == AccessToken.unit_id)
        .where(AccessToken.token_hash == digest, AccessToken.revoked_at.is_(None))
    ).first()
    if row is None:
        return None
    token, unit_code = row
    return _token_actor(token, unit_code)


def _admin_check(session_secret: str, admin_secret: str) -> str:
    return hmac.new(session_secret.encode(), admin_secret.encode(), hashlib.sha256).hexdigest()


def open_web_session(
    token_secret: str,
    *,
    session: Session,
    admin_secret: str | None,
    now: datetime,
    source_address: str | None = None,
) -> tuple[Actor, str] | None:
    """Sign in with an access token: its actor and a new page-session secret, or None.

    The session secret is returned once and only its hash is stored; it lasts
    SESSION_LIFETIME at most.
    """
    actor = authenticate(token_secret, session=session, admin_secret=admin_secret)
    if actor is None:
        return None
    secret = SESSION_PREFIX + secrets.token_urlsafe(32)
    # Signed in with the settings' admin secret (no token row): remember which secret, keyed.
    check = _admin_check(secret, admin_secret) if actor.token_id is None and admin_secret else None
    row = WebSession(
        secret_hash=hash_token(secret),
        token_id=actor.token_id,
        admin_check=check,
        created_at=now,
        expires_at=now + SESSION_LIFETIME,
    )
    session.add(row)
    session.flush()
    record_event(
        session=session,
        actor=actor,
        action="session.open",
        object_type="web_session",
        object_id=str(row.id),
        source_address=source_address,
        details={"token_id": actor.token_id, "expires_at": row.expires_at.isoformat()},
        now=now,
    )
    return actor, secret


def _live_session(
    secret: str, *, session: Session, admin_secret: str | None, now: datetime
) -> tuple[WebSession, Actor] | None:
    if not secret:
        return None
    row = session.execute(
        select(WebSession, AccessToken, Unit.code)
        .outerjoin(AccessToken, AccessToken.id == WebSession.token_id)
        .outerjoin(Unit, Unit.id == AccessToken.unit_id)
        .where(
            WebSession.secret_hash == hash_token(secret),
            WebSession.ended_at.is_(None),
            WebSession.expires_at > now,
        )
    ).first()
    if row is None:
        return None
    web, token, unit_code = row
    if web.token_id is None:
        same_admin = (
            admin_secret is not None
            and web.admin_check is not None
            and hmac.compare_digest(web.admin_check, _admin_check(secret, admin_secret))
        )
        return (web, SETTINGS_ADMIN) if same_admin else None
    if token is None or token.revoked_at is not None:
        return None
    return web, _token_actor(token, unit_code)


def resolve_web_session(
    secret: str, *, session: Session, admin_secret: str | None, now: datetime
) -> Actor | None:
    """The actor of a page session, or None when unknown, ended, expired, its token revoked
    or (a settings-admin session) the admin secret changed. Access tokens are not sessions."""
    live = _live_session(secret, session=session, admin_secret=admin_secret, now=now)
    return live[1] if live else None


def end_web_session(
    secret: str,
    *,
    session: Session,
    admin_secret: str | None,
    now: datetime,
    source_address: str | None = None,
) -> bool:
    """Sign out: end the page session now; False when it was not live anyway."""
    live = _live_session(secret, session=session, admin_secret=admin_secret, now=now)
    if live is None:
        return False
    web, actor = live
    web.ended_at = now
    record_event(
        session=session,
        actor=actor,
        action="session.end",
        object_type="web_session",
        object_id=str(web.id),
        source_address=source_address,
        details={"token_id": actor.token_id},
        now=now,
    )
    session.flush()
    return True


def record_event(
    *,
    session: Session,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: str | None,
    source_address: str | None,
    details: dict[str, Any],
    now: datetime,
) -> AuditEvent:
    """Append one audit event; the caller's transaction commits it with the change."""
    event = AuditEvent(
        at=now,
        actor=actor.label[:128],
        actor_unit_id=actor.unit_id,
        action=action,
        object_type=object_type,
        object_id=object_id,
        source_address=(source_address or None) and source_address[:255],
        details=details,
    )
    session.add(event)
    return event
