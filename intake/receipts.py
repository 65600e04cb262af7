"""Receipts (biên nhận) of stored submissions, and listing them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from access.actor import Actor
from intake.address import _check_actor, _source_title, get_item
from models.items import DueItem
from models.plan import ObligationTarget
from models.submissions import Submission
from plans.vocabulary import ProgressState, TargetKind
from submissions.errors import NotFound
from submissions.values import PROGRESS_VI, Value, display
from wording.vietnamese import local_iso

# ---------------------------------------------------------------- receipts


@dataclass(frozen=True)
class ReceiptValue:
    code: str
    name: str
    kind: str
    unit_of_measure: str | None
    number: Decimal | None
    text: str | None
    flag: bool | None
    shown: str  # as an official reads it: "1.300", "67,5%", "Có"


@dataclass(frozen=True)
class ReceiptFile:
    attachment_id: int
    filename: str
    size_bytes: int
    sha256: str
    role: str


@dataclass(frozen=True)
class Receipt:
    """What the unit gets back: plain values, safe outside the session."""

    receipt_no: str
    submission_id: int
    version: int
    received_at: datetime
    item_id: int
    item_kind: str
    unit_code: str
    unit_name: str
    source_code: str
    source_title: str
    period_label: str | None
    deadline_at: datetime
    channel: str
    submitted_by: str
    values: tuple[ReceiptValue, ...]
    narrative: dict[str, str]
    progress_state: str | None
    progress_state_vi: str | None
    progress_note: str | None
    progress_on: date | None
    attachments: tuple[ReceiptFile, ...]
    content_hash: str
    replayed: bool = False


def receipt_of(submission: Submission, *, session: Session, replayed: bool = False) -> Receipt:
    """The receipt of a stored submission."""
    item = submission.item
    code, title = _source_title(item)
    values = []
    for v in sorted(submission.values, key=lambda v: v.target_id):
        kind = TargetKind(v.target.kind)
        values.append(
            ReceiptValue(
                code=v.target.code,
                name=v.target.name,
                kind=kind.value,
                unit_of_measure=v.target.unit_of_measure,
                number=v.number,
                text=v.text,
                flag=v.flag,
                shown=display(kind, Value(number=v.number, text=v.text, flag=v.flag)),
            )
        )
    if item.obligation_id is not None:
        order = {
            ot.target_id: ot.position
            for ot in session.scalars(
                select(ObligationTarget).where(ObligationTarget.obligation_id == item.obligation_id)
            )
        }
        target_ids = {v.target.code: v.target_id for v in submission.values}
        values.sort(key=lambda rv: order.get(target_ids[rv.code], 0))
    state = ProgressState(submission.progress_state) if submission.progress_state else None
    return Receipt(
        receipt_no=submission.receipt_no,
        submission_id=submission.id,
        version=submission.version,
        received_at=submission.received_at,
        item_id=item.id,
        item_kind=item.kind,
        unit_code=item.unit.code,
        unit_name=item.unit.name,
        source_code=code,
        source_title=title,
        period_label=item.period_label,
        deadline_at=item.deadline_at,
        channel=submission.channel,
        submitted_by=submission.submitted_by,
        values=tuple(values),
        narrative=dict(submission.narrative or {}),
        progress_state=state.value if state else None,
        progress_state_vi=PROGRESS_VI[state] if state else None,
        progress_note=submission.progress_note,
        progress_on=submission.progress_on,
        attachments=tuple(
            ReceiptFile(a.id, a.filename, a.size_bytes, a.sha256, a.role)
            for a in sorted(submission.attachments, key=lambda a: a.id)
        ),
        content_hash=submission.content_hash,
        replayed=replayed,
    )


def get_receipt(receipt_no: str, *, session: Session, actor: Actor) -> Receipt:
    """A receipt by its number, if the actor may see its unit's items."""
    submission = session.scalars(
        select(Submission).where(Submission.receipt_no == receipt_no)
    ).one_or_none()
    if submission is None:
        raise NotFound("unknown_receipt", f"Không có biên nhận số «{receipt_no}».")
    _check_actor(actor, submission.item)
    return receipt_of(submission, session=session)


def list_submissions(
    *,
    session: Session,
    actor: Actor,
    item_id: int | None = None,
    limit: int = 200,
) -> Sequence[Submission]:
    """The actor's submissions (all units for an admin), newest first; every version is kept."""
    query = (
        select(Submission)
        .join(DueItem, DueItem.id == Submission.item_id)
        .order_by(Submission.received_at.desc(), Submission.id.desc())
        .limit(limit)
    )
    if item_id is not None:
        get_item(item_id, session=session, actor=actor)
        query = query.where(Submission.item_id == item_id)
    if not actor.is_admin:
        query = query.where(DueItem.unit_id == actor.unit_id)
    return session.scalars(query).all()


def _json_number(number: Decimal) -> int | float:
    return int(number) if number == number.to_integral_value() else float(number)


def submission_summary(receipt: Receipt) -> dict[str, Any]:
    """A receipt as JSON-ready data (the API's and the CLI's shape), times in +07:00."""
    local = local_iso
    return {
        "receipt_no": receipt.receipt_no,
        "version": receipt.version,
        "received_at": local(receipt.received_at),
        "replayed": receipt.replayed,
        "item": {
            "id": receipt.item_id,
            "kind": receipt.item_kind,
            "unit": receipt.unit_code,
            "unit_name": receipt.unit_name,
            "obligation": receipt.source_code,
            "title": receipt.source_title,
            "period": receipt.period_label,
            "deadline": local(receipt.deadline_at),
        },
        "channel": receipt.channel,
        "submitted_by": receipt.submitted_by,
        "values": {
            v.code: (
                _json_number(v.number)
                if v.number is not None
                else (v.flag if v.flag is not None else v.text)
            )
            for v in receipt.values
        },
        "values_shown": {v.code: v.shown for v in receipt.values},
        "narrative": receipt.narrative,
        "progress": None
        if receipt.progress_state is None
        else {
            "state": receipt.progress_state,
            "note": receipt.progress_note,
            "on": receipt.progress_on.isoformat() if receipt.progress_on else None,
        },
        "attachments": [
            {"filename": a.filename, "size_bytes": a.size_bytes, "sha256": a.sha256, "role": a.role}
            for a in receipt.attachments
        ],
        "content_hash": receipt.content_hash,
    }
