"""Database models, sessions, queries and migrations."""

from models.base import Base
from models.calendar import CalendarOverrideRow
from models.items import DueItem, ItemKind
from models.org import Person, PersonRole, Unit, UnitKind
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
    "Aggregation",
    "Attachment",
    "Base",
    "CalendarOverrideRow",
    "Deliverable",
    "DueItem",
    "ItemException",
    "ItemKind",
    "Obligation",
    "ObligationKind",
    "ObligationTarget",
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
]
