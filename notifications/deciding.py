"""Deciding: which rungs are newly due as of an instant, recorded once in the outbox, and which
unsent intents are no longer due.

`record_decision` is one transaction: it computes every rung due and not yet recorded, cancels
what is no longer due and inserts the new intents (unique per item, step, deadline, recipient,
channel) with one pending digest per recipient and channel. Deciding again finds the intents
recorded and adds nothing; a concurrent decision that commits first makes ours fail on the
unique key, and we decide again.
"""

from __future__ import annotations

import logging
from array import array
from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import NamedTuple

from sqlalchemy import ColumnElement, Engine, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models.calendar import load_calendar
from models.db import chunked, transaction
from models.items import DueItem, PeriodLock
from models.org import Unit
from models.outbox import OPEN_STATUSES, OutboxIntent
from models.plan_years import closed_plan_ids
from notifications.channels import ChannelName
from notifications.crash_points import crash_point
from notifications.outbox import IntentDraft, cancel_intents, record_intents, recorded_keys
from notifications.routing import People, PersonInfo, Route, load_people, load_routes
from schedules.calendar import WorkCalendar, local_date
from schedules.escalation import OVERDUE, REMINDER, DueRung, Rung, due_rungs, place_ladder
from settings import EscalationSettings
from status.states import ItemState, ItemStatus, item_states

log = logging.getLogger(__name__)

SUBSCRIBER = "subscriber"
OWED = (ItemStatus.NOT_YET_OPEN, ItemStatus.OPEN, ItemStatus.OVERDUE)
WEBHOOK = ChannelName.WEBHOOK.value
DECIDE_CHUNK = 1_000  # items whose states and routes a decision holds at once (~4 MiB)
CHASE_WORKING_DAYS = EscalationSettings().chase_working_days


@dataclass(frozen=True)
class Unreachable:
    """A rung due for an audience nobody can be reached in (no person, or no address)."""

    item_key: str
    unit_name: str
    step_code: str
    audience: str
    why: str


@dataclass(frozen=True)
class GapKind:
    """The gaps of one kind (audience, why): how many, and one for an example."""

    audience: str
    why: str
    count: int
    example: Unreachable


@dataclass(frozen=True)
class Decision:
    """What is newly due as of an instant, before it is recorded."""

    as_of: datetime
    drafts: list[IntentDraft]
    unreachable: list[Unreachable]

    def gap_kinds(self) -> list[GapKind]:
        """The gaps grouped by (audience, why), in that order: a province has thousands a day."""
        counts = Counter((gap.audience, gap.why) for gap in self.unreachable)
        examples: dict[tuple[str, str], Unreachable] = {}
        for gap in self.unreachable:
            examples.setdefault((gap.audience, gap.why), gap)
        return [
            GapKind(audience, why, count, examples[audience, why])
            for (audience, why), count in sorted(counts.items())
        ]


@dataclass(frozen=True)
class Chase:
    """Which items are still chased: `conditions` on DueItem (SQL), then `keeps` on a state."""

    conditions: list[ColumnElement[bool]]
    oldest_deadline: date

    def keeps(self, state: ItemState) -> bool:
        # The effective deadline (an extension moves it), so this one is read from the state.
        return state.deadline_on >= self.oldest_deadline


def chased(
    *, session: Session, now: datetime, calendar: WorkCalendar, chase_working_days: int
) -> Chase:
    """Which items are still chased as of `now`.

    Not once the period is closed: its plan's year is over (`models.plan_years`: the year
    report compiled) or the period is locked (`dondoc period lock`). Not once the deadline is
    more than `chase_working_days` working days past. Statuses do not change: late is still
    late on the pages and in the reports, just no longer chased.
    """
    today = local_date(now)
    closed = closed_plan_ids(session=session, calendar=calendar, today=today)
    locked = (
        select(PeriodLock.id)
        .where(
            or_(
                PeriodLock.obligation_id == DueItem.obligation_id,
                PeriodLock.deliverable_id == DueItem.deliverable_id,
            ),
            PeriodLock.period_label.is_not_distinct_from(DueItem.period_label),
        )
        .exists()
    )
    oldest = calendar.add_working_days(today, -chase_working_days)
    return Chase(
        conditions=[DueItem.plan_id.not_in(closed), ~locked],
        oldest_deadline=date(oldest.year, oldest.month, oldest.day),
    )


def live_item_ids(*, session: Session, chasing: Iterable[ColumnElement[bool]] = ()) -> array[int]:
    """Every item not withdrawn (and still chased: `chasing`), in the order `item_states`
    lists them, as a compact array (8 bytes an item: 1 MB for a 10,000-commune province's
    year), fetched in batches."""
    return array(
        "q",
        session.scalars(
            select(DueItem.id)
            .join(Unit, Unit.id == DueItem.unit_id)
            .where(DueItem.withdrawn_at.is_(None), *chasing)
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
    chase_working_days: int = CHASE_WORKING_DAYS,
) -> Decision:
    """Every rung due as of `now` and not recorded yet, as intents per recipient and channel,
    for the items still chased (`chased`).

    Set-based and streamed: the items are taken DECIDE_CHUNK at a time (their states, routes
    and recorded intents: three queries a chunk), so memory stays flat whatever the number
    of units; only the decision itself (drafts and gaps) grows, with what is due.
    """
    decider = _Decider(
        people=load_people(session=session),
        now=now,
        calendar=calendar,
        person_channels=[c for c in channels if c != WEBHOOK],
        webhooks=list(webhooks),
    )
    chasing = chased(
        session=session, now=now, calendar=calendar, chase_working_days=chase_working_days
    )
    ids = live_item_ids(session=session, chasing=chasing.conditions)
    for start in range(0, len(ids), DECIDE_CHUNK):
        states = item_states(
            session=session,
            as_of=now,
            calendar=calendar,
            item_ids=ids[start : start + DECIDE_CHUNK],
        )
        owed = [s for s in states if s.status in OWED and chasing.keeps(s)]
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
        self._seen: set[tuple[int, str, date, str, str]] = set()
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
        self._seen = seen
        for state in states:
            route = routes[state.item_id]
            due = due_rungs(
                self._placed(route, state.deadline_on),
                today=self.today,
                deadline_passed=self.now > state.deadline_at,
            )
            for d in due:
                self._to_people(state, route, d)
            for rung in dict.fromkeys(d.rung for d in due):  # a webhook gets each rung once
                for name in self.webhooks:
                    self._add(state, rung, SUBSCRIBER, None, f"webhook:{name}", WEBHOOK, name)

    def _placed(self, route: Route, deadline_on: date) -> list[Rung]:
        key = (tuple((s.code, s.offset, s.kind, tuple(s.to)) for s in route.ladder), deadline_on)
        if key not in self.placed:
            self.placed[key] = place_ladder(route.ladder, deadline_on, self.calendar)
        return self.placed[key]

    def _to_people(self, state: ItemState, route: Route, due: DueRung) -> None:
        """One intent per person of the rung's audience and channel they have an address on."""
        persons: list[PersonInfo] = self.people.for_audience(route, due.audience)
        if not persons:
            self._gap(state, due, "no_person")
        for person in persons:
            addresses = person.addresses(self.person_channels)
            if not addresses:
                self._gap(state, due, "no_address")
            for channel, address in addresses.items():
                self._add(
                    state, due.rung, due.audience, person.id, person.recipient_key, channel, address
                )

    def _gap(self, state: ItemState, due: DueRung, why: str) -> None:
        self.unreachable.append(
            Unreachable(state.key, state.unit_name, due.rung.code, due.audience, why)
        )

    def _add(
        self,
        state: ItemState,
        rung: Rung,
        audience: str,
        person_id: int | None,
        recipient_key: str,
        channel: str,
        address: str,
    ) -> None:
        draft = IntentDraft(
            item_id=state.item_id,
            step_code=rung.code,
            step_kind=rung.kind,
            step_on=rung.day,
            deadline_on=state.deadline_on,
            audience=audience,
            recipient_key=recipient_key,
            person_id=person_id,
            channel=channel,
            address=address,
        )
        if draft.unique_key not in self._seen:
            self._seen.add(draft.unique_key)
            self.drafts.append(draft)


@dataclass(frozen=True)
class Recorded:
    """What one decision wrote."""

    decision: Decision
    message_ids: list[int]


def record_decision(
    *,
    engine: Engine,
    now: datetime,
    channels: Collection[str],
    webhooks: Collection[str] = (),
    chase_working_days: int = CHASE_WORKING_DAYS,
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
                    chase_working_days=chase_working_days,
                )
                cancel_stale(
                    session=session,
                    now=now,
                    calendar=calendar,
                    chase_working_days=chase_working_days,
                )
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


# --- what is no longer due --------------------------------------------------------------

_STALE_VI = {
    "gone": "Việc không còn trong kế hoạch",
    "submitted": "Đơn vị đã gửi",
    "excused": "Đơn vị được miễn",
    "moved": "Hạn đã thay đổi",
    "overtaken": "Đã quá hạn: nhắc trước hạn không còn phù hợp",
    "not_overdue": "Chưa quá hạn",
    "not_chased": "Không còn đôn đốc: kỳ báo cáo đã đóng hoặc đã quá hạn quá lâu",
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


class OpenIntent(NamedTuple):
    """An unsent intent, as much of it as `stale_reason` needs."""

    id: int
    item_id: int
    step_kind: str
    deadline_on: date


def stale_intents(
    intents: Iterable[OutboxIntent | OpenIntent], states: dict[int, ItemState], now: datetime
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


def cancel_stale(
    *,
    session: Session,
    now: datetime,
    calendar: WorkCalendar,
    chase_working_days: int = CHASE_WORKING_DAYS,
) -> int:
    """Cancel every unsent intent no longer due (e.g. the unit has submitted, or its period is
    no longer chased); how many.

    Only the items of open intents are looked at, DECIDE_CHUNK at a time.
    """
    chasing = chased(
        session=session, now=now, calendar=calendar, chase_working_days=chase_working_days
    )
    by_item: dict[int, list[OpenIntent]] = {}
    for row in session.execute(
        select(
            OutboxIntent.id, OutboxIntent.item_id, OutboxIntent.step_kind, OutboxIntent.deadline_on
        ).where(OutboxIntent.status.in_(OPEN_STATUSES))
    ):
        intent = OpenIntent(*row)
        by_item.setdefault(intent.item_id, []).append(intent)
    stale: dict[str, list[int]] = {}
    for chunk in chunked(by_item, DECIDE_CHUNK):
        states = {
            s.item_id: s
            for s in item_states(session=session, as_of=now, calendar=calendar, item_ids=chunk)
        }
        open_ids = select(DueItem.id).where(DueItem.id.in_(chunk), *chasing.conditions)
        still = {
            i for i in session.scalars(open_ids) if i not in states or chasing.keeps(states[i])
        }
        chunk_intents = [intent for item_id in chunk for intent in by_item[item_id]]
        cancelled: set[int] = set()
        for reason, ids in stale_intents(chunk_intents, states, now).items():
            stale.setdefault(reason, []).extend(ids)
            cancelled.update(ids)
        # What is still due by the ladder's own rules, but of a period no longer chased.
        not_chased = [
            i.id for i in chunk_intents if i.item_id not in still and i.id not in cancelled
        ]
        if not_chased:
            stale.setdefault(_STALE_VI["not_chased"], []).extend(not_chased)
    for reason, ids in stale.items():
        cancel_intents(session=session, intent_ids=ids, now=now, reason=reason)
    return sum(len(ids) for ids in stale.values())
