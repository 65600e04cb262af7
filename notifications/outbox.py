"""The outbox: intents recorded once per (item, step, recipient, channel), the messages due,
cancellation, the admin's queue and each item's last reminder.

A delivery run's lock and its marks are in `notifications.delivery_lock`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import NamedTuple
from uuid import uuid4

import pendulum
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from models.db import chunked
from models.outbox import OPEN_STATUSES, OutboxIntent, OutboxMessage, OutboxStatus
from schedules.calendar import VN_TZ

STATUS_VI = {
    OutboxStatus.PENDING: "Chờ gửi",
    OutboxStatus.SENT: "Đã gửi",
    OutboxStatus.FAILED: "Gửi lỗi, sẽ thử lại",
    OutboxStatus.DEAD: "Không gửi được",
    OutboxStatus.CANCELLED: "Đã hủy",
}


@dataclass(frozen=True)
class IntentDraft:
    """A decided intent before it is stored; plain values."""

    item_id: int
    step_code: str
    step_kind: str
    step_on: date
    deadline_on: date
    audience: str
    recipient_key: str
    person_id: int | None
    channel: str
    address: str

    @property
    def unique_key(self) -> tuple[int, str, date, str, str]:
        return (self.item_id, self.step_code, self.deadline_on, self.recipient_key, self.channel)


def recorded_keys(
    *, session: Session, item_ids: Iterable[int]
) -> set[tuple[int, str, date, str, str]]:
    """The unique keys of every intent already recorded for these items, in any status."""
    keys: set[tuple[int, str, date, str, str]] = set()
    for chunk in chunked(item_ids):
        rows = session.execute(
            select(
                OutboxIntent.item_id,
                OutboxIntent.step_code,
                OutboxIntent.deadline_on,
                OutboxIntent.recipient_key,
                OutboxIntent.channel,
            ).where(OutboxIntent.item_id.in_(chunk))
        )
        keys.update((r[0], r[1], r[2], r[3], r[4]) for r in rows)
    return keys


def record_intents(
    *, session: Session, drafts: Sequence[IntentDraft], now: datetime
) -> list[OutboxMessage]:
    """Store the intents and one pending digest per (recipient, channel); the caller commits.

    The caller has dropped drafts already recorded; a concurrent decision that got there
    first makes the flush fail on the unique key, and the caller decides again.
    """
    groups: dict[tuple[str, str], list[IntentDraft]] = {}
    for d in drafts:
        groups.setdefault((d.recipient_key, d.channel), []).append(d)
    messages = []
    for (recipient_key, channel), group in groups.items():
        message = OutboxMessage(
            key=uuid4().hex,
            channel=channel,
            recipient_key=recipient_key,
            person_id=group[0].person_id,
            address=group[0].address,
            created_at=now,
            status=OutboxStatus.PENDING.value,
            attempts=0,
            next_attempt_at=now,
        )
        session.add(message)
        session.flush()
        session.add_all(
            OutboxIntent(
                item_id=d.item_id,
                step_code=d.step_code,
                step_kind=d.step_kind,
                step_on=d.step_on,
                deadline_on=d.deadline_on,
                audience=d.audience,
                recipient_key=d.recipient_key,
                person_id=d.person_id,
                channel=d.channel,
                message_id=message.id,
                status=OutboxStatus.PENDING.value,
                decided_at=now,
            )
            for d in group
        )
        messages.append(message)
    session.flush()
    return messages


def _due(now: datetime) -> ColumnElement[bool]:
    # No time set means as soon as possible (an admin put the message back in the queue).
    return or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now)


def due_message_ids(*, session: Session, channel: str, now: datetime) -> list[int]:
    """Messages of a channel to attempt now (pending, or failed and due for a retry)."""
    return list(
        session.scalars(
            select(OutboxMessage.id)
            .where(
                OutboxMessage.channel == channel,
                OutboxMessage.status.in_(OPEN_STATUSES),
                _due(now),
            )
            .order_by(OutboxMessage.id)
        )
    )


class DueMessage(NamedTuple):
    """What delivering a message needs to know of it (its text is rendered afresh)."""

    id: int
    key: str
    channel: str
    address: str
    person_id: int | None
    attempts: int


def due_messages(*, session: Session, ids: Iterable[int], now: datetime) -> list[DueMessage]:
    """Those of these messages still open and due now, in id order (a delivery's chunk)."""
    rows = session.execute(
        select(
            OutboxMessage.id,
            OutboxMessage.key,
            OutboxMessage.channel,
            OutboxMessage.address,
            OutboxMessage.person_id,
            OutboxMessage.attempts,
        )
        .where(OutboxMessage.id.in_(list(ids)), OutboxMessage.status.in_(OPEN_STATUSES), _due(now))
        .order_by(OutboxMessage.id)
    )
    return [DueMessage(*row) for row in rows]


def open_intents(*, session: Session, message_ids: Iterable[int]) -> list[OutboxIntent]:
    """The intents these messages still carry (not cancelled), in decision order."""
    return list(
        session.scalars(
            select(OutboxIntent)
            .where(
                OutboxIntent.message_id.in_(list(message_ids)),
                OutboxIntent.status.in_(OPEN_STATUSES),
            )
            .order_by(OutboxIntent.id)
        )
    )


def _close_intents(
    session: Session,
    where: Sequence[object],
    status: OutboxStatus,
    now: datetime,
    note: str | None,
) -> None:
    session.execute(
        update(OutboxIntent)
        .where(*where, OutboxIntent.status.in_(OPEN_STATUSES))  # type: ignore[arg-type]
        .values(status=status.value, closed_at=now, note=note)
        .execution_options(synchronize_session=False)
    )


def cancel_intents(
    *, session: Session, intent_ids: Iterable[int], now: datetime, reason: str
) -> None:
    """Cancel intents not yet sent; a message left with none is cancelled too."""
    ids = list(intent_ids)
    if not ids:
        return
    message_ids = set(
        session.scalars(select(OutboxIntent.message_id).where(OutboxIntent.id.in_(ids)))
    )
    # Lock the messages before their intents, in id order, so two cancellations of the same
    # messages wait for each other, never deadlock.
    session.execute(
        select(OutboxMessage.id)
        .where(OutboxMessage.id.in_(message_ids))
        .order_by(OutboxMessage.id)
        .with_for_update()
    )
    _close_intents(session, [OutboxIntent.id.in_(ids)], OutboxStatus.CANCELLED, now, reason)
    still_open = set(
        session.scalars(
            select(OutboxIntent.message_id).where(
                OutboxIntent.message_id.in_(message_ids),
                OutboxIntent.status.in_(OPEN_STATUSES),
            )
        )
    )
    empty = message_ids - still_open
    if empty:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(empty), OutboxMessage.status.in_(OPEN_STATUSES))
            .values(status=OutboxStatus.CANCELLED.value, next_attempt_at=None, last_error=reason)
            .execution_options(synchronize_session=False)
        )


def queued_before(
    *, session: Session, channel: str, cutoff: datetime
) -> list[tuple[int, str, str | None]]:
    """(id, key, last error) of the channel's open messages queued (or requeued by the admin)
    before `cutoff`: too old to be worth sending."""
    queued = func.coalesce(OutboxMessage.requeued_at, OutboxMessage.created_at)
    rows = session.execute(
        select(OutboxMessage.id, OutboxMessage.key, OutboxMessage.last_error)
        .where(
            OutboxMessage.channel == channel,
            OutboxMessage.status.in_(OPEN_STATUSES),
            queued < cutoff,
        )
        .order_by(OutboxMessage.id)
    )
    return [(r[0], r[1], r[2]) for r in rows]


RETRYABLE = (OutboxStatus.DEAD.value, OutboxStatus.FAILED.value)


def requeue(*, session: Session, where: Sequence[ColumnElement[bool]], now: datetime) -> list[str]:
    """Put the failed or dead messages matching `where` back in the queue, due at the next run
    and with a new give-up clock (the admin fixed an address or a server); their keys."""
    rows = session.execute(
        select(OutboxMessage.id, OutboxMessage.key).where(
            *where, OutboxMessage.status.in_(RETRYABLE)
        )
    ).all()
    for chunk in chunked(r[0] for r in rows):
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(chunk), OutboxMessage.status.in_(RETRYABLE))
            .values(status=OutboxStatus.PENDING.value, next_attempt_at=None, requeued_at=now)
            .execution_options(synchronize_session=False)
        )
        session.execute(
            update(OutboxIntent)
            .where(
                OutboxIntent.message_id.in_(chunk),
                OutboxIntent.status == OutboxStatus.DEAD.value,
            )
            .values(status=OutboxStatus.PENDING.value, closed_at=None, note=None)
            .execution_options(synchronize_session=False)
        )
    return [r[1] for r in rows]


def list_messages(
    *,
    session: Session,
    statuses: Iterable[str] | None = None,
    limit: int = 200,
    fallbacks: bool = False,
) -> list[OutboxMessage]:
    """Messages, newest first, optionally of some statuses and (`fallbacks`) every fallback
    whatever its status (the admin's view)."""
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    if statuses is not None:
        shown = OutboxMessage.status.in_(list(statuses))
        query = query.where(
            or_(shown, OutboxMessage.fallback_of.is_not(None)) if fallbacks else shown
        )
    return list(session.scalars(query))


@dataclass(frozen=True)
class LastReminder:
    """The latest message sent about an item, and how many of its deliveries are in trouble."""

    sent_at: datetime | None
    step_code: str | None
    troubled: int  # failed or dead deliveries about the item

    @property
    def label_vi(self) -> str:
        """For the status table: "19/03/2024 08:00 (overdue-1)", plus any delivery trouble."""
        parts = []
        if self.sent_at is not None:
            local = pendulum.instance(self.sent_at).in_timezone(VN_TZ)
            parts.append(f"{local:%d/%m/%Y %H:%M} ({self.step_code})")
        if self.troubled:
            parts.append(f"{self.troubled} tin chưa gửi được")
        return "; ".join(parts)


def last_reminders(
    *, session: Session, item_ids: Iterable[int], as_of: datetime
) -> dict[int, LastReminder]:
    """Per item: its latest reminder sent by `as_of` (any channel), and failed/dead deliveries.

    Two queries whatever the number of items.
    """
    ids = list(item_ids)
    if not ids:
        return {}
    sent = (
        select(
            OutboxIntent.item_id,
            OutboxIntent.step_code,
            OutboxMessage.sent_at,
            func.row_number()
            .over(
                partition_by=OutboxIntent.item_id,
                order_by=(OutboxMessage.sent_at.desc(), OutboxIntent.id.desc()),
            )
            .label("n"),
        )
        .join(OutboxMessage, OutboxMessage.id == OutboxIntent.message_id)
        .where(
            OutboxIntent.item_id.in_(ids),
            OutboxIntent.status == OutboxStatus.SENT.value,
            OutboxMessage.sent_at <= as_of,
        )
        .subquery()
    )
    rows = session.execute(
        select(sent.c.item_id, sent.c.sent_at, sent.c.step_code).where(sent.c.n == 1)
    ).all()
    troubled: dict[int, int] = {
        item_id: count
        for item_id, count in session.execute(
            select(OutboxIntent.item_id, func.count(func.distinct(OutboxIntent.message_id)))
            .join(OutboxMessage, OutboxMessage.id == OutboxIntent.message_id)
            .where(
                OutboxIntent.item_id.in_(ids),
                OutboxMessage.status.in_([OutboxStatus.FAILED.value, OutboxStatus.DEAD.value]),
                OutboxIntent.status != OutboxStatus.CANCELLED.value,
            )
            .group_by(OutboxIntent.item_id)
        )
    }
    out = {
        item_id: LastReminder(sent_at=at, step_code=step, troubled=troubled.get(item_id, 0))
        for item_id, at, step in rows
    }
    for item_id, count in troubled.items():
        out.setdefault(item_id, LastReminder(sent_at=None, step_code=None, troubled=count))
    return out
