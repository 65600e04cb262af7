"""The daily check: decide the rungs due, record them in the outbox, deliver, mark. Once each.

Exactly once, step by step:

1. `decide_and_record`: one transaction computes every rung due as of `now` and inserts its
   intents (unique per item, step, deadline, recipient, channel) and one pending digest per
   recipient and channel. Deciding again finds the intents recorded and adds nothing; a
   concurrent decision that commits first makes ours fail on the unique key, and we decide
   again.
2. `deliver`: one run at a time per channel (it holds the channel's delivery lock, which
   dies with its process), so no message is sent by two runs. Per message: drop the intents
   no longer due (submitted, exempted, deadline moved, reminder overtaken by the deadline),
   render the text, send it, and mark it sent in its own commit right after. A crash before
   that commit leaves it open, so nothing is lost; the only duplicate possible is a crash
   after the server accepted and before the commit, and the copy carries the same key
   (Message-ID, Idempotency-Key) for the receiver to drop.
3. A failed send is retried with exponential backoff up to `max_attempts`, then the message is
   dead and shown to the admin (`dondoc outbox`, `dondoc status`).

`DONDOC_CRASH_POINT` (tests only) kills the process with SIGKILL at a named point, so the
crash tests exercise real process death: `after_record` (outbox written, nothing sent) and
`after_send` (first message accepted by the server, not yet marked).
"""

from __future__ import annotations

import logging
import os
import signal
from array import array
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import NamedTuple

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models.calendar import load_calendar
from models.db import chunked, session_factory, transaction
from models.items import DueItem
from models.org import Unit
from models.outbox import OPEN_STATUSES, OutboxIntent
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
from notifications.messages import DigestLine, line_for, reason_vi, render
from notifications.outbox import (
    IntentDraft,
    Marks,
    cancel_intents,
    channel_lock,
    due_message_ids,
    due_messages,
    open_intents,
    record_intents,
    recorded_keys,
)
from notifications.redact import redact
from notifications.routing import People, PersonInfo, Route, load_people, load_routes
from notifications.wiring import build_channel, enabled_channels
from schedules.calendar import WorkCalendar, local_date
from schedules.escalation import (
    OVERDUE,
    REMINDER,
    Rung,
    due_rungs,
    is_sending_time,
    place_ladder,
)
from settings import EscalationSettings, Settings
from status.states import ItemState, ItemStatus, item_states

log = logging.getLogger(__name__)

CRASH_POINT_ENV = "DONDOC_CRASH_POINT"
SUBSCRIBER = "subscriber"
OWED = (ItemStatus.NOT_YET_OPEN, ItemStatus.OPEN, ItemStatus.OVERDUE)
CHUNK = 100  # messages whose item states are read in one query
DECIDE_CHUNK = 1_000  # items whose states and routes a decision holds at once (~4 MiB)


def crash_point(name: str) -> None:
    """Die here, as a power cut would, when the tests ask for it (never set in production)."""
    if os.environ.get(CRASH_POINT_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)


def retry_at(attempts: int, now: datetime, policy: EscalationSettings) -> datetime | None:
    """When to try again after `attempts` failed attempts; None once the limit is reached."""
    if attempts >= policy.max_attempts:
        return None
    delay = min(policy.retry_base_seconds * 2 ** (attempts - 1), policy.retry_max_seconds)
    return now + timedelta(seconds=delay)


def sending_window_open(now: datetime, calendar: WorkCalendar, policy: EscalationSettings) -> bool:
    """Messages go out only on working days, in working hours."""
    return is_sending_time(now, calendar, start=policy.work_start, end=policy.work_end)


# --- deciding ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Unreachable:
    """A rung due for an audience nobody can be reached in (no person, or no address)."""

    item_key: str
    unit_name: str
    step_code: str
    audience: str
    why: str


@dataclass(frozen=True)
class Decision:
    """What is newly due as of an instant, before it is recorded."""

    as_of: datetime
    drafts: list[IntentDraft]
    unreachable: list[Unreachable]


def live_item_ids(*, session: Session) -> array[int]:
    """Every item not withdrawn, in the order `item_states` lists them, as a compact array
    (8 bytes an item: 1 MB for a 10,000-commune province's year), fetched in batches."""
    return array(
        "q",
        session.scalars(
            select(DueItem.id)
            .join(Unit, Unit.id == DueItem.unit_id)
            .where(DueItem.withdrawn_at.is_(None))
            .order_by(DueItem.deadline_at, Unit.code, DueItem.id)
            .execution_options(yield_per=DECIDE_CHUNK)
        ),
    )


def decide(
    *,
    session: Session,
    now: datetime,
    calendar: WorkCalendar,
    channels: Collection[str],
    webhooks: Collection[str] = (),
) -> Decision:
    """Every rung due as of `now` and not recorded yet, as intents per recipient and channel.

    Set-based and streamed: the items are taken DECIDE_CHUNK at a time (their states, routes
    and recorded intents: three queries a chunk), so memory stays flat whatever the number
    of units; only the decision itself (drafts and gaps) grows, with what is due.
    """
    decider = _Decider(
        people=load_people(session=session),
        now=now,
        calendar=calendar,
        person_channels=[c for c in channels if c != ChannelName.WEBHOOK.value],
        webhooks=list(webhooks),
    )
    ids = live_item_ids(session=session)
    for start in range(0, len(ids), DECIDE_CHUNK):
        states = item_states(
            session=session,
            as_of=now,
            calendar=calendar,
            item_ids=ids[start : start + DECIDE_CHUNK],
        )
        owed = [s for s in states if s.status in OWED]
        item_ids = [s.item_id for s in owed]
        decider.add_items(
            owed,
            routes=load_routes(session=session, item_ids=item_ids),
            seen=recorded_keys(session=session, item_ids=item_ids),
        )
    return Decision(as_of=now, drafts=decider.drafts, unreachable=decider.unreachable)


class _Decider:
    """What `decide` accumulates over the chunks of items."""

    def __init__(
        self,
        *,
        people: People,
        now: datetime,
        calendar: WorkCalendar,
        person_channels: list[str],
        webhooks: list[str],
    ) -> None:
        self.people = people
        self.now = now
        self.today = local_date(now)
        self.calendar = calendar
        self.person_channels = person_channels
        self.webhooks = webhooks
        self.drafts: list[IntentDraft] = []
        self.unreachable: list[Unreachable] = []
        # Units of one obligation share a ladder and a deadline: place each pair once.
        self.placed: dict[tuple[object, date], list[Rung]] = {}

    def add_items(
        self,
        states: list[ItemState],
        *,
        routes: dict[int, Route],
        seen: set[tuple[int, str, date, str, str]],
    ) -> None:
        """The intents newly due for these owed items (`seen`: their recorded keys)."""

        def add(draft: IntentDraft) -> None:
            if draft.unique_key not in seen:
                seen.add(draft.unique_key)
                self.drafts.append(draft)

        for state in states:
            route = routes[state.item_id]
            key = (
                tuple((s.code, s.offset, s.kind, tuple(s.to)) for s in route.ladder),
                state.deadline_on,
            )
            if key not in self.placed:
                self.placed[key] = place_ladder(route.ladder, state.deadline_on, self.calendar)
            due = due_rungs(
                self.placed[key], today=self.today, deadline_passed=self.now > state.deadline_at
            )
            for d in due:
                persons = self.people.for_audience(route, d.audience)
                if not persons:
                    self.unreachable.append(
                        Unreachable(
                            state.key, state.unit_name, d.rung.code, d.audience, "no_person"
                        )
                    )
                for person in persons:
                    addresses = person.addresses(self.person_channels)
                    if not addresses:
                        self.unreachable.append(
                            Unreachable(
                                state.key, state.unit_name, d.rung.code, d.audience, "no_address"
                            )
                        )
                    for channel, address in addresses.items():
                        add(
                            IntentDraft(
                                item_id=state.item_id,
                                step_code=d.rung.code,
                                step_kind=d.rung.kind,
                                step_on=d.rung.day,
                                deadline_on=state.deadline_on,
                                audience=d.audience,
                                recipient_key=person.recipient_key,
                                person_id=person.id,
                                channel=channel,
                                address=address,
                            )
                        )
            for rung in dict.fromkeys(d.rung for d in due):  # a webhook gets each rung once
                for name in self.webhooks:
                    add(
                        IntentDraft(
                            item_id=state.item_id,
                            step_code=rung.code,
                            step_kind=rung.kind,
                            step_on=rung.day,
                            deadline_on=state.deadline_on,
                            audience=SUBSCRIBER,
                            recipient_key=f"webhook:{name}",
                            person_id=None,
                            channel=ChannelName.WEBHOOK.value,
                            address=name,
                        )
                    )


@dataclass(frozen=True)
class Recorded:
    """What one decision wrote."""

    decision: Decision
    message_ids: list[int]


def decide_and_record(
    *, engine: Engine, now: datetime, channels: Collection[str], webhooks: Collection[str] = ()
) -> Recorded:
    """Decide and write the intents and their digests in one transaction (idempotent)."""
    for attempt in range(3):
        try:
            with transaction(engine) as session:
                calendar = load_calendar(session=session)
                decision = decide(
                    session=session,
                    now=now,
                    calendar=calendar,
                    channels=channels,
                    webhooks=webhooks,
                )
                cancel_stale(session=session, now=now, calendar=calendar)
                messages = record_intents(session=session, drafts=decision.drafts, now=now)
                ids = [m.id for m in messages]
            break
        except IntegrityError:
            # A concurrent run recorded some of the same intents first: decide again.
            if attempt == 2:
                raise
            log.info("outbox: concurrent decision detected, deciding again")
    crash_point("after_record")
    return Recorded(decision=decision, message_ids=ids)


# --- delivering -------------------------------------------------------------------------


@dataclass
class DeliveryReport:
    """The outcome of one channel's delivery run (plain values for Prefect)."""

    channel: str
    sent: list[str] = field(default_factory=list)  # message keys
    failed: list[str] = field(default_factory=list)
    dead: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    stopped: str | None = None  # why the channel stopped early this run

    def as_dict(self) -> dict[str, object]:
        return {
            "channel": self.channel,
            "sent": len(self.sent),
            "failed": len(self.failed),
            "dead": len(self.dead),
            "cancelled": len(self.cancelled),
            "stopped": self.stopped,
        }


_STALE_VI = {
    "gone": "Việc không còn trong kế hoạch",
    "submitted": "Đơn vị đã gửi",
    "excused": "Đơn vị được miễn",
    "moved": "Hạn đã thay đổi",
    "overtaken": "Đã quá hạn: nhắc trước hạn không còn phù hợp",
    "not_overdue": "Chưa quá hạn",
}


def stale_reason(
    *, step_kind: str, deadline_on: date, state: ItemState | None, now: datetime
) -> str | None:
    """Why an unsent intent (of this kind, for this deadline) is no longer due, or None.

    A submission stops the ladder.
    """
    if state is None:
        return _STALE_VI["gone"]
    if state.status in (ItemStatus.SUBMITTED_ON_TIME, ItemStatus.SUBMITTED_LATE):
        return _STALE_VI["submitted"]
    if state.status is ItemStatus.EXCUSED:
        return _STALE_VI["excused"]
    if state.deadline_on != deadline_on:
        return _STALE_VI["moved"]
    passed = now > state.deadline_at
    if step_kind == REMINDER and passed:
        return _STALE_VI["overtaken"]
    if step_kind == OVERDUE and not passed:
        return _STALE_VI["not_overdue"]
    return None


class _OpenIntent(NamedTuple):
    """An unsent intent, as much of it as `stale_reason` needs."""

    id: int
    item_id: int
    step_kind: str
    deadline_on: date


def stale_intents(
    intents: Iterable[OutboxIntent | _OpenIntent], states: dict[int, ItemState], now: datetime
) -> dict[str, list[int]]:
    """The ids of the intents no longer due, grouped by why (`stale_reason`)."""
    stale: dict[str, list[int]] = {}
    for intent in intents:
        reason = stale_reason(
            step_kind=intent.step_kind,
            deadline_on=intent.deadline_on,
            state=states.get(intent.item_id),
            now=now,
        )
        if reason is not None:
            stale.setdefault(reason, []).append(intent.id)
    return stale


def cancel_stale(*, session: Session, now: datetime, calendar: WorkCalendar) -> int:
    """Cancel every unsent intent no longer due (e.g. the unit has submitted); how many.

    Only the items of open intents are looked at, DECIDE_CHUNK at a time.
    """
    by_item: dict[int, list[_OpenIntent]] = {}
    for row in session.execute(
        select(
            OutboxIntent.id, OutboxIntent.item_id, OutboxIntent.step_kind, OutboxIntent.deadline_on
        ).where(OutboxIntent.status.in_(OPEN_STATUSES))
    ):
        intent = _OpenIntent(*row)
        by_item.setdefault(intent.item_id, []).append(intent)
    stale: dict[str, list[int]] = {}
    for chunk in chunked(by_item, DECIDE_CHUNK):
        states = {
            s.item_id: s
            for s in item_states(session=session, as_of=now, calendar=calendar, item_ids=chunk)
        }
        chunk_intents = (intent for item_id in chunk for intent in by_item[item_id])
        for reason, ids in stale_intents(chunk_intents, states, now).items():
            stale.setdefault(reason, []).extend(ids)
    for reason, ids in stale.items():
        cancel_intents(session=session, intent_ids=ids, now=now, reason=reason)
    return sum(len(ids) for ids in stale.values())


def _lines(
    intents: Sequence[OutboxIntent],
    states: dict[int, ItemState],
    *,
    own_unit_name: str | None,
    now: datetime,
    calendar: WorkCalendar,
    portal_url: str,
) -> list[DigestLine]:
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
                reasons=[
                    reason_vi(i.audience, unit_name=state.unit_name, own_unit_name=own_unit_name)
                    for i in group
                ],
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

    The run holds the channel's delivery lock (`notifications.outbox.channel_lock`) throughout, so
    it is the only one sending this channel's messages. Messages are read CHUNK at a time
    with everything their text needs (intents, item states, people), outside any write
    transaction; then, per message: drop the intents no longer due, render, send, and mark it
    sent in one short transaction. A crash between the send and that commit leaves the
    message open, and the next run sends it again with the same key.
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
        self.report = DeliveryReport(channel=channel.name.value)

    def run(self) -> DeliveryReport:
        with channel_lock(self.engine, self.channel.name.value) as marks:
            # Read under the lock: what an earlier holder sent is no longer due.
            with session_factory(self.engine)() as session:
                ids = due_message_ids(
                    session=session, channel=self.channel.name.value, now=self.now
                )
            if not ids:
                return self.report
            try:
                self.channel.prepare()
                for start in range(0, len(ids), CHUNK):
                    messages, states = self._read(ids[start : start + CHUNK])
                    for message in messages:
                        stop = self._deliver(marks, message, states)
                        if stop is not None:
                            self._fail_rest(marks, ids, stop)
                            return self.report
            except ChannelUnavailable as error:  # prepare() could not get credentials
                self._fail_rest(marks, ids, error)
            finally:
                self.channel.close()
        return self.report

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
            self.channel.prepare(renew=True)
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
            marks.failed(
                message_id=message.id,
                now=self.now,
                error=redact(error.reason),
                retry_at=None,
                tried=tried,
            )
            self.report.dead.append(message.key)
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
        when = retry_at(message.attempts + 1, self.now, self.policy)
        marks.failed(
            message_id=message.id,
            now=self.now,
            error=redact(error.reason),
            retry_at=when,
            tried=tried,
        )
        (self.report.failed if when is not None else self.report.dead).append(message.key)

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

    def _fail_rest(self, marks: Marks, ids: list[int], error: ChannelUnavailable) -> None:
        """The channel is down: every message not yet handled gets the error and a retry time.

        Messages handled in this run are no longer due (sent, cancelled, or due later).
        """
        self.report.stopped = redact(error.reason)
        for start in range(0, len(ids), CHUNK):
            with session_factory(self.engine)() as session:
                rest = due_messages(session=session, ids=ids[start : start + CHUNK], now=self.now)
            for m in rest:
                message = _Due(m.id, m.key, m.channel, m.address, m.attempts, None, [])
                if isinstance(error, RateLimited):
                    self._deferred(marks, message, error)
                else:
                    self._failed(marks, message, error)

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
    if not sending_window_open(now, calendar, settings.escalation):
        return DeliveryReport(channel=channel.name.value, stopped="outside working hours")
    return Deliverer(
        engine=engine, channel=channel, now=now, calendar=calendar, settings=settings
    ).run()


# --- one run, without Prefect -----------------------------------------------------------


@dataclass(frozen=True)
class RunReport:
    """What one check did: whether it could send, what it decided, what each channel did."""

    as_of: datetime
    sending: bool
    recorded: Recorded | None
    deliveries: list[DeliveryReport]


def run_once(*, engine: Engine, settings: Settings, now: datetime) -> RunReport:
    """Decide, record, deliver on every enabled channel: the daily check in one process."""
    with session_factory(engine)() as session:
        calendar = load_calendar(session=session)
    if not sending_window_open(now, calendar, settings.escalation):
        return RunReport(as_of=now, sending=False, recorded=None, deliveries=[])
    names = enabled_channels(settings)
    recorded = decide_and_record(
        engine=engine,
        now=now,
        channels=[n.value for n in names],
        webhooks=list(settings.webhooks),
    )
    deliveries = [
        deliver(
            engine=engine,
            channel=build_channel(name, settings=settings, engine=engine, now=now),
            now=now,
            settings=settings,
        )
        for name in names
    ]
    return RunReport(as_of=now, sending=True, recorded=recorded, deliveries=deliveries)
