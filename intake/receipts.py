"""Receipts (biên nhận) of stored submissions, and listing them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from access.actor import Actor
from access.scope import item_condition
from intake.address import check_may_see, get_item, source_of
from models.items import DueItem
from models.plan import ObligationTarget, Target
from models.submissions import Submission, SubmissionValue
from plans.vocabulary import Aggregation, ProgressState, TargetKind
from submissions.errors import NotFound
from submissions.ratios import ratio_warning
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
    warnings: tuple[str, ...] = ()  # kept, but worth a second look (submissions.ratios)


def receipt_value(
    code: str, name: str, kind: TargetKind, unit_of_measure: str | None, value: Value
) -> ReceiptValue:
    return ReceiptValue(
        code=code,
        name=name,
        kind=kind.value,
        unit_of_measure=unit_of_measure,
        number=value.number,
        text=value.text,
        flag=value.flag,
        shown=display(kind, value),
    )


def ratio_warnings(
    values: Sequence[ReceiptValue], *, plan_id: int, session: Session
) -> tuple[str, ...]:
    """A warning for each typed ratio that its parts, typed in the same report, do not give."""
    given = {v.code: v.number for v in values if v.number is not None}
    if not given:
        return ()
    ratios = session.execute(
        select(Target.code, Target.name, Target.numerator_code, Target.denominator_code)
        .where(
            Target.plan_id == plan_id,
            Target.aggregation == Aggregation.RATIO.value,
            Target.code.in_(list(given)),
        )
        .order_by(Target.id)
    )
    warnings = (
        ratio_warning(name, given[code], given.get(num or ""), given.get(den or ""))
        for code, name, num, den in ratios
    )
    return tuple(w for w in warnings if w)


def _stored_values(submission: Submission, *, session: Session) -> list[ReceiptValue]:
    """The values of a stored submission in the order of its obligation's targets."""
    position = func.coalesce(ObligationTarget.position, 0)
    rows = session.execute(
        select(SubmissionValue, Target)
        .join(Target, Target.id == SubmissionValue.target_id)
        .outerjoin(
            ObligationTarget,
            (ObligationTarget.target_id == Target.id)
            & (ObligationTarget.obligation_id == submission.item.obligation_id),
        )
        .where(SubmissionValue.submission_id == submission.id)
        .order_by(position, Target.id)
    )
    return [
        receipt_value(
            t.code,
            t.name,
            TargetKind(t.kind),
            t.unit_of_measure,
            Value(number=v.number, text=v.text, flag=v.flag),
        )
        for v, t in rows
    ]


def receipt_of(submission: Submission, *, session: Session, replayed: bool = False) -> Receipt:
    """The receipt of a stored submission."""
    files = [
        ReceiptFile(a.id, a.filename, a.size_bytes, a.sha256, a.role)
        for a in sorted(submission.attachments, key=lambda a: a.id)
    ]
    row = {column.key: getattr(submission, column.key) for column in Submission.__table__.c}
    values = _stored_values(submission, session=session)
    return receipt(
        submission.item,
        row,
        values=values,
        files=files,
        replayed=replayed,
        warnings=ratio_warnings(values, plan_id=submission.item.plan_id, session=session),
    )


def receipt(
    item: DueItem,
    row: Mapping[str, Any],
    *,
    values: Sequence[ReceiptValue],
    files: Sequence[ReceiptFile],
    replayed: bool = False,
    warnings: tuple[str, ...] = (),
) -> Receipt:
    """The receipt of the submission stored as `row` (its columns) with these values and files."""
    code, title = source_of(item)
    state = ProgressState(row["progress_state"]) if row["progress_state"] else None
    return Receipt(
        receipt_no=row["receipt_no"],
        submission_id=row["id"],
        version=row["version"],
        received_at=row["received_at"],
        item_id=item.id,
        item_kind=item.kind,
        unit_code=item.unit.code,
        unit_name=item.unit.name,
        source_code=code,
        source_title=title,
        period_label=item.period_label,
        deadline_at=item.deadline_at,
        channel=row["channel"],
        submitted_by=row["submitted_by"],
        values=tuple(values),
        narrative=dict(row["narrative"] or {}),
        progress_state=state.value if state else None,
        progress_state_vi=PROGRESS_VI[state] if state else None,
        progress_note=row["progress_note"],
        progress_on=row["progress_on"],
        attachments=tuple(files),
        content_hash=row["content_hash"],
        replayed=replayed,
        warnings=warnings,
    )


def get_receipt(receipt_no: str, *, session: Session, actor: Actor) -> Receipt:
    """A receipt by its number, if the actor may see its unit's items."""
    submission = session.scalars(
        select(Submission).where(Submission.receipt_no == receipt_no)
    ).one_or_none()
    if submission is None:
        raise NotFound("unknown_receipt", f"Không có biên nhận số «{receipt_no}».")
    check_may_see(actor, submission.item, session=session)
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
        query = query.where(item_condition(actor))
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
        "warnings": list(receipt.warnings),
    }
