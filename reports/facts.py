"""What a report is built from, read from the database once, as plain values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.org import Person, Unit
from models.plan import Obligation, Plan, PlanTask
from reports.figures import Figure, Tally, TargetSpec, period_labels, to_date_labels
from reports.gather import (
    DeliverableProgress,
    NarrativeEntry,
    data_window,
    deliverable_progress,
    narratives,
    reporting_states,
)
from reports.levels import Reconciliation, report_figures
from schedules.periods import Period, WindowConvention
from status.states import ItemState


@dataclass(frozen=True)
class Facts:
    """Everything read from the database, as plain values."""

    plan: Plan
    issuer: Unit
    signer: Person | None
    tasks: list[PlanTask]
    targets: list[TargetSpec]
    figures: list[Figure]
    reconciliation: tuple[Reconciliation, ...]
    values: Tally
    states: list[ItemState]
    narratives: list[NarrativeEntry]
    deliverables: list[DeliverableProgress]
    obligations: dict[str, Obligation]
    window: tuple[date, date]
    to_date_window: tuple[date, date]


def read_facts(*, session: Session, plan: Plan, period: Period, as_of: datetime) -> Facts:
    """Read what the report of `plan` for `period` needs, as units had sent it by `as_of`."""
    labels, to_date = period_labels(period), to_date_labels(period)
    levelled = report_figures(session=session, plan=plan, period=period, as_of=as_of)
    tasks = list(
        session.scalars(
            select(PlanTask).where(PlanTask.plan_id == plan.id).order_by(PlanTask.number)
        )
    )
    obligations = {
        o.code: o
        for o in session.scalars(
            select(Obligation).where(Obligation.plan_id == plan.id).order_by(Obligation.id)
        )
    }
    # Nothing due in the period: fall back on the period's Decree 09 window.
    fallback = period.window(WindowConvention.DECREE_09)
    window = data_window(session=session, plan_id=plan.id, labels=labels) or (
        fallback.start,
        fallback.end,
    )
    to_date_window = data_window(session=session, plan_id=plan.id, labels=to_date) or window
    return Facts(
        plan=plan,
        issuer=plan.issuer,
        signer=plan.signer,
        tasks=tasks,
        targets=levelled.targets,
        figures=levelled.figures,
        reconciliation=levelled.reconciliation,
        values=levelled.values,
        states=reporting_states(session=session, plan_id=plan.id, labels=labels, as_of=as_of),
        narratives=narratives(session=session, plan_id=plan.id, labels=labels, as_of=as_of),
        deliverables=deliverable_progress(session=session, plan_id=plan.id, as_of=as_of),
        obligations=obligations,
        window=window,
        to_date_window=to_date_window,
    )
