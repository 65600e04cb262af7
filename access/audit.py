"""The audit trail: one row per security-relevant act (sign-in, token issued, lock...)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from access.actor import Actor
from models.access import AuditEvent


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
        **event_row(
            actor=actor,
            action=action,
            object_type=object_type,
            object_id=object_id,
            source_address=source_address,
            details=details,
            now=now,
        )
    )
    session.add(event)
    return event


def event_row(
    *,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: str | None,
    source_address: str | None,
    details: dict[str, Any],
    now: datetime,
) -> dict[str, Any]:
    """The columns of one audit event, for a caller that inserts its rows itself."""
    return {
        "at": now,
        "actor": actor.label[:128],
        "actor_unit_id": actor.unit_id,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "source_address": (source_address or None) and source_address[:255],
        "details": details,
    }
