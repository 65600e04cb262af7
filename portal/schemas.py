"""The JSON API's request and response shapes (they make the OpenAPI document)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FieldErrorOut(BaseModel):
    field: str = Field(description='The field at fault, e.g. "values.viec-lam", "file", "unit".')
    code: str = Field(description='Machine-readable, e.g. "not_a_number", "required".')
    message: str = Field(description="What is wrong, in Vietnamese.")
    where: str | None = Field(None, description='A cell or line of an uploaded file, "ô F8".')


class ErrorBody(BaseModel):
    code: str
    message: str
    fields: list[FieldErrorOut] = []


class ErrorOut(BaseModel):
    error: ErrorBody


Scalar = int | float | bool | str | None


class ProgressIn(Strict):
    state: str = Field(description="not_started, in_progress, done (or Vietnamese names).")
    note: str | None = None
    on: str | None = Field(None, description="The date, 20/03/2024 or 2024-03-20.")


class SubmissionIn(Strict):
    """One submission: name the item by id, or by unit + obligation + period."""

    item_id: int | None = None
    unit: str | None = Field(None, description="Unit code; a unit token's own unit by default.")
    obligation: str | None = Field(None, description="Obligation or deliverable code.")
    period: str | None = Field(None, description='Period label: "2024-03", "2024-Q1", "YC-2".')
    values: dict[str, Scalar] = Field(
        default_factory=dict, description='Target code -> value; "67,5" is read as 67.5.'
    )
    narrative: dict[str, str | None] = Field(
        default_factory=dict,
        description='Section title (or its slug, "kho-khan-vuong-mac") -> text.',
    )
    progress: ProgressIn | None = Field(None, description="Deliverables only.")


class TargetOut(BaseModel):
    code: str
    name: str
    kind: str
    unit_of_measure: str | None
    required: bool


class ItemOut(BaseModel):
    id: int
    kind: str
    unit: str
    unit_name: str
    obligation: str
    title: str
    period: str | None
    opens_at: dt.datetime
    deadline: dt.datetime
    deadline_on: dt.date
    status: str
    status_vi: str
    first_accepted_at: dt.datetime | None


class ItemDetailOut(ItemOut):
    targets: list[TargetOut]
    sections: list[str]
    progress_states: list[str]
    latest_receipt_no: str | None


class ReceiptItemOut(BaseModel):
    id: int
    kind: str
    unit: str
    unit_name: str
    obligation: str
    title: str
    period: str | None
    deadline: dt.datetime


class ProgressOut(BaseModel):
    state: str
    note: str | None
    on: dt.date | None


class AttachmentOut(BaseModel):
    filename: str
    size_bytes: int
    sha256: str
    role: str


class ReceiptOut(BaseModel):
    receipt_no: str = Field(description="Số biên nhận.")
    version: int = Field(description="1 for the first submission of the item, then 2, 3...")
    received_at: dt.datetime = Field(description="The server's receipt time, +07:00.")
    replayed: bool = Field(description="True when an Idempotency-Key returned the first result.")
    item: ReceiptItemOut
    channel: str
    submitted_by: str
    values: dict[str, Scalar]
    values_shown: dict[str, str]
    narrative: dict[str, str]
    progress: ProgressOut | None
    attachments: list[AttachmentOut]
    content_hash: str
    warnings: list[str] = Field(
        default_factory=list,
        description="Kept, but worth a second look: e.g. a typed ratio its parts do not give.",
    )


class RequestIn(Strict):
    """An ad-hoc report or assignment (admin only)."""

    kind: Literal["report", "deliverable"]
    title: str = Field(min_length=1, max_length=500)
    units: list[str] = Field(default_factory=list, description="Unit codes.")
    unit_kinds: list[str] = Field(
        default_factory=list, description='Every unit of these kinds, e.g. ["commune", "town"].'
    )
    obligation: str | None = Field(None, description="Reuse an ad-hoc obligation of the plan.")
    targets: list[str] = Field(default_factory=list, description="Target codes (required).")
    optional_targets: list[str] = Field(default_factory=list)
    sections: list[str] = Field(default_factory=list)
    due_on: dt.date | None = None
    within_working_days: int | None = None
    recipient: str | None = None
    instructions: str | None = None


class RequestOut(BaseModel):
    id: int
    label: str
    kind: str
    obligation: str
    deadline_on: dt.date
    deadline: dt.datetime
    units: list[str]
    item_ids: list[int]


class MeOut(BaseModel):
    role: str
    unit: str | None
    person: str | None = None  # a person's token: their full name
    person_role: str | None = None  # reporting_officer, unit_head, leader_in_charge, admin
    person_role_vi: str | None = None
    may_submit: bool | None = None
