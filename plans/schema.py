"""The plan file format: pydantic models for one YAML plan file."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal, NamedTuple

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from plans.vocabulary import (
    RANGE,
    REDUCTION,
    Aggregation,
    ObligationKind,
    PersonRole,
    TargetKind,
    UnitKind,
)
from schedules.calendar import DayKind
from schedules.deadlines import Anchor, DeadlineKind, DeadlineRule, Weekday
from schedules.periods import Cadence, WindowConvention

Code = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]*$", max_length=64)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
# Marks a value the seed does not give and the project invented: say what and why.
SampleNote = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]

GOAL_PATTERN = re.compile(r"^\s*(>=|<=|>|<|=)\s*(-?\d+(?:[.,]\d+)?)\s*$")
_NUMBER = r"(\d+(?:[.,]\d+)?)"
RANGE_PATTERN = re.compile(rf"^\s*{_NUMBER}\s*(?:-|–|\.\.)\s*{_NUMBER}\s*$")  # "90-95"
REDUCTION_PATTERN = re.compile(rf"^\s*-\s*{_NUMBER}\s*%\s*$")  # "-10%": giảm 10% trở lên
GOAL_FORMS = (
    "'>= 1300' (trở lên), '<= 10' (không quá), '= 1', '90-95' (trong khoảng) "
    "hoặc '-10%' (giảm 10% trở lên so với baseline)"
)


def _decimal(text: str) -> Decimal:
    return Decimal(text.replace(",", "."))


class ParsedGoal(NamedTuple):
    """A goal as stored: comparator (plans.vocabulary RANGE, REDUCTION or one bound), number,
    upper bound (a range's), text (yes/no and text targets)."""

    comparator: str | None
    number: Decimal | None
    upper: Decimal | None
    text: str | None


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Audience(StrEnum):
    """Who an escalation step reaches, resolved to people when messages are built."""

    REPORTING_OFFICER = "reporting_officer"  # of the unit that owes the item
    UNIT_HEAD = "unit_head"  # of the unit that owes the item
    RECIPIENT_HEAD = "recipient_head"  # head of the unit the report goes to (lead department)
    LEADER_IN_CHARGE = "leader_in_charge"  # the plan task's or obligation's leader


class StepKind(StrEnum):
    REMINDER = "reminder"
    OVERDUE = "overdue"


class EscalationStep(Strict):
    """One rung: `offset` working days from the deadline day (negative: before it)."""

    code: Code
    offset: int = Field(ge=-30, le=60)
    kind: StepKind
    to: list[Audience] = Field(min_length=1)


DEFAULT_ESCALATION: tuple[EscalationStep, ...] = (
    EscalationStep(
        code="remind-3", offset=-3, kind=StepKind.REMINDER, to=[Audience.REPORTING_OFFICER]
    ),
    EscalationStep(
        code="remind-0", offset=0, kind=StepKind.REMINDER, to=[Audience.REPORTING_OFFICER]
    ),
    EscalationStep(
        code="overdue-1",
        offset=1,
        kind=StepKind.OVERDUE,
        to=[Audience.REPORTING_OFFICER, Audience.UNIT_HEAD],
    ),
    EscalationStep(code="overdue-3", offset=3, kind=StepKind.OVERDUE, to=[Audience.RECIPIENT_HEAD]),
    EscalationStep(
        code="overdue-5", offset=5, kind=StepKind.OVERDUE, to=[Audience.LEADER_IN_CHARGE]
    ),
)


class PlanHeader(Strict):
    code: Code
    number: str | None = None
    issuer: Code
    issued_on: dt.date | None = None
    year: int = Field(ge=2000, le=2100)
    title: Text
    place: Text
    legal_bases: list[Text] = []
    signer: Code | None = None
    signer_title: str | None = None
    distribution: list[Text] = []
    source: str | None = None
    sample: SampleNote | None = None
    # Which of the header's values the `sample` note covers: a document leaves them blank.
    sample_fields: list[Literal["number", "issued_on"]] = []

    @model_validator(mode="after")
    def _sample_fields_explained(self) -> PlanHeader:
        if self.sample_fields and not self.sample:
            raise ValueError("sample_fields cần ghi chú sample nói rõ giá trị nào là dữ liệu mẫu")
        return self


class CalendarEntry(Strict):
    date: dt.date
    kind: DayKind
    reason: Text


class UnitEntry(Strict):
    code: Code
    name: Text
    short_name: str | None = None
    # The official abbreviation in document numbers (ký hiệu), e.g. SNNMT in "05/BC-SNNMT".
    abbreviation: (
        Annotated[str, StringConstraints(pattern=r"^[A-ZĐ0-9]+$", max_length=32)] | None
    ) = None
    kind: UnitKind
    parent: Code | None = None
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    successor: Code | None = None
    email: str | None = None
    phone: str | None = None
    address: str | None = None
    sample: SampleNote | None = None

    @model_validator(mode="after")
    def _valid_dates(self) -> UnitEntry:
        if self.valid_from and self.valid_to and self.valid_to < self.valid_from:
            raise ValueError("ngày chấm dứt (valid_to) đứng trước ngày bắt đầu (valid_from)")
        if self.successor is not None and self.valid_to is None:
            raise ValueError("đơn vị có đơn vị kế thừa (successor) cần ngày chấm dứt (valid_to)")
        return self

    def exists_on(self, day: dt.date) -> bool:
        """Whether the unit exists on the day (its validity dates are inclusive)."""
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_to is None or self.valid_to >= day
        )


class GroupEntry(Strict):
    """A named set of units: listed members, or every unit of the given kinds under a parent."""

    code: Code
    name: Text
    members: list[Code] = []
    kinds: list[UnitKind] = []
    parent: Code | None = None

    @model_validator(mode="after")
    def _has_members(self) -> GroupEntry:
        if not self.members and not self.kinds:
            raise ValueError("nhóm cần danh sách đơn vị (members) hoặc loại đơn vị (kinds)")
        return self


class PersonEntry(Strict):
    code: Code
    unit: Code
    name: Text
    title: str | None = None
    role: PersonRole
    email: str | None = None
    phone: str | None = None
    zalo_user_id: str | None = None
    zalo_chat_id: str | None = None
    sample: SampleNote | None = None


class TargetEntry(Strict):
    code: Code
    name: Text
    unit_of_measure: str | None = None
    kind: TargetKind
    # "> 3", ">= 67", "= 1300", "90-95" (a range), "-10%" (a reduction from `baseline`);
    # yes/no targets: "yes" or "no"; text targets: free text.
    goal: str | None = None
    baseline: Decimal | None = None  # the figure a reduction is measured from (cùng kỳ)
    aggregation: Aggregation
    numerator: Code | None = None
    denominator: Code | None = None
    sample: SampleNote | None = None

    @model_validator(mode="after")
    def _goal_and_ratio(self) -> TargetEntry:
        numeric = self.kind in (TargetKind.COUNT, TargetKind.PERCENT)
        if self.goal is not None and numeric:
            goal = self.parsed_goal()
            if goal.number is None:
                raise ValueError(f"mục tiêu (goal) {self.goal!r} không đúng dạng: {GOAL_FORMS}")
            if goal.comparator == RANGE and goal.upper is not None and goal.upper <= goal.number:
                raise ValueError(f"mục tiêu (goal) {self.goal!r}: cận dưới phải nhỏ hơn cận trên")
            if goal.comparator == REDUCTION and (self.baseline is None or self.baseline <= 0):
                raise ValueError(
                    f"mục tiêu giảm (goal {self.goal!r}) cần mức so sánh (baseline) lớn hơn 0"
                )
        if self.baseline is not None and (
            self.goal is None or not REDUCTION_PATTERN.match(self.goal)
        ):
            raise ValueError("chỉ mục tiêu giảm (goal: '-10%') mới có mức so sánh (baseline)")
        if (
            self.goal is not None
            and self.kind is TargetKind.YES_NO
            and self.goal not in ("yes", "no")
        ):
            raise ValueError("mục tiêu có/không (yes_no) chỉ nhận 'yes' hoặc 'no'")
        if (self.aggregation is Aggregation.RATIO) != bool(self.numerator and self.denominator):
            raise ValueError(
                "chỉ tiêu tỷ lệ (ratio) cần tử số (numerator) và mẫu số (denominator); "
                "chỉ tiêu khác không có hai trường này"
            )
        return self

    def parsed_goal(self) -> ParsedGoal:
        """The goal as stored: one bound, a range or a reduction; else its text."""
        if self.goal is None:
            return ParsedGoal(None, None, None, None)
        if self.kind in (TargetKind.COUNT, TargetKind.PERCENT):
            if match := GOAL_PATTERN.match(self.goal):
                return ParsedGoal(match.group(1), _decimal(match.group(2)), None, None)
            if match := RANGE_PATTERN.match(self.goal):
                return ParsedGoal(RANGE, _decimal(match.group(1)), _decimal(match.group(2)), None)
            if match := REDUCTION_PATTERN.match(self.goal):
                return ParsedGoal(REDUCTION, _decimal(match.group(1)), None, None)
            return ParsedGoal(None, None, None, self.goal)
        return ParsedGoal(None, None, None, self.goal)


class TaskEntry(Strict):
    code: Code
    number: int = Field(ge=1)
    title: Text
    leader: Code | None = None
    leader_text: str | None = None
    lead_unit: Code
    lead_unit_text: str | None = None
    coordinating_units: list[Code] = []  # unit or group codes
    coordinating_text: str | None = None
    targets: list[Code] = []
    funding_sources: list[Text] = []
    solutions: list[Text] = []
    notes: str | None = None


class DeliverableEntry(Strict):
    code: Code
    title: Text
    description: str | None = None
    task: Code | None = None
    assignees: list[Code] = Field(min_length=1)  # unit or group codes
    assignee_text: str | None = None
    recipient: Code | None = None
    starts_on: dt.date | None = Field(None, alias="from")  # work starts; the item opens then
    due_on: dt.date
    escalation: list[EscalationStep] | None = None
    sample: SampleNote | None = None

    @model_validator(mode="after")
    def _starts_before_due(self) -> DeliverableEntry:
        if self.starts_on is not None and self.due_on < self.starts_on:
            raise ValueError("hạn (due_on) đứng trước ngày bắt đầu (from)")
        return self


class DeadlineEntry(Strict):
    kind: DeadlineKind
    day: int | None = None
    month_offset: int | None = None
    n: int | None = None
    anchor: Anchor = Anchor.WINDOW_END
    on: dt.date | None = None
    time: dt.time | None = None
    weekday: Weekday | None = None
    week_offset: int | None = None

    @model_validator(mode="after")
    def _valid_rule(self) -> DeadlineEntry:
        self.to_rule()  # the calendar's own validation, one definition of a valid rule
        return self

    def to_rule(self) -> DeadlineRule:
        return DeadlineRule(
            kind=self.kind,
            day=self.day,
            month_offset=self.month_offset,
            n=self.n,
            anchor=self.anchor,
            on=self.on,
            time=self.time,
            weekday=self.weekday,
            week_offset=self.week_offset,
        )


def deadline_fits_cadence(deadline: DeadlineEntry, cadence: Cadence) -> str | None:
    """Why a deadline rule makes no sense for a cadence, in Vietnamese; None when it does."""
    weekly = cadence is Cadence.WEEKLY
    if deadline.kind is DeadlineKind.WEEKDAY and not weekly:
        return "hạn theo thứ trong tuần (kind: weekday) chỉ dùng cho báo cáo hằng tuần"
    if deadline.kind is DeadlineKind.DAY_OF_MONTH and weekly:
        return "báo cáo hằng tuần không dùng hạn theo ngày trong tháng (day_of_month)"
    offset = deadline.month_offset or 0
    if offset < 0 and -offset >= cadence.months:
        return (
            f"month_offset {offset}: hạn rơi vào trước tháng đầu của kỳ báo cáo "
            f"(kỳ {cadence.months} tháng cho phép từ {1 - cadence.months} trở lên)"
        )
    return None


class ObligationTargetEntry(Strict):
    target: Code
    required: bool = True


class ObligationEntry(Strict):
    code: Code
    title: Text
    kind: ObligationKind = ObligationKind.PERIODIC
    cadence: Cadence | None = None
    window: WindowConvention = WindowConvention.DECREE_09
    deadline: DeadlineEntry | None = None
    reporters: list[Code] = Field(min_length=1)  # unit or group codes
    reporters_text: str | None = None
    # One unit, or several: the first is the main recipient (whose head is escalated to).
    recipient: list[Code] = Field(min_length=1)
    via: Code | None = None
    targets: list[ObligationTargetEntry | Code] = []
    narrative_sections: list[Text] = []
    escalation: list[EscalationStep] | None = None
    basis: str | None = None
    starts_on: dt.date | None = Field(None, alias="from")  # first day the duty applies
    ends_on: dt.date | None = Field(None, alias="until")  # last day the duty applies
    sample: SampleNote | None = None

    @field_validator("recipient", mode="before")
    @classmethod
    def _one_or_more_recipients(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @field_validator("targets")
    @classmethod
    def _normalise_targets(
        cls, value: list[ObligationTargetEntry | str]
    ) -> list[ObligationTargetEntry | str]:
        return [ObligationTargetEntry(target=t) if isinstance(t, str) else t for t in value]

    @model_validator(mode="after")
    def _periodic_has_cadence(self) -> ObligationEntry:
        if self.kind is ObligationKind.PERIODIC and (self.cadence is None or self.deadline is None):
            raise ValueError("báo cáo định kỳ cần kỳ báo cáo (cadence) và hạn (deadline)")
        if self.starts_on and self.ends_on and self.ends_on < self.starts_on:
            raise ValueError("ngày kết thúc (until) đứng trước ngày bắt đầu (from)")
        if self.cadence is not None and self.deadline is not None:
            problem = deadline_fits_cadence(self.deadline, self.cadence)
            if problem:
                raise ValueError(problem)
        return self

    @property
    def main_recipient(self) -> str:
        return self.recipient[0]

    def target_entries(self) -> list[ObligationTargetEntry]:
        return [t for t in self.targets if isinstance(t, ObligationTargetEntry)]


class PlanFile(Strict):
    """One plan file: the plan, its units and people, and what it asks of them."""

    version: Literal[1] = 1
    plan: PlanHeader
    calendar: list[CalendarEntry] = []
    units: list[UnitEntry] = Field(min_length=1)
    groups: list[GroupEntry] = []
    people: list[PersonEntry] = []
    targets: list[TargetEntry] = []
    tasks: list[TaskEntry] = []
    deliverables: list[DeliverableEntry] = []
    obligations: list[ObligationEntry] = []
