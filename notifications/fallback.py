"""Fallbacks: a message whose channel cannot reach its person goes, once, by their next channel.

When a channel answers that the person cannot be reached there (Zalo OA: they do not follow
the OA, or it may not message them now), each item of the message the person does not already
get on another channel (a copy of the same rung that is sent or still on its way) is queued on
the first of `FALLBACK_ORDER` they have an address on and that has no copy of that rung yet. The
new message records which message it stands in for (`fallback_of`). Queuing it again finds it
queued, so a rerun never sends a fallback twice.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.outbox import OutboxIntent, OutboxMessage, OutboxStatus
from notifications.channels import CHANNEL_VI, ChannelName
from notifications.outbox import IntentDraft, record_intents
from notifications.routing import FALLBACK_ORDER, PersonInfo

# A copy in one of these states reaches (or will reach) the person: no fallback is needed.
REACHING = (OutboxStatus.PENDING.value, OutboxStatus.FAILED.value, OutboxStatus.SENT.value)


def queue_fallback(
    *,
    session: Session,
    message_id: int,
    channel: str,
    person: PersonInfo,
    intents: Sequence[OutboxIntent],
    channels: Collection[str],
    now: datetime,
) -> str:
    """Queue the fallback of an unreachable message (once); what became of its items, in
    Vietnamese, for the message's error line."""
    copies = _copies(session=session, channel=channel, person=person, intents=intents)
    reaching = {(item, step, on) for item, step, on, _, status in copies if status in REACHING}
    queued = list(
        session.scalars(select(OutboxMessage).where(OutboxMessage.fallback_of == message_id))
    )
    if not queued:
        taken = {(item, step, on, c) for item, step, on, c, _ in copies}
        drafts = [
            draft
            for intent in intents
            if (draft := _draft(intent, channel, person.contacts(channels), reaching, taken))
        ]
        queued = record_intents(session=session, drafts=drafts, now=now)
        for message in queued:
            message.fallback_of = message_id
    if queued:
        return "Gửi thay qua " + ", ".join(
            f"{CHANNEL_VI[ChannelName(m.channel)]} (thông báo {m.key[:8]})" for m in queued
        )
    if all((i.item_id, i.step_code, i.deadline_on) in reaching for i in intents):
        return "Người nhận đã nhận các việc này qua kênh khác"
    return "Người nhận không còn kênh nào khác để nhận"


def _copies(
    *, session: Session, channel: str, person: PersonInfo, intents: Sequence[OutboxIntent]
) -> list[tuple[int, str, date, str, str]]:
    """(item, step, deadline, channel, status) of the person's copies of these items on the
    other channels."""
    rows = session.execute(
        select(
            OutboxIntent.item_id,
            OutboxIntent.step_code,
            OutboxIntent.deadline_on,
            OutboxIntent.channel,
            OutboxIntent.status,
        ).where(
            OutboxIntent.recipient_key == person.recipient_key,
            OutboxIntent.item_id.in_({i.item_id for i in intents}),
            OutboxIntent.channel != channel,
        )
    )
    return [(r[0], r[1], r[2], r[3], r[4]) for r in rows]


def _draft(
    intent: OutboxIntent,
    channel: str,
    contacts: dict[str, str],
    reaching: set[tuple[int, str, date]],
    taken: set[tuple[int, str, date, str]],
) -> IntentDraft | None:
    """The rung again on the first fallback channel without a copy of it, unless the person
    gets it on another channel already."""
    rung = (intent.item_id, intent.step_code, intent.deadline_on)
    if rung in reaching:
        return None
    for target in FALLBACK_ORDER:
        if target != channel and target in contacts and (*rung, target) not in taken:
            return IntentDraft(
                item_id=intent.item_id,
                step_code=intent.step_code,
                step_kind=intent.step_kind,
                step_on=intent.step_on,
                deadline_on=intent.deadline_on,
                audience=intent.audience,
                recipient_key=intent.recipient_key,
                person_id=intent.person_id,
                channel=target,
                address=contacts[target],
            )
    return None


def fallback_of_keys(*, session: Session, messages: Sequence[OutboxMessage]) -> dict[int, str]:
    """Fallback message id -> the first 8 characters of the message it stands in for."""
    originals = {m.id: m.fallback_of for m in messages if m.fallback_of is not None}
    rows = session.execute(
        select(OutboxMessage.id, OutboxMessage.key).where(
            OutboxMessage.id.in_(set(originals.values()))
        )
    )
    keys = {message_id: key for message_id, key in rows}
    return {m: keys[o][:8] for m, o in originals.items()}
