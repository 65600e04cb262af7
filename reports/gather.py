"""What the report reads besides figures: narratives, deliverable progress, reporting status."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.calendar import load_calendar
from models.db import chunked
from models.items import DueItem
from models.org import Unit
from models.plan import Deliverable, Obligation, ObligationTarget, PlanTask, Target
from models.queries import latest_accepted
from models.submissions import Submission
from plans.vocabulary import ItemKind, ProgressState
from reports.reported import counted_versions, report_items
from schedules.calendar import local_date
from status.states import ItemState, item_states
from wording.collation import sort_key


@dataclass(frozen=True)
class NarrativeEntry:
    """The narrative sections of one item's latest accepted submission."""

    unit_code: str
    unit_name: str
    obligation_code: str
    target_codes: tuple[str, ...]  # what the obligation's report carries
    period_label: str
    window_end: date
    sections: tuple[tuple[str, str], ...]  # (section title, text), non-empty texts only


def narratives(
    *, session: Session, plan_id: int, labels: Iterable[str], as_of: datetime
) -> list[NarrativeEntry]:
    """Narratives of the latest accepted versions of the periods' report items."""
    latest = counted_versions(plan_id=plan_id, labels=labels, as_of=as_of)
    # Only the narrative column: loading whole submissions took 11 s for 10,000 communes.
    rows = session.execute(
        select(
            DueItem.period_label,
            DueItem.window_end,
            Unit.code,
            Unit.name,
            Obligation.code,
            Obligation.id,
            Submission.narrative,
        )
        .select_from(latest)
        .join(Submission, Submission.id == latest.c.submission_id)
        .join(DueItem, DueItem.id == latest.c.item_id)
        .join(Unit, Unit.id == DueItem.unit_id)
        .join(Obligation, Obligation.id == DueItem.obligation_id)
        .order_by(DueItem.window_end, Unit.name, DueItem.id)
    ).all()
    carried: dict[int, tuple[str, ...]] = {}
    obligation_ids = {row[5] for row in rows}
    if obligation_ids:
        for obligation_id, code in session.execute(
            select(ObligationTarget.obligation_id, Target.code)
            .join(Target, Target.id == ObligationTarget.target_id)
            .where(ObligationTarget.obligation_id.in_(obligation_ids))
            .order_by(ObligationTarget.position)
        ):
            carried[obligation_id] = (*carried.get(obligation_id, ()), code)
    entries = []
    for label, window_end, unit_code, unit_name, obligation_code, obligation_id, told in rows:
        sections = tuple(
            (str(title), str(text).strip())
            for title, text in (told or {}).items()
            if isinstance(text, str) and text.strip()
        )
        entries.append(
            NarrativeEntry(
                unit_code=unit_code,
                unit_name=unit_name,
                obligation_code=obligation_code,
                target_codes=carried.get(obligation_id, ()),
                period_label=label or "",
                window_end=window_end,
                sections=sections,
            )
        )
    # Units in Vietnamese alphabetical order within a period (the database orders code points).
    return sorted(entries, key=lambda e: (e.window_end, sort_key(e.unit_name)))


@dataclass(frozen=True)
class DeliverableProgress:
    """Where one unit stands on one deliverable, from its latest accepted progress update."""

    deliverable_code: str
    title: str
    task_code: str | None
    unit_code: str
    unit_name: str
    deadline_on: date
    deadline_at: datetime
    state: str | None  # ProgressState value, None when nothing was reported
    done_on: date | None

    def is_done(self) -> bool:
        return self.state == ProgressState.DONE

    def is_overdue(self, as_of: datetime) -> bool:
        return not self.is_done() and as_of > self.deadline_at

    def done_late(self) -> bool:
        return self.done_on is not None and self.done_on > self.deadline_on


def deliverable_progress(
    *, session: Session, plan_id: int, as_of: datetime
) -> list[DeliverableProgress]:
    """Every unit's standing on every deliverable of the plan, as of an instant."""
    rows = session.execute(
        select(
            DueItem.id,
            Deliverable.code,
            Deliverable.title,
            PlanTask.code,
            Unit.code,
            Unit.name,
            DueItem.deadline_on,
            DueItem.deadline_at,
        )
        .join(DueItem, DueItem.deliverable_id == Deliverable.id)
        .join(Unit, Unit.id == DueItem.unit_id)
        .outerjoin(PlanTask, PlanTask.id == Deliverable.task_id)
        .where(
            DueItem.plan_id == plan_id,
            DueItem.kind == ItemKind.DELIVERABLE.value,
            DueItem.withdrawn_at.is_(None),
        )
        .order_by(DueItem.deadline_on, Deliverable.id, Unit.name)
    ).all()
    latest = latest_accepted([r[0] for r in rows], session=session, as_of=as_of)
    result = []
    for item_id, code, title, task, unit_code, unit_name, on, at in rows:
        current = latest.get(item_id)
        state = current.progress_state if current else None
        done_on = None
        if current is not None and state == ProgressState.DONE:
            # The unit's own completion date when given, else the day it told us.
            done_on = current.progress_on or local_date(current.received_at)
        result.append(
            DeliverableProgress(code, title, task, unit_code, unit_name, on, at, state, done_on)
        )
    order = {code: i for i, code in enumerate(dict.fromkeys(r.deliverable_code for r in result))}
    return sorted(
        result, key=lambda d: (d.deadline_on, order[d.deliverable_code], sort_key(d.unit_name))
    )


def reporting_states(
    *, session: Session, plan_id: int, labels: Iterable[str], as_of: datetime
) -> list[ItemState]:
    """Status of every report item of the periods (on time, late, overdue...): status.states."""
    ids = session.scalars(select(DueItem.id).where(*report_items(plan_id, labels))).all()
    if not ids:
        return []
    calendar = load_calendar(session=session)
    states: list[ItemState] = []
    for chunk in chunked(ids):
        states += item_states(session=session, as_of=as_of, calendar=calendar, item_ids=chunk)
    return sorted(states, key=lambda s: (s.deadline_at, sort_key(s.unit_name), s.item_id))


def data_window(
    *, session: Session, plan_id: int, labels: Iterable[str]
) -> tuple[date, date] | None:
    """The first and last day of data the periods' report items cover."""
    start, end = session.execute(
        select(func.min(DueItem.window_start), func.max(DueItem.window_end)).where(
            *report_items(plan_id, labels)
        )
    ).one()
    return (start, end) if start is not None and end is not None else None
