"""The plan: targets, assigned tasks, one-off deliverables and reporting obligations."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base
from models.org import Person, Unit


class Plan(Base):
    """A yearly plan (kế hoạch) issued by a People's Committee."""

    __tablename__ = "plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    number: Mapped[str | None] = mapped_column(String(64))
    issuer_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    issued_on: Mapped[date | None] = mapped_column(Date)
    year: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    place: Mapped[str] = mapped_column(String(128))
    legal_bases: Mapped[list[str]] = mapped_column(JSON, default=list)
    distribution: Mapped[list[str]] = mapped_column(JSON, default=list)
    signer_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    signer_title: Mapped[str | None] = mapped_column(String(255))
    source: Mapped[str | None] = mapped_column(Text)
    sample_note: Mapped[str | None] = mapped_column(Text)
    sample_fields: Mapped[list[str]] = mapped_column(JSON, default=list)

    issuer: Mapped[Unit] = relationship()
    signer: Mapped[Person | None] = relationship()


class Target(Base):
    """An indicator with an annual goal (chỉ tiêu)."""

    __tablename__ = "targets"
    __table_args__ = (UniqueConstraint("plan_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(Text)
    unit_of_measure: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    comparator: Mapped[str | None] = mapped_column(String(4))
    goal_number: Mapped[Decimal | None] = mapped_column(Numeric(20, 6))
    goal_upper: Mapped[Decimal | None] = mapped_column(Numeric(20, 6))  # a range's upper bound
    goal_text: Mapped[str | None] = mapped_column(Text)
    baseline: Mapped[Decimal | None] = mapped_column(Numeric(20, 6))  # a reduction's base
    aggregation: Mapped[str] = mapped_column(String(16))
    numerator_code: Mapped[str | None] = mapped_column(String(64))
    denominator_code: Mapped[str | None] = mapped_column(String(64))
    sample_note: Mapped[str | None] = mapped_column(Text)


plan_task_coordinators = Table(
    "plan_task_coordinators",
    Base.metadata,
    Column("task_id", ForeignKey("plan_tasks.id", ondelete="CASCADE"), primary_key=True),
    Column("unit_id", ForeignKey("units.id"), primary_key=True),
)

plan_task_targets = Table(
    "plan_task_targets",
    Base.metadata,
    Column("task_id", ForeignKey("plan_tasks.id", ondelete="CASCADE"), primary_key=True),
    Column("target_id", ForeignKey("targets.id"), primary_key=True),
)


class PlanTask(Base):
    """A task the plan assigns (nhiệm vụ), with its leader, lead and coordinating units."""

    __tablename__ = "plan_tasks"
    __table_args__ = (UniqueConstraint("plan_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    code: Mapped[str] = mapped_column(String(64))
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    leader_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    lead_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    # The plan's own wording is kept verbatim; the unit links are for routing.
    leader_text: Mapped[str | None] = mapped_column(Text)
    lead_unit_text: Mapped[str | None] = mapped_column(Text)
    coordinating_text: Mapped[str | None] = mapped_column(Text)
    funding_sources: Mapped[list[str]] = mapped_column(JSON, default=list)
    solutions: Mapped[list[str]] = mapped_column(JSON, default=list)
    notes: Mapped[str | None] = mapped_column(Text)

    leader: Mapped[Person | None] = relationship()
    lead_unit: Mapped[Unit] = relationship()
    coordinating_units: Mapped[list[Unit]] = relationship(secondary=plan_task_coordinators)
    targets: Mapped[list[Target]] = relationship(secondary=plan_task_targets)


deliverable_assignees = Table(
    "deliverable_assignees",
    Base.metadata,
    Column("deliverable_id", ForeignKey("deliverables.id", ondelete="CASCADE"), primary_key=True),
    Column("unit_id", ForeignKey("units.id"), primary_key=True),
)


class Deliverable(Base):
    """A one-off piece of work with a deadline, e.g. a commune's poverty-reduction plan."""

    __tablename__ = "deliverables"
    __table_args__ = (UniqueConstraint("plan_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    code: Mapped[str] = mapped_column(String(64))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("plan_tasks.id"))
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    recipient_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    assignee_text: Mapped[str | None] = mapped_column(Text)
    starts_on: Mapped[date | None] = mapped_column(Date)  # the plan's `from`
    due_on: Mapped[date] = mapped_column(Date)
    escalation: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    sample_note: Mapped[str | None] = mapped_column(Text)

    task: Mapped[PlanTask | None] = relationship()
    assignees: Mapped[list[Unit]] = relationship(secondary=deliverable_assignees)


obligation_reporters = Table(
    "obligation_reporters",
    Base.metadata,
    Column("obligation_id", ForeignKey("obligations.id", ondelete="CASCADE"), primary_key=True),
    Column("unit_id", ForeignKey("units.id"), primary_key=True),
)


class ObligationTarget(Base):
    """A target an obligation's report carries, and whether a value is required."""

    __tablename__ = "obligation_targets"

    obligation_id: Mapped[int] = mapped_column(
        ForeignKey("obligations.id", ondelete="CASCADE"), primary_key=True
    )
    target_id: Mapped[int] = mapped_column(ForeignKey("targets.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    required: Mapped[bool] = mapped_column(Boolean, default=True)

    target: Mapped[Target] = relationship()


class ObligationRecipient(Base):
    """A unit an obligation's report goes to; position 0 is the main recipient."""

    __tablename__ = "obligation_recipients"

    obligation_id: Mapped[int] = mapped_column(
        ForeignKey("obligations.id", ondelete="CASCADE"), primary_key=True
    )
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)

    unit: Mapped[Unit] = relationship()


class Obligation(Base):
    """A reporting duty: who reports what to whom, how often, by when."""

    __tablename__ = "obligations"
    __table_args__ = (UniqueConstraint("plan_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    code: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16))
    cadence: Mapped[str | None] = mapped_column(String(16))  # None for ad-hoc obligations
    window_convention: Mapped[str] = mapped_column(String(16))
    deadline_rule: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    recipient_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    via_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    reporters_text: Mapped[str | None] = mapped_column(Text)
    narrative_sections: Mapped[list[str]] = mapped_column(JSON, default=list)
    escalation: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    basis: Mapped[str | None] = mapped_column(Text)  # the plan's sentence that creates the duty
    # The plan's `from` and `until`: the days the duty applies (None: the whole plan year).
    starts_on: Mapped[date | None] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    sample_note: Mapped[str | None] = mapped_column(Text)

    # The main recipient (the first the plan names); `recipients` lists them all.
    recipient_unit: Mapped[Unit] = relationship(foreign_keys=[recipient_unit_id])
    recipients: Mapped[list[ObligationRecipient]] = relationship(
        order_by=ObligationRecipient.position, cascade="all, delete-orphan"
    )
    via_person: Mapped[Person | None] = relationship()
    reporters: Mapped[list[Unit]] = relationship(secondary=obligation_reporters)
    targets: Mapped[list[ObligationTarget]] = relationship(
        order_by=ObligationTarget.position, cascade="all, delete-orphan"
    )
