"""Database models, sessions, queries and migrations."""

from models.access import AccessToken, AuditEvent, WebSession
from models.adhoc import AdHocRequest
from models.base import Base
from models.calendar import CalendarOverrideRow
from models.items import DueItem, PeriodLock
from models.marks import DeskMark
from models.org import Person, Unit
from models.outbox import ChannelToken, FlowOutage, OutboxIntent, OutboxMessage, RunAlert
from models.plan import Deliverable, Obligation, ObligationTarget, Plan, PlanTask, Target
from models.reliefs import ItemRelief
from models.submissions import Attachment, Submission, SubmissionValue
from plans.vocabulary import (
    Aggregation,
    ItemKind,
    ObligationKind,
    PersonRole,
    ProgressState,
    TargetKind,
    UnitKind,
)

__all__ = [
    "AccessToken",
    "AdHocRequest",
    "Aggregation",
    "Attachment",
    "AuditEvent",
    "Base",
    "CalendarOverrideRow",
    "ChannelToken",
    "Deliverable",
    "DeskMark",
    "DueItem",
    "FlowOutage",
    "ItemKind",
    "ItemRelief",
    "Obligation",
    "ObligationKind",
    "ObligationTarget",
    "OutboxIntent",
    "OutboxMessage",
    "PeriodLock",
    "Person",
    "PersonRole",
    "Plan",
    "PlanTask",
    "ProgressState",
    "RunAlert",
    "Submission",
    "SubmissionValue",
    "Target",
    "TargetKind",
    "Unit",
    "UnitKind",
    "WebSession",
]
