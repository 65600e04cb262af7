"""Refused sign-ins: each audited, and too many from one address or with one token blocked.

The audit trail is the counter: a refused attempt is an `auth.refused` event (its address in
source_address, a fingerprint of the presented token in object_id), so every portal process
counts the same attempts and a restart forgets nothing. Each process keeps the blocks it has
found in memory (`Blocks`) so a blocked caller is answered without touching the database; a
process that has not seen the block yet finds it at the caller's next refusal.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from access.actor import Actor
from access.audit import record_event
from access.tokens import hash_token
from models.access import AuditEvent, Role
from submissions.errors import IntakeError
from wording.vietnamese import local_time

WINDOW = timedelta(minutes=15)  # refusals counted over this span; a block lasts as long
# Officers of one office often share one public address, and one mistyped token is retried.
ADDRESS_LIMIT = 20
TOKEN_LIMIT = 5
REFUSED = "auth.refused"
ATTEMPT = "auth_attempt"  # object_type of a refusal: object_id is the token's fingerprint
ANONYMOUS = Actor(role=Role.UNIT, label="anonymous")


def fingerprint(secret: str) -> str:
    """What the audit keeps of a refused token: a short hash, never the secret."""
    return hash_token(secret)[:16]


def keys(secret: str, source_address: str | None) -> list[str]:
    """The throttle's keys for one attempt: its address and its token."""
    found = [f"token:{fingerprint(secret)}"]
    if source_address:
        found.append(f"address:{source_address}")
    return found


class TooManyAttempts(IntakeError):
    """429: too many refused attempts; says when to try again."""

    status = 429

    def __init__(self, until: datetime, now: datetime) -> None:
        minutes = max(1, -(-int((until - now).total_seconds()) // 60))
        super().__init__(
            "too_many_attempts",
            f"Mã truy cập bị nhập sai quá nhiều lần. Hãy thử lại sau {minutes} phút "
            f"(từ {local_time(until)}, giờ Việt Nam).",
        )
        self.until = until
        self.retry_after = max(1, int((until - now).total_seconds()))


class Blocks:
    """The blocks this process knows of: key -> blocked until (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._until: dict[str, datetime] = {}

    def check(self, secret: str, source_address: str | None, *, now: datetime) -> None:
        """Raise TooManyAttempts while the attempt's address or token is blocked."""
        with self._lock:
            until = max(
                (u for k in keys(secret, source_address) if (u := self._until.get(k))),
                default=None,
            )
            if until is not None and until <= now:
                for k in [k for k, u in self._until.items() if u <= now]:
                    del self._until[k]
                return
        if until is not None:
            raise TooManyAttempts(until, now)

    def add(self, key: str, until: datetime) -> None:
        """Block `key` until then; blocks already over are forgotten (the map stays small)."""
        with self._lock:
            self._until[key] = max(until, self._until.get(key, until))
            start = until - WINDOW
            for old in [k for k, u in self._until.items() if u <= start]:
                del self._until[old]


def _count(session: Session, since: datetime, *, address: str | None, token: str | None) -> int:
    query = select(func.count()).where(AuditEvent.action == REFUSED, AuditEvent.at > since)
    if address is not None:
        query = query.where(AuditEvent.source_address == address)
    else:
        query = query.where(AuditEvent.object_type == ATTEMPT, AuditEvent.object_id == token)
    return session.scalar(query) or 0


def record_refusal(
    secret: str,
    *,
    session: Session,
    blocks: Blocks,
    channel: str,
    source_address: str | None,
    now: datetime,
) -> None:
    """Audit one refused attempt (`channel` "web" or "api") and block its address or token
    once it has reached its limit within WINDOW; the caller commits `session`."""
    token = fingerprint(secret)
    address = (source_address or None) and source_address[:255]
    record_event(
        session=session,
        actor=ANONYMOUS,
        action=REFUSED,
        object_type=ATTEMPT,
        object_id=token,
        source_address=address,
        details={"channel": channel},
        now=now,
    )
    session.flush()
    since = now - WINDOW
    over = []
    if address and _count(session, since, address=address, token=None) >= ADDRESS_LIMIT:
        over.append(f"address:{address}")
    if _count(session, since, address=None, token=token) >= TOKEN_LIMIT:
        over.append(f"token:{token}")
    for key in over:
        blocks.add(key, now + WINDOW)
        record_event(
            session=session,
            actor=ANONYMOUS,
            action="auth.blocked",
            object_type=ATTEMPT,
            object_id=token,
            source_address=address,
            details={"key": key.partition(":")[0], "until": (now + WINDOW).isoformat()},
            now=now,
        )
