"""Delivering one channel's due messages: re-check, render, send, mark each, one at a time.

One run at a time per channel (it holds the channel's delivery lock, which dies with its
process), so no message is sent by two runs. Per message: drop the intents no longer due
(submitted, exempted, deadline moved, reminder overtaken by the deadline), render the text,
send it, and mark it sent in its own commit right after. A crash before that commit leaves it
open, so nothing is lost; the only duplicate possible is a crash after the server accepted
and before the commit, and the copy carries the same key (Message-ID, Idempotency-Key) for
the receiver to drop.

Giving up: only real attempts count (a message left untried because its channel is down
gets the channel's retry time, not an attempt). A failed message is retried with exponential
backoff until it is no longer worth sending: its items settled or its deadline moved (the
intents are cancelled), the recipient unreachable on the channel, or more than
`give_up_after_working_days` working days since it was queued (then it is dead and shown to
the admin: `dondoc outbox`, `dondoc status`). A run that finds its channel down records an
outage (`notifications.outages`); its first delivery ends it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from sqlalchemy import Engine

from models.calendar import load_calendar
from models.db import session_factory, transaction
from models.outbox import OutboxIntent
from notifications.channels import (
    Channel,
    ChannelName,
    ChannelUnavailable,
    CredentialsExpired,
    DeliveryError,
    Outgoing,
    RateLimited,
    RecipientUnreachable,
)
from notifications.crash_points import crash_point
from notifications.deciding import stale_intents
from notifications.delivery_lock import Marks, channel_lock
from notifications.fallback import queue_fallback
from notifications.messages import DigestLine, line_for, render
from notifications.outages import channel_down, channel_up
from notifications.outbox import (
    cancel_intents,
    due_message_ids,
    due_messages,
    open_intents,
    queued_before,
)
from notifications.redact import redact
from notifications.routing import PersonInfo, load_people
from notifications.wiring import enabled_channels
from schedules.calendar import WorkCalendar, local_date, working_instant
from schedules.escalation import is_sending_time
from settings import EscalationSettings, Settings
from status.states import ItemState, item_states

log = logging.getLogger(__name__)

CHUNK = 100  # messages whose item states are read in one query


def retry_at(attempts: int, now: datetime, policy: EscalationSettings) -> datetime:
    """When to try again after `attempts` failed attempts: the wait doubles, up to a limit."""
    delay = min(policy.retry_base_seconds * 2 ** max(attempts - 1, 0), policy.retry_max_seconds)
    return now + timedelta(seconds=delay)


def give_up_cutoff(now: datetime, calendar: WorkCalendar, policy: EscalationSettings) -> datetime:
    """Messages queued before this instant are given up: more than `give_up_after_working_days`
    working days have passed since the day they were queued (counted on a working day, when
    messages go out; queued Wednesday with 3 days: tried through Monday, given up Tuesday)."""
    first_kept = calendar.add_working_days(local_date(now), -policy.give_up_after_working_days)
    return working_instant(first_kept, time(0, 0))


def gave_up_note(days: int, last_error: str | None) -> str:
    """Why a message was given up, for the admin."""
    note = f"Đã dừng gửi: quá {days} ngày làm việc vẫn chưa gửi được"
    return f"{note} (lỗi gần nhất: {last_error})" if last_error else note


def as_unavailable(error: DeliveryError) -> ChannelUnavailable:
    """A failure of what the whole channel needs (credentials): the channel stops this run."""
    return error if isinstance(error, ChannelUnavailable) else ChannelUnavailable(error.reason)


def in_sending_window(now: datetime, calendar: WorkCalendar, policy: EscalationSettings) -> bool:
    """Messages go out only on working days, in working hours."""
    return is_sending_time(now, calendar, start=policy.work_start, end=policy.work_end)


@dataclass
class DeliveryReport:
    """The outcome of one channel's delivery run (plain values for Prefect)."""

    channel: str
    sent: list[str] = field(default_factory=list)  # message keys
    failed: list[str] = field(default_factory=list)
    dead: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    stopped: str | None = None  # why the channel stopped early this run
    crashed: bool = False  # stopped by an unexpected error (a bug), not by its server

    def as_dict(self) -> dict[str, object]:
        return {
            "channel": self.channel,
            "sent": len(self.sent),
            "failed": len(self.failed),
            "dead": len(self.dead),
            "cancelled": len(self.cancelled),
            "stopped": self.stopped,
            "crashed": self.crashed,
        }


def _lines(
    intents: Sequence[OutboxIntent],
    states: dict[int, ItemState],
    *,
    own_unit_name: str | None,
    now: datetime,
    calendar: WorkCalendar,
    portal_url: str,
) -> list[DigestLine]:
    """A digest's lines: one per item, with every reason the recipient gets it."""
    by_item: dict[int, list[OutboxIntent]] = {}
    for intent in intents:
        by_item.setdefault(intent.item_id, []).append(intent)
    today = local_date(now)
    lines = []
    for item_id, group in by_item.items():
        state = states[item_id]
        lines.append(
            line_for(
                kind=group[0].step_kind,
                title=state.source_title,
                is_report=state.kind == "report",
                period_label=state.period_label,
                unit_name=state.unit_name,
                unit_code=state.unit_code,
                deadline_on=state.deadline_on,
                extended=state.extended,
                days_left=max(calendar.working_days_between(today, state.deadline_on), 0),
                days_overdue=state.working_days_overdue,
                audiences=[i.audience for i in group],
                own_unit_name=own_unit_name,
                portal_url=portal_url,
            )
        )
    return lines


@dataclass(frozen=True)
class _Due:
    """A message about to go, read with its chunk: where it goes and the intents it carries."""

    id: int
    key: str
    channel: str
    address: str
    attempts: int
    person: PersonInfo | None
    intents: list[OutboxIntent]


class Deliverer:
    """Delivers one channel's due messages; each is marked in its own commit after its send.

    The run holds the channel's delivery lock (`notifications.delivery_lock.channel_lock`)
    throughout, so it is the only one sending this channel's messages. Messages are read
    CHUNK at a time with everything their text needs (intents, item states, people), outside
    any write transaction; then, per message: drop the intents no longer due, render, send,
    and mark it sent in one short transaction. A crash between the send and that commit leaves
    the message open, and the next run sends it again with the same key.
    """

    def __init__(
        self,
        *,
        engine: Engine,
        channel: Channel,
        now: datetime,
        calendar: WorkCalendar,
        settings: Settings,
    ) -> None:
        self.engine = engine
        self.channel = channel
        self.now = now
        self.calendar = calendar
        self.policy = settings.escalation
        self.portal_url = settings.portal_url
        self.channels = [c.value for c in enabled_channels(settings)]
        self.report = DeliveryReport(channel=channel.name.value)
        self._resume_at: datetime | None = None  # when a channel found down is tried again

    def run(self) -> DeliveryReport:
        stop: ChannelUnavailable | None = None
        with channel_lock(self.engine, self.channel.name.value) as marks:
            self._give_up_old(marks)
            # Read under the lock: what an earlier holder sent is no longer due.
            with session_factory(self.engine)() as session:
                ids = due_message_ids(
                    session=session, channel=self.channel.name.value, now=self.now
                )
            if not ids:
                return self.report
            try:
                stop = self._deliver_all(marks, ids)
            finally:
                self.channel.close()
            if stop is not None:
                self._wait_rest(marks, ids, stop)
            # Under the lock: two runs never both open an outage, nor one close the other's.
            self._record_health(stop)
        return self.report

    def _deliver_all(self, marks: Marks, ids: list[int]) -> ChannelUnavailable | None:
        """Deliver the due messages in order; the reason the channel stopped, if it did."""
        try:
            self.channel.prepare()
        except DeliveryError as error:  # no credentials (e.g. the token endpoint is down)
            return as_unavailable(error)
        for start in range(0, len(ids), CHUNK):
            messages, states = self._read(ids[start : start + CHUNK])
            for message in messages:
                stop = self._deliver(marks, message, states)
                if stop is not None:
                    return stop
        return None

    def _give_up_old(self, marks: Marks) -> None:
        """Messages queued too long ago are no longer worth sending: dead, shown to the admin."""
        cutoff = give_up_cutoff(self.now, self.calendar, self.policy)
        with session_factory(self.engine)() as session:
            old = queued_before(session=session, channel=self.channel.name.value, cutoff=cutoff)
        for message_id, key, last_error in old:
            note = gave_up_note(self.policy.give_up_after_working_days, last_error)
            marks.failed(
                message_id=message_id, now=self.now, error=note, retry_at=None, count_attempt=False
            )
            self.report.dead.append(key)

    def _record_health(self, stop: ChannelUnavailable | None) -> None:
        """A channel down opens (or continues) an outage; a delivery ends it."""
        channel = self.channel.name.value
        if stop is not None and not isinstance(stop, RateLimited):
            channel_down(
                engine=self.engine, channel=channel, now=self.now, error=redact(stop.reason)
            )
        elif self.report.sent:
            channel_up(engine=self.engine, channel=channel, now=self.now)

    def _read(self, message_ids: list[int]) -> tuple[list[_Due], dict[int, ItemState]]:
        """A chunk's messages still due, their open intents, their items' states and people."""
        with session_factory(self.engine)() as session:
            messages = due_messages(session=session, ids=message_ids, now=self.now)
            intents: dict[int, list[OutboxIntent]] = {}
            for intent in open_intents(session=session, message_ids=[m.id for m in messages]):
                intents.setdefault(intent.message_id, []).append(intent)
            people = load_people(
                session=session, ids={m.person_id for m in messages if m.person_id is not None}
            )
            states = {
                s.item_id: s
                for s in item_states(
                    session=session,
                    as_of=self.now,
                    calendar=self.calendar,
                    item_ids={i.item_id for group in intents.values() for i in group},
                )
            }
        due = [
            _Due(
                id=m.id,
                key=m.key,
                channel=m.channel,
                address=m.address,
                attempts=m.attempts,
                person=people.by_id.get(m.person_id) if m.person_id is not None else None,
                intents=intents.get(m.id, []),
            )
            for m in messages
        ]
        return due, states

    def _deliver(
        self, marks: Marks, message: _Due, states: dict[int, ItemState]
    ) -> ChannelUnavailable | None:
        """Re-check, render, send, mark. Returns a reason to stop the channel, or None."""
        stale = stale_intents(message.intents, states, self.now)
        if stale:
            with transaction(self.engine) as session:
                for reason, intent_ids in stale.items():
                    cancel_intents(
                        session=session, intent_ids=intent_ids, now=self.now, reason=reason
                    )
        dropped = {i for ids in stale.values() for i in ids}
        live = [i for i in message.intents if i.id not in dropped]
        if not live:
            self.report.cancelled.append(message.key)
            return None
        outgoing = self._outgoing(message, live, states)
        try:
            return self._send(marks, message, live, outgoing, renewed=False)
        except CredentialsExpired:
            # Refused before anything was accepted: renew (outside any transaction, the
            # rotated token is committed at once) and try once more.
            try:
                self.channel.prepare(renew=True)
            except DeliveryError as error:
                down = as_unavailable(error)
                self._failed(marks, message, down, (outgoing.subject, outgoing.body))
                return down
            return self._send(marks, message, live, outgoing, renewed=True)

    def _send(
        self,
        marks: Marks,
        message: _Due,
        live: list[OutboxIntent],
        outgoing: Outgoing,
        *,
        renewed: bool,
    ) -> ChannelUnavailable | None:
        tried = (outgoing.subject, outgoing.body)
        try:
            provider_id = self.channel.send(outgoing)
        except CredentialsExpired as error:
            if not renewed:
                raise  # the caller renews and retries once
            down = ChannelUnavailable(error.reason)
            self._failed(marks, message, down, tried)
            return down
        except RateLimited as error:
            self._deferred(marks, message, error, tried)
            return error
        except ChannelUnavailable as error:
            self._failed(marks, message, error, tried)
            return error
        except RecipientUnreachable as error:
            self._unreachable(marks, message, live, error, tried)
            return None
        except DeliveryError as error:
            self._failed(marks, message, error, tried)
            return None
        except Exception as error:  # a bug or an unexpected library error: retry, give up
            log.exception("outbox: unexpected error sending message %s", message.key)
            unexpected = DeliveryError(f"Lỗi không lường trước: {type(error).__name__}")
            self._failed(marks, message, unexpected, tried)
            return None
        crash_point("after_send")
        marks.sent(
            message_id=message.id,
            intent_ids=[i.id for i in live],
            now=self.now,
            provider_id=provider_id,
            subject=outgoing.subject,
            body=outgoing.body,
        )
        self.report.sent.append(message.key)
        return None

    def _failed(
        self,
        marks: Marks,
        message: _Due,
        error: DeliveryError,
        tried: tuple[str, str] | None = None,
    ) -> None:
        """A real attempt failed: counted, and retried after the backoff."""
        when = retry_at(message.attempts + 1, self.now, self.policy)
        marks.failed(
            message_id=message.id,
            now=self.now,
            error=redact(error.reason),
            retry_at=when,
            tried=tried,
        )
        if isinstance(error, ChannelUnavailable):
            self._resume_at = when  # the channel's messages wait as long as this one
        self.report.failed.append(message.key)

    def _unreachable(
        self,
        marks: Marks,
        message: _Due,
        live: list[OutboxIntent],
        error: RecipientUnreachable,
        tried: tuple[str, str],
    ) -> None:
        """The person cannot be reached on this channel: queue the message by their next
        channel (`notifications.fallback`), then give this one up, saying where it went.

        The fallback is committed first; a crash before the give-up sends this message again,
        which finds its fallback already queued.
        """
        reason = error.reason
        if message.person is not None:
            with transaction(self.engine) as session:
                note = queue_fallback(
                    session=session,
                    message_id=message.id,
                    channel=message.channel,
                    person=message.person,
                    intents=live,
                    channels=self.channels,
                    now=self.now,
                )
            reason = f"{reason}. {note}."
        marks.failed(
            message_id=message.id, now=self.now, error=redact(reason), retry_at=None, tried=tried
        )
        self.report.dead.append(message.key)

    def _deferred(
        self,
        marks: Marks,
        message: _Due,
        error: RateLimited,
        tried: tuple[str, str] | None = None,
    ) -> None:
        """Rate limited: try later, without counting an attempt against the message."""
        marks.failed(
            message_id=message.id,
            now=self.now,
            error=redact(error.reason),
            retry_at=self.now + timedelta(seconds=error.retry_after_seconds),
            count_attempt=False,
            tried=tried,
        )
        self.report.failed.append(message.key)

    def _wait_rest(self, marks: Marks, ids: list[int], stop: ChannelUnavailable) -> None:
        """The channel is down: the messages not tried this run wait for its retry time, with
        the channel's error, and no attempt counted against them (they were not tried).

        Messages handled in this run are no longer due (sent, cancelled, or due later).
        """
        self.report.stopped = redact(stop.reason)
        if isinstance(stop, RateLimited):
            resume = self.now + timedelta(seconds=stop.retry_after_seconds)
        else:
            resume = self._resume_at or retry_at(1, self.now, self.policy)
        for start in range(0, len(ids), CHUNK):
            with session_factory(self.engine)() as session:
                rest = due_messages(session=session, ids=ids[start : start + CHUNK], now=self.now)
            for m in rest:
                marks.failed(
                    message_id=m.id,
                    now=self.now,
                    error=redact(f"Chưa thử gửi: {stop.reason}"),
                    retry_at=resume,
                    count_attempt=False,
                )
                self.report.failed.append(m.key)

    def _outgoing(
        self, message: _Due, intents: list[OutboxIntent], states: dict[int, ItemState]
    ) -> Outgoing:
        person = message.person
        lines = _lines(
            intents,
            states,
            own_unit_name=person.unit_name if person else None,
            now=self.now,
            calendar=self.calendar,
            portal_url=self.portal_url,
        )
        rendered = render(
            channel=ChannelName(message.channel),
            greeting=f"đồng chí {person.full_name}" if person else "",
            lines=lines,
            as_of=self.now,
            key=message.key,
            portal_url=self.portal_url,
        )
        return Outgoing(
            key=message.key,
            address=message.address,
            recipient_name=person.full_name if person else None,
            subject=rendered.subject,
            body=rendered.body,
        )


def deliver(
    *, engine: Engine, channel: Channel, now: datetime, settings: Settings
) -> DeliveryReport:
    """Send a channel's due messages, if messages may go out now."""
    with session_factory(engine)() as session:
        calendar = load_calendar(session=session)
    if not in_sending_window(now, calendar, settings.escalation):
        return DeliveryReport(channel=channel.name.value, stopped="outside working hours")
    return Deliverer(
        engine=engine, channel=channel, now=now, calendar=calendar, settings=settings
    ).run()
