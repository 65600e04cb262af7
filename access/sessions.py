"""Page sessions: opened from a token, only the secret's hash stored, ended by logout or expiry."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from access.actor import SETTINGS_ADMIN, Actor
from access.audit import record_event
from access.tokens import authenticate, hash_token, token_actor
from models.access import AccessToken, WebSession
from models.org import Person, Unit

SESSION_PREFIX = "dds_"  # a page session's secret; never accepted where a token is expected
SESSION_LIFETIME = timedelta(hours=12)
# Live sessions one token may have (a unit's few officers, each on a computer or two): signing
# in once more ends the oldest, so a leaked token cannot pile up sessions unseen.
MAX_SESSIONS_PER_TOKEN = 5


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
    _end_beyond_cap(actor, session=session, now=now, source_address=source_address)
    return actor, secret


def _end_beyond_cap(
    actor: Actor, *, session: Session, now: datetime, source_address: str | None
) -> None:
    """End the token's oldest live sessions beyond MAX_SESSIONS_PER_TOKEN (the settings admin
    counts as one token)."""
    same_token = (
        WebSession.token_id.is_(None)
        if actor.token_id is None
        else WebSession.token_id == actor.token_id
    )
    live = session.scalars(
        select(WebSession)
        .where(same_token, WebSession.ended_at.is_(None), WebSession.expires_at > now)
        .order_by(WebSession.created_at.desc(), WebSession.id.desc())
    ).all()
    for old in live[MAX_SESSIONS_PER_TOKEN:]:
        old.ended_at = now
        record_event(
            session=session,
            actor=actor,
            action="session.end",
            object_type="web_session",
            object_id=str(old.id),
            source_address=source_address,
            details={"token_id": actor.token_id, "reason": "session_cap"},
            now=now,
        )
    session.flush()


def _live_session(
    secret: str, *, session: Session, admin_secret: str | None, now: datetime
) -> tuple[WebSession, Actor] | None:
    if not secret:
        return None
    row = session.execute(
        select(WebSession, AccessToken, Person, Unit)
        .outerjoin(AccessToken, AccessToken.id == WebSession.token_id)
        .outerjoin(Person, Person.id == AccessToken.person_id)
        .outerjoin(Unit, Unit.id == func.coalesce(AccessToken.unit_id, Person.unit_id))
        .where(
            WebSession.secret_hash == hash_token(secret),
            WebSession.ended_at.is_(None),
            WebSession.expires_at > now,
        )
    ).first()
    if row is None:
        return None
    web, token, person, unit = row
    if web.token_id is None:
        same_admin = (
            admin_secret is not None
            and web.admin_check is not None
            and hmac.compare_digest(web.admin_check, _admin_check(secret, admin_secret))
        )
        return (web, SETTINGS_ADMIN) if same_admin else None
    # The token's holder as it is now: a revoked token ends its sessions at once, and a
    # person's changed unit or role holds from their next page.
    if token is None or token.revoked_at is not None:
        return None
    return web, token_actor(token, person, unit)


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
