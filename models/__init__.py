"""Database models, sessions, queries and migrations."""

from models.access import AccessToken, AuditEvent, WebSession
from models.adhoc import AdHocRequest
from models.base import Base
from models.calendar import CalendarOverrideRow
from models.intake import PeriodLock
from models.items import DueItem, ItemKind
from models.org import Person, PersonRole, Unit, UnitKind
from models.outbox import ChannelToken, OutboxIntent, OutboxMessage
from models.plan import (
    Aggregation,
    Deliverable,
    Obligation,
    ObligationKind,
    ObligationTarget,
    Plan,
    PlanTask,
    Target,
    TargetKind,
)
from models.status import ItemException
from models.submissions import Attachment, ProgressState, Submission, SubmissionValue

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
    "DueItem",
    "ItemException",
    "ItemKind",
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
    "Submission",
    "SubmissionValue",
    "Target",
    "TargetKind",
    "Unit",
    "UnitKind",
    "WebSession",
]
