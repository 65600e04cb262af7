"""A channel's delivery lock, and the marks a delivery run writes while it holds it.

One run at a time delivers a channel: it holds the channel's lock (`channel_lock`) from
before it reads the messages due until after its last mark. So a message is handed to its
server by one process only, and no database lock is held while a server takes its time;
each message is marked in its own short transaction right after its send. The lock dies
with its holder, so a killed run holds nothing up and the next run resends what it had
sent and not marked (the only possible copy, with the same key).
"""

from __future__ import annotations

import fcntl
import hashlib
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import Connection, Engine, bindparam, text, update
from sqlalchemy.exc import SQLAlchemyError

from models.base import UTCDateTime
from models.db import sqlite_in_memory
from models.outbox import OPEN_STATUSES, OutboxIntent, OutboxMessage, OutboxStatus


def _lock_key(channel: str) -> int:
    """A stable 64-bit key for PostgreSQL's advisory locks."""
    digest = hashlib.sha256(f"dondoc.outbox.deliver.{channel}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


_LOCAL_LOCKS: dict[tuple[str, str], threading.Lock] = {}
_LOCAL_LOCKS_GUARD = threading.Lock()


@contextmanager
def channel_lock(engine: Engine, channel: str) -> Iterator[Marks]:
    """Hold the channel's delivery lock, waiting for any other holder; yield where the run
    marks its messages.

    PostgreSQL: a session advisory lock on the very connection the marks are written on, so
    losing that connection (a killed process, a restarted server) releases the lock and fails
    the next mark, and the run stops. SQLite: an exclusive flock on a file beside the
    database, released by the kernel when the process dies (an in-memory database: a lock in
    this process).
    """
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            # Each mark is one statement that commits by itself: one round trip a message.
            conn.execution_options(isolation_level="AUTOCOMMIT")
            key = _lock_key(channel)
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
            try:
                yield Marks(conn)
            finally:
                try:
                    conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                except SQLAlchemyError:
                    conn.invalidate()  # never back to the pool holding the lock
            return
        database = engine.url.database
        if sqlite_in_memory(engine.url) or str(database).startswith("file:"):
            with _LOCAL_LOCKS_GUARD:
                lock = _LOCAL_LOCKS.setdefault((str(engine.url), channel), threading.Lock())
            with lock:
                yield Marks(conn)
            return
        with open(f"{database}-outbox-{channel}.lock", "a") as file:
            fcntl.flock(file, fcntl.LOCK_EX)  # released when the file is closed or we die
            yield Marks(conn)


# Built once: constructing an ORM-enabled UPDATE costs more than running it (~0.7 ms).
_NOW = bindparam("now", type_=UTCDateTime)
_MESSAGE_SENT = (
    update(OutboxMessage)
    .where(OutboxMessage.id == bindparam("sent_message"))
    .values(
        status=OutboxStatus.SENT.value,
        attempts=OutboxMessage.attempts + 1,
        last_attempt_at=_NOW,
        sent_at=_NOW,
        next_attempt_at=None,
        last_error=None,
        provider_id=bindparam("sent_provider_id"),
        subject=bindparam("sent_subject"),
        body=bindparam("sent_body"),
    )
)
_INTENTS_SENT = (
    update(OutboxIntent)
    .where(OutboxIntent.id.in_(bindparam("sent_intents", expanding=True)))
    .values(status=OutboxStatus.SENT.value, closed_at=_NOW, note=None)
)
# PostgreSQL runs both in one statement (a data-modifying WITH), so one round trip.
_SENT_AT_ONCE = _INTENTS_SENT.add_cte(_MESSAGE_SENT.returning(OutboxMessage.id).cte("sent"))


class Marks:
    """Where a delivery run records what became of each message, each in its own commit,
    on the connection that holds the channel's lock (see `channel_lock`)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._at_once = conn.dialect.name == "postgresql"  # the connection autocommits

    def sent(
        self,
        *,
        message_id: int,
        intent_ids: Sequence[int],
        now: datetime,
        provider_id: str | None,
        subject: str,
        body: str,
    ) -> None:
        """The server accepted the message: it and the intents it carried are sent, with the
        text that went out (an intent cancelled while the message was on its way went out)."""
        params = {
            "sent_message": message_id,
            "sent_intents": list(intent_ids),
            "now": now,
            "sent_provider_id": provider_id,
            "sent_subject": subject,
            "sent_body": body,
        }
        if self._at_once:
            self._conn.execute(_SENT_AT_ONCE, params)
            return
        with self._conn.begin():
            self._conn.execute(_MESSAGE_SENT, params)
            self._conn.execute(_INTENTS_SENT, params)

    def failed(
        self,
        *,
        message_id: int,
        now: datetime,
        error: str,
        retry_at: datetime | None,
        count_attempt: bool = True,
        tried: tuple[str, str] | None = None,
    ) -> None:
        """An attempt failed: retry at `retry_at`, or give up (dead) when it is None.

        `tried` is the (subject, body) that was tried, kept for the admin. A message cancelled
        meanwhile stays cancelled.
        """
        values: dict[str, object] = {
            "last_attempt_at": now,
            "last_error": error,
            "status": (OutboxStatus.DEAD if retry_at is None else OutboxStatus.FAILED).value,
            "next_attempt_at": retry_at,
        }
        if count_attempt:
            values["attempts"] = OutboxMessage.attempts + 1
        if tried is not None:
            values["subject"], values["body"] = tried
        message = (
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id, OutboxMessage.status.in_(OPEN_STATUSES))
            .values(values)
        )
        intents = (
            update(OutboxIntent)
            .where(OutboxIntent.message_id == message_id, OutboxIntent.status.in_(OPEN_STATUSES))
            .values(status=OutboxStatus.DEAD.value, closed_at=now, note=error)
        )
        if self._at_once:
            dead = intents.add_cte(message.returning(OutboxMessage.id).cte("dead"))
            self._conn.execute(message if retry_at is not None else dead)
            return
        with self._conn.begin():
            self._conn.execute(message)
            if retry_at is None:
                self._conn.execute(intents)
