"""Access tokens, page sessions and audit events (tables)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime


class Role(StrEnum):
    UNIT = "unit"  # a unit's reporting officer: sees and submits only the unit's items
    ADMIN = "admin"  # the compiling officer: sees everything, asks for ad-hoc reports
    # A person of the plan signed in with their own token; what they see and do follows their
    # plans.vocabulary.PersonRole (access.scope). A person of role admin acts as ADMIN.
    PERSON = "person"


class AccessToken(Base):
    """A secret issued to a unit, an admin or a person of the plan; only its hash is stored."""

    __tablename__ = "access_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters, so an admin can tell tokens apart without the secret.
    hint: Mapped[str] = mapped_column(String(16))
    role: Mapped[str] = mapped_column(String(16))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    # A person's token: their unit and role are read from `people` when it is used, so a
    # person who moves or changes role is scoped by what the plan says now.
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), index=True)
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
