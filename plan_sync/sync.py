"""Stores a validated plan file: idempotent upserts by code, never deleting attached data."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from models.base import Base
from models.calendar import CalendarOverrideRow, stored_overrides
from models.items import DueItem
from models.org import Person, Unit
from models.plan import (
    Deliverable,
    Obligation,
    ObligationRecipient,
    ObligationTarget,
    Plan,
    PlanTask,
    Target,
)
from plan_sync.calendar import sync_national_calendar
from plans.dues import PLAN_ITEM_PREFIXES, Due, compute_dues
from plans.loader import expand_units
from plans.schema import ObligationEntry, PlanFile
from schedules.calendar import CalendarOverride, WorkCalendar

M = TypeVar("M", bound=Base)
_ITEM_BATCH = 5000


class SyncCounter:
    """Counts created / updated / unchanged rows per table, for the user and for tests."""

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, str]] = Counter()

    def add(self, table: str, outcome: str) -> None:
        self.counts[(table, outcome)] += 1

    def total(self, outcome: str) -> int:
        return sum(n for (_, o), n in self.counts.items() if o == outcome)

    def as_rows(self) -> list[tuple[str, int, int, int, int]]:
        tables = sorted({t for t, _ in self.counts})
        return [
            (
                t,
                self.counts[(t, "created")],
                self.counts[(t, "updated")],
                self.counts[(t, "unchanged")],
                self.counts[(t, "withdrawn")],
            )
            for t in tables
        ]


class _Stored(Generic[M]):
    """The rows of one table already stored, by natural key: one SELECT for the whole table,
    not one per row of the plan (a province's plan has thousands of units)."""

    def __init__(self, session: Session, model: type[M], key: tuple[str, ...], *where: Any):
        self.model = model
        self.key = key
        self.rows: dict[tuple[Any, ...], M] = {
            tuple(getattr(row, k) for k in key): row
            for row in session.scalars(select(model).where(*where))
        }


def _upsert(
    session: Session,
    stored: _Stored[M],
    where: dict[str, Any],
    values: dict[str, Any],
    counter: SyncCounter,
) -> M:
    """Find a row by `where`; create it or set only the values that differ.

    New rows get their ids at the caller's next flush (one per table, not one per row).
    """
    key = tuple(where[k] for k in stored.key)
    row = stored.rows.get(key)
    table = stored.model.__tablename__
    if row is None:
        row = stored.model(**where, **values)
        session.add(row)
        stored.rows[key] = row
        counter.add(table, "created")
        return row
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    counter.add(table, "updated" if changed else "unchanged")
    return row


def _set_members(row: Any, attribute: str, wanted: list[Any], counter: SyncCounter) -> None:
    current = getattr(row, attribute)
    if {x.id for x in current} != {x.id for x in wanted}:
        setattr(row, attribute, wanted)
        counter.add(f"{row.__tablename__}.{attribute}", "updated")


def sync_plan(plan: PlanFile, dues: list[Due], *, session: Session, now: datetime) -> SyncCounter:
    """Write the plan and its items due; the caller commits. Loading twice changes nothing.

    Tables go in the order their links need; a flush between them gives new rows their ids.
    """
    counter = SyncCounter()
    units = _sync_units(plan, session=session, counter=counter)
    people = _sync_people(plan, units, session=session, counter=counter)
    session.flush()
    pid = _sync_plan_row(plan, units, people, session=session, counter=counter)
    _sync_calendar(plan, pid, session=session, counter=counter)
    targets = _sync_targets(plan, pid, session=session, counter=counter)
    session.flush()  # member lists below compare ids
    tasks = _sync_tasks(plan, pid, units, people, targets, session=session, counter=counter)
    session.flush()
    deliverables = _sync_deliverables(plan, pid, units, tasks, session=session, counter=counter)
    obligations = _sync_obligations(
        plan, pid, units, people, targets, session=session, counter=counter
    )
    session.flush()  # ids of new obligations and deliverables, for the items
    _sync_items(
        plan_id=pid,
        dues=dues,
        units=units,
        obligations=obligations,
        deliverables=deliverables,
        session=session,
        now=now,
        counter=counter,
    )
    session.flush()
    return counter


def _sync_units(plan: PlanFile, *, session: Session, counter: SyncCounter) -> dict[str, Unit]:
    """The units by code, then their parent and successor links (flushed for the ids)."""
    stored_units = _Stored(session, Unit, ("code",))
    units: dict[str, Unit] = {}
    for u in plan.units:
        units[u.code] = _upsert(
            session,
            stored_units,
            {"code": u.code},
            {
                "name": u.name,
                "short_name": u.short_name,
                "abbreviation": u.abbreviation,
                "kind": u.kind.value,
                "valid_from": u.valid_from,
                "valid_to": u.valid_to,
                "email": u.email,
                "phone": u.phone,
                "address": u.address,
                "sample_note": u.sample,
            },
            counter,
        )
    session.flush()  # ids for the links, once for the whole table
    for u in plan.units:  # links need every unit to exist first
        unit_row = units[u.code]
        parent_id = units[u.parent].id if u.parent else None
        successor_id = units[u.successor].id if u.successor else None
        if (unit_row.parent_id, unit_row.successor_id) != (parent_id, successor_id):
            unit_row.parent_id, unit_row.successor_id = parent_id, successor_id
            counter.add("units.links", "updated")
    return units


def _sync_people(
    plan: PlanFile, units: dict[str, Unit], *, session: Session, counter: SyncCounter
) -> dict[str, Person]:
    """The people by code."""
    stored_people = _Stored(session, Person, ("code",))
    people: dict[str, Person] = {}
    for p in plan.people:
        people[p.code] = _upsert(
            session,
            stored_people,
            {"code": p.code},
            {
                "unit_id": units[p.unit].id,
                "full_name": p.name,
                "title": p.title,
                "role": p.role.value,
                "email": p.email,
                "phone": p.phone,
                "zalo_user_id": p.zalo_user_id,
                "zalo_chat_id": p.zalo_chat_id,
                "sample_note": p.sample,
            },
            counter,
        )
    return people


def _sync_plan_row(
    plan: PlanFile,
    units: dict[str, Unit],
    people: dict[str, Person],
    *,
    session: Session,
    counter: SyncCounter,
) -> int:
    """The plan's own row (its header); returns its id."""
    h = plan.plan
    plan_row = _upsert(
        session,
        _Stored(session, Plan, ("code",), Plan.code == h.code),
        {"code": h.code},
        {
            "number": h.number,
            "issuer_unit_id": units[h.issuer].id,
            "issued_on": h.issued_on,
            "year": h.year,
            "title": h.title,
            "place": h.place,
            "legal_bases": list(h.legal_bases),
            "distribution": list(h.distribution),
            "signer_id": people[h.signer].id if h.signer else None,
            "signer_title": h.signer_title,
            "source": h.source,
            "sample_note": h.sample,
            "sample_fields": list(h.sample_fields),
        },
        counter,
    )
    session.flush()
    return plan_row.id


def _sync_calendar(plan: PlanFile, pid: int, *, session: Session, counter: SyncCounter) -> None:
    """The plan's own calendar days, by day; a day an announcement settled stays as announced."""
    stored_days = _Stored(session, CalendarOverrideRow, ("day",))
    for c in plan.calendar:
        announced = stored_days.rows.get((c.date,))
        if announced is not None and announced.announcement_id is not None:
            continue
        _upsert(
            session,
            stored_days,
            {"day": c.date},
            {"kind": c.kind.value, "reason": c.reason, "plan_id": pid},
            counter,
        )


def _sync_targets(
    plan: PlanFile, pid: int, *, session: Session, counter: SyncCounter
) -> dict[str, Target]:
    """The plan's targets by code, each goal parsed into comparator, number and text."""
    stored_targets = _Stored(session, Target, ("plan_id", "code"), Target.plan_id == pid)
    targets: dict[str, Target] = {}
    for t in plan.targets:
        goal = t.parsed_goal()
        targets[t.code] = _upsert(
            session,
            stored_targets,
            {"plan_id": pid, "code": t.code},
            {
                "name": t.name,
                "unit_of_measure": t.unit_of_measure,
                "kind": t.kind.value,
                "comparator": goal.comparator,
                "goal_number": goal.number,
                "goal_upper": goal.upper,
                "goal_text": goal.text,
                "baseline": t.baseline,
                "aggregation": t.aggregation.value,
                "numerator_code": t.numerator,
                "denominator_code": t.denominator,
                "sample_note": t.sample,
            },
            counter,
        )
    return targets


def _sync_tasks(
    plan: PlanFile,
    pid: int,
    units: dict[str, Unit],
    people: dict[str, Person],
    targets: dict[str, Target],
    *,
    session: Session,
    counter: SyncCounter,
) -> dict[str, PlanTask]:
    """The plan's tasks by code, with their coordinating units and targets."""
    stored_tasks = _Stored(session, PlanTask, ("plan_id", "code"), PlanTask.plan_id == pid)
    tasks: dict[str, PlanTask] = {}
    for task in plan.tasks:
        task_row = _upsert(
            session,
            stored_tasks,
            {"plan_id": pid, "code": task.code},
            {
                "number": task.number,
                "title": task.title,
                "leader_id": people[task.leader].id if task.leader else None,
                "lead_unit_id": units[task.lead_unit].id,
                "leader_text": task.leader_text,
                "lead_unit_text": task.lead_unit_text,
                "coordinating_text": task.coordinating_text,
                "funding_sources": list(task.funding_sources),
                "solutions": list(task.solutions),
                "notes": task.notes,
            },
            counter,
        )
        _set_members(
            task_row,
            "coordinating_units",
            [units[c] for c in expand_units(plan, task.coordinating_units)],
            counter,
        )
        _set_members(task_row, "targets", [targets[c] for c in task.targets], counter)
        tasks[task.code] = task_row
    return tasks


def _sync_deliverables(
    plan: PlanFile,
    pid: int,
    units: dict[str, Unit],
    tasks: dict[str, PlanTask],
    *,
    session: Session,
    counter: SyncCounter,
) -> dict[str, Deliverable]:
    """The plan's deliverables by code, with their assignees."""
    stored_deliverables = _Stored(
        session, Deliverable, ("plan_id", "code"), Deliverable.plan_id == pid
    )
    deliverables: dict[str, Deliverable] = {}
    for d in plan.deliverables:
        deliverable_row = _upsert(
            session,
            stored_deliverables,
            {"plan_id": pid, "code": d.code},
            {
                "task_id": tasks[d.task].id if d.task else None,
                "title": d.title,
                "description": d.description,
                "recipient_unit_id": units[d.recipient].id if d.recipient else None,
                "assignee_text": d.assignee_text,
                "starts_on": d.starts_on,
                "due_on": d.due_on,
                "escalation": [s.model_dump(mode="json") for s in d.escalation]
                if d.escalation
                else [],
                "sample_note": d.sample,
            },
            counter,
        )
        _set_members(
            deliverable_row,
            "assignees",
            [units[c] for c in expand_units(plan, d.assignees)],
            counter,
        )
        deliverables[d.code] = deliverable_row
    return deliverables


def _sync_obligations(
    plan: PlanFile,
    pid: int,
    units: dict[str, Unit],
    people: dict[str, Person],
    targets: dict[str, Target],
    *,
    session: Session,
    counter: SyncCounter,
) -> dict[str, Obligation]:
    """The plan's reporting obligations by code, with their reporters and ordered targets."""
    stored_obligations = _Stored(
        session, Obligation, ("plan_id", "code"), Obligation.plan_id == pid
    )
    obligations: dict[str, Obligation] = {}
    for o in plan.obligations:
        obligation_row = _upsert(
            session,
            stored_obligations,
            {"plan_id": pid, "code": o.code},
            {
                "title": o.title,
                "kind": o.kind.value,
                "cadence": o.cadence.value if o.cadence else None,
                "window_convention": o.window.value,
                "deadline_rule": o.deadline.model_dump(mode="json", exclude_none=True)
                if o.deadline
                else None,
                "recipient_unit_id": units[o.main_recipient].id,
                "via_person_id": people[o.via].id if o.via else None,
                "reporters_text": o.reporters_text,
                "narrative_sections": list(o.narrative_sections),
                "escalation": [s.model_dump(mode="json") for s in o.escalation]
                if o.escalation
                else [],
                "basis": o.basis,
                "starts_on": o.starts_on,
                "ends_on": o.ends_on,
                "sample_note": o.sample,
            },
            counter,
        )
        _set_members(
            obligation_row,
            "reporters",
            [units[c] for c in expand_units(plan, o.reporters)],
            counter,
        )
        _set_obligation_targets(obligation_row, o, targets, counter)
        _set_obligation_recipients(obligation_row, o, units, counter)
        obligations[o.code] = obligation_row
    return obligations


def _set_obligation_targets(
    row: Obligation, obligation: ObligationEntry, targets: dict[str, Target], counter: SyncCounter
) -> None:
    """The obligation's targets, in the plan's order with their required flags."""
    wanted = [
        (targets[t.target].id, i, t.required) for i, t in enumerate(obligation.target_entries())
    ]
    if [(x.target_id, x.position, x.required) for x in row.targets] != wanted:
        row.targets = [ObligationTarget(target_id=t, position=i, required=r) for t, i, r in wanted]
        counter.add("obligation_targets", "updated")


def _set_obligation_recipients(
    row: Obligation, obligation: ObligationEntry, units: dict[str, Unit], counter: SyncCounter
) -> None:
    """Every unit the obligation's report goes to, the main recipient first."""
    wanted = [(units[code].id, i) for i, code in enumerate(obligation.recipient)]
    if [(x.unit_id, x.position) for x in row.recipients] != wanted:
        row.recipients = [ObligationRecipient(unit_id=u, position=i) for u, i in wanted]
        counter.add("obligation_recipients", "updated")


def _sync_items(
    *,
    plan_id: int,
    dues: list[Due],
    units: dict[str, Unit],
    obligations: dict[str, Obligation],
    deliverables: dict[str, Deliverable],
    session: Session,
    now: datetime,
    counter: SyncCounter,
) -> None:
    existing = {
        i.key: i
        for i in session.scalars(select(DueItem).where(DueItem.plan_id == plan_id))
        if i.key.startswith(PLAN_ITEM_PREFIXES)
    }
    new: list[dict[str, Any]] = []
    for due in dues:
        values = {
            "plan_id": plan_id,
            "kind": due.kind.value,
            "obligation_id": obligations[due.obligation].id if due.obligation else None,
            "deliverable_id": deliverables[due.deliverable].id if due.deliverable else None,
            "unit_id": units[due.unit].id,
            "period_label": due.period_label,
            "window_start": due.window.start,
            "window_end": due.window.end,
            "deadline_on": due.deadline_on,
            "deadline_at": _plain(due.deadline_at),
            "opens_at": _plain(due.opens_at),
            "withdrawn_at": None,
        }
        row = existing.pop(due.key, None)
        if row is None:
            new.append({"key": due.key, **values})
            counter.add("due_items", "created")
            continue
        changed = [k for k, v in values.items() if getattr(row, k) != v]
        for k in changed:
            setattr(row, k, values[k])
        counter.add("due_items", "updated" if changed else "unchanged")
    # New items go in as multi-row INSERTs: a year of a province is 100,000 items or more.
    # One executemany per batch (psycopg pipelines it; measured faster than multi-row
    # VALUES, whose long statements psycopg parses slowly).
    for start in range(0, len(new), _ITEM_BATCH):
        session.execute(insert(DueItem), new[start : start + _ITEM_BATCH])
    # Items the edited plan no longer asks for keep their history (submissions, messages).
    for row in existing.values():
        if row.withdrawn_at is None:
            row.withdrawn_at = now
            counter.add("due_items", "withdrawn")


def _plain(instant: datetime) -> datetime:
    """A stdlib UTC datetime: drivers bind pendulum's subclass many times slower."""
    u = instant.astimezone(UTC)
    return datetime(u.year, u.month, u.day, u.hour, u.minute, u.second, u.microsecond, tzinfo=UTC)


def load_plan(plan: PlanFile, *, session: Session, now: datetime) -> SyncCounter:
    """Compute the plan's items with the country's calendar and store all.

    The shipped announcements are stored first, so every plan sees them; a plan's own
    `calendar` days apply where no announcement settled the day.
    """
    sync_national_calendar(session=session, now=now)
    overrides = {o.day: o for o in stored_overrides(session=session)}
    for c in plan.calendar:
        known = overrides.get(c.date)
        if known is None or known.announcement is None:
            overrides[c.date] = CalendarOverride(c.date, c.kind, c.reason)
    dues = compute_dues(plan, WorkCalendar(overrides.values()))
    return sync_plan(plan, dues, session=session, now=now)
