"""Storing submissions as versions (safe under concurrency), receipts, locks, and their queries."""

from __future__ import annotations

import os
import random
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pendulum
from sqlalchemy import ColumnElement, ForeignKey, String, Subquery, Text, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, selectinload, sessionmaker

from models.access import Actor, record_event
from models.base import Base, UTCDateTime
from models.db import chunked
from models.items import DueItem, ItemKind
from models.org import Unit
from models.plan import Deliverable, Obligation, ObligationTarget, Plan, Target, TargetKind
from models.submissions import Attachment, ProgressState, Submission, SubmissionValue
from schedules.calendar import VN_TZ, local_date
from submissions.content import (
    CheckedSubmission,
    FormSpec,
    RawSubmission,
    TargetSpec,
    check_submission,
)
from submissions.errors import Conflict, FieldError, Forbidden, Invalid, NotFound
from submissions.values import PROGRESS_VI, Value, display

MAX_KEY_LENGTH = 100
MAX_ID = 2**31 - 1  # INTEGER primary keys


class PeriodLock(Base):
    """A closed period (khóa sổ): no more submissions for that obligation and period."""

    __tablename__ = "period_locks"

    id: Mapped[int] = mapped_column(primary_key=True)
    # "obligation:<id>:<period>" or "deliverable:<id>:<period or ->"; one lock per key.
    lock_key: Mapped[str] = mapped_column(String(160), unique=True)
    obligation_id: Mapped[int | None] = mapped_column(ForeignKey("obligations.id"))
    deliverable_id: Mapped[int | None] = mapped_column(ForeignKey("deliverables.id"))
    period_label: Mapped[str | None] = mapped_column(String(16))
    locked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    locked_by: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str | None] = mapped_column(Text)


def lock_key(item: DueItem) -> str:
    if item.obligation_id is not None:
        return f"obligation:{item.obligation_id}:{item.period_label or '-'}"
    return f"deliverable:{item.deliverable_id}:{item.period_label or '-'}"


# ---------------------------------------------------------------- finding the item


@dataclass(frozen=True)
class ItemAddress:
    """Which item a submission is for: its id, or unit + obligation/deliverable code + period."""

    item_id: int | None = None
    unit: str | None = None
    source: str | None = None
    period: str | None = None


def _source_title(item: DueItem) -> tuple[str, str]:
    if item.obligation is not None:
        return item.obligation.code, item.obligation.title
    assert item.deliverable is not None
    return item.deliverable.code, item.deliverable.title


def find_item(address: ItemAddress, *, session: Session, actor: Actor) -> DueItem:
    """The item addressed, after checking the actor may act for its unit.

    Raises NotFound / Invalid (unknown unit, obligation or period), Forbidden (another unit).
    """
    if address.item_id is not None:
        # Out-of-range ids would be a database error on PostgreSQL: none such exists.
        item = session.get(DueItem, address.item_id) if 0 < address.item_id <= MAX_ID else None
        if item is None:
            raise NotFound(
                "unknown_item",
                f"Không có báo cáo số {address.item_id}.",
                [FieldError("item_id", "unknown_item", f"Không có báo cáo số {address.item_id}.")],
            )
        _check_actor(actor, item)
        mismatch = [
            FieldError(name, "mismatch", f"«{given}» không khớp với báo cáo số {item.id}.")
            for name, given, actual in (
                ("unit", address.unit, item.unit.code),
                ("obligation", address.source, _source_title(item)[0]),
                ("period", address.period, item.period_label),
            )
            if given is not None and given != actual
        ]
        if mismatch:
            raise Invalid(mismatch)
        return item

    unit_code = address.unit or actor.unit_code
    if not unit_code:
        raise Invalid([FieldError("unit", "required", "Chưa ghi mã đơn vị.")])
    unit = session.scalars(select(Unit).where(Unit.code == unit_code)).one_or_none()
    if unit is None:
        raise Invalid([FieldError("unit", "unknown_unit", f"Không có đơn vị mã «{unit_code}».")])
    if not actor.may_act_for(unit.id):
        raise Forbidden(
            "forbidden_unit",
            f"Mã truy cập của đơn vị «{actor.unit_code}» không được gửi báo cáo "
            f"thay đơn vị «{unit.code}».",
            [FieldError("unit", "forbidden_unit", "Không phải đơn vị của mã truy cập này.")],
        )
    if not address.source:
        raise Invalid([FieldError("obligation", "required", "Chưa ghi mã báo cáo.")])
    source = address.source
    known = session.scalar(select(func.count()).where(Obligation.code == source)) or 0
    known += session.scalar(select(func.count()).where(Deliverable.code == source)) or 0
    if not known:
        raise Invalid(
            [FieldError("obligation", "unknown_obligation", f"Không có báo cáo mã «{source}».")]
        )
    by_source = (
        select(DueItem)
        .outerjoin(Obligation, Obligation.id == DueItem.obligation_id)
        .outerjoin(Deliverable, Deliverable.id == DueItem.deliverable_id)
        .where(func.coalesce(Obligation.code, Deliverable.code) == source)
    )
    if address.period is not None:
        by_source = by_source.where(DueItem.period_label == address.period)
    candidates = list(session.scalars(by_source.where(DueItem.unit_id == unit.id)))
    if len(candidates) == 1:
        return candidates[0]
    if len(candidates) > 1:
        field_name = "period" if address.period is None else "item_id"
        raise Invalid(
            [
                FieldError(
                    field_name,
                    "ambiguous",
                    f"Báo cáo «{source}» có nhiều kỳ: hãy ghi kỳ báo cáo."
                    if address.period is None
                    else "Có nhiều báo cáo trùng mã và kỳ: hãy dùng số báo cáo (item_id).",
                )
            ]
        )
    if address.period is not None and session.scalar(
        select(func.count()).select_from(by_source.subquery())
    ):
        raise Invalid(
            [
                FieldError(
                    "unit",
                    "not_assigned",
                    f"Đơn vị «{unit.code}» không phải gửi báo cáo «{source}» kỳ {address.period}.",
                )
            ]
        )
    period_text = address.period or "(trống)"
    raise Invalid(
        [
            FieldError(
                "period",
                "unknown_period",
                f"Báo cáo «{source}» của đơn vị «{unit.code}» không có kỳ {period_text}.",
            )
        ]
    )


def _check_actor(actor: Actor, item: DueItem) -> None:
    if not actor.may_act_for(item.unit_id):
        raise Forbidden(
            "forbidden_unit",
            f"Báo cáo số {item.id} thuộc đơn vị khác: mã truy cập này không được xem hay gửi.",
        )


def get_item(item_id: int, *, session: Session, actor: Actor) -> DueItem:
    """One item the actor may see; NotFound or Forbidden otherwise."""
    return find_item(ItemAddress(item_id=item_id), session=session, actor=actor)


def check_open(item: DueItem, *, session: Session, now: datetime) -> None:
    """Refuse (Conflict) when the item is withdrawn, not yet open, or its period locked."""
    period_text = f"Kỳ báo cáo {item.period_label} " if item.period_label else "Báo cáo này "
    if item.withdrawn_at is not None:
        raise Conflict("withdrawn", "Báo cáo này không còn được yêu cầu (đã rút khỏi kế hoạch).")
    if now < item.opens_at:
        raise Conflict(
            "not_open",
            f"{period_text}chưa mở: nhận báo cáo từ ngày {local_date(item.opens_at):%d/%m/%Y}.",
        )
    lock = session.scalars(select(PeriodLock).where(PeriodLock.lock_key == lock_key(item))).first()
    if lock is not None:
        raise Conflict(
            "locked",
            f"{period_text}đã khóa sổ ngày {local_date(lock.locked_at):%d/%m/%Y}: "
            "không nhận thêm báo cáo.",
        )


def obligation_spec(obligation: Obligation, *, session: Session) -> FormSpec:
    """The form of an obligation's report: its targets in order, and its narrative sections."""
    rows = session.execute(
        select(ObligationTarget, Target)
        .join(Target, Target.id == ObligationTarget.target_id)
        .where(ObligationTarget.obligation_id == obligation.id)
        .order_by(ObligationTarget.position)
    )
    targets = tuple(
        TargetSpec(
            target_id=t.id,
            code=t.code,
            name=t.name,
            kind=TargetKind(t.kind),
            unit_of_measure=t.unit_of_measure,
            required=ot.required,
        )
        for ot, t in rows
    )
    return FormSpec(
        kind=ItemKind.REPORT, targets=targets, sections=tuple(obligation.narrative_sections)
    )


def form_spec(item: DueItem, *, session: Session) -> FormSpec:
    """The form of an item: its obligation's report, or a deliverable's progress."""
    if item.obligation is None:
        return FormSpec(kind=ItemKind.DELIVERABLE)
    return obligation_spec(item.obligation, session=session)


def find_source(code: str, *, session: Session) -> Obligation | Deliverable:
    """An obligation or deliverable by code, from the newest plan that has it."""
    obligation = session.scalars(
        select(Obligation)
        .join(Plan, Plan.id == Obligation.plan_id)
        .where(Obligation.code == code)
        .order_by(Plan.year.desc(), Plan.id.desc())
        .limit(1)
    ).first()
    if obligation is not None:
        return obligation
    deliverable = session.scalars(
        select(Deliverable)
        .join(Plan, Plan.id == Deliverable.plan_id)
        .where(Deliverable.code == code)
        .order_by(Plan.year.desc(), Plan.id.desc())
        .limit(1)
    ).first()
    if deliverable is None:
        raise NotFound(
            "unknown_obligation",
            f"Không có báo cáo hay nhiệm vụ mã «{code}».",
            [FieldError("obligation", "unknown_obligation", f"Không có mã «{code}».")],
        )
    return deliverable


def source_spec(code: str, *, session: Session) -> tuple[str, FormSpec]:
    """(title, form) of an obligation or deliverable code: what a template is built from."""
    source = find_source(code, session=session)
    if isinstance(source, Obligation):
        return source.title, obligation_spec(source, session=session)
    return source.title, FormSpec(kind=ItemKind.DELIVERABLE)


def merge_addresses(*addresses: ItemAddress) -> ItemAddress:
    """One address from several sources (form fields, file header, file name); they must agree."""
    merged: dict[str, Any] = {}
    problems = []
    for name, field_name, label in (
        ("item_id", "item_id", "Số báo cáo"),
        ("unit", "unit", "Mã đơn vị"),
        ("source", "obligation", "Mã báo cáo"),
        ("period", "period", "Kỳ báo cáo"),
    ):
        given = {getattr(a, name) for a in addresses} - {None, ""}
        if len(given) > 1:
            shown = ", ".join(f"«{g}»" for g in sorted(map(str, given)))
            problems.append(
                FieldError(
                    field_name,
                    "mismatch",
                    f"{label} ghi khác nhau (tên tệp, nội dung tệp, lựa chọn khi gửi): {shown}.",
                )
            )
        merged[name] = next(iter(given)) if len(given) == 1 else None
    if problems:
        raise Invalid(problems)
    return ItemAddress(**merged)


# ---------------------------------------------------------------- attachments on disk


def save_blob(data_dir: Path, data: bytes, sha256: str) -> str:
    """Store bytes content-addressed under data_dir; returns the storage key. Idempotent."""
    relative = Path("attachments") / sha256[:2] / sha256
    path = data_dir / relative
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{sha256}.{uuid.uuid4().hex}.tmp")
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)  # atomic: a reader sees the whole file or none
    return relative.as_posix()


def read_blob(data_dir: Path, storage_key: str) -> bytes:
    return (data_dir / storage_key).read_bytes()


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


# ---------------------------------------------------------------- storing


@dataclass(frozen=True)
class SubmitRequest:
    """Everything a channel hands over; `now` is the server's receipt time."""

    address: ItemAddress
    actor: Actor
    channel: str  # web, api, cli, inbox
    raw: RawSubmission = field(default_factory=RawSubmission)
    source_address: str | None = None
    idempotency_key: str | None = None


def _scoped_key(unit_id: int, key: str) -> str:
    # Keys are the client's choice: scope them per unit so one unit can neither collide with
    # nor read another unit's submissions by guessing its keys.
    return f"{unit_id}:{key}"


def check_idempotency_key(key: str | None) -> None:
    if key is None:
        return
    if not key.strip() or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise Invalid(
            [
                FieldError(
                    "idempotency_key",
                    "invalid_key",
                    f"Mã chống gửi trùng phải có 1–{MAX_KEY_LENGTH} ký tự in được.",
                )
            ]
        )


def lock_item(item: DueItem, *, session: Session) -> None:
    """Lock the item's row until the transaction ends (PostgreSQL; SQLite locks on write).

    Writers for one item then take turns: the idempotency lookup and the next version number
    both see the previous writer's committed row.
    """
    session.execute(select(DueItem.id).where(DueItem.id == item.id).with_for_update())


def store_submission(
    item: DueItem,
    checked: CheckedSubmission,
    *,
    session: Session,
    request: SubmitRequest,
    now: datetime,
    data_dir: Path,
) -> Submission:
    """Insert `checked` as the item's next version; IntegrityError means a concurrent writer won.

    The item row is locked (SELECT ... FOR UPDATE) so PostgreSQL serialises writers per item;
    SQLite serialises all writers, and the caller retries on the rare unique-key race.
    """
    lock_item(item, session=session)
    current = session.scalar(
        select(func.max(Submission.version)).where(Submission.item_id == item.id)
    )
    version = (current or 0) + 1
    attachments = [
        Attachment(
            filename=upload.filename,
            content_type=upload.content_type[:128],
            size_bytes=len(upload.data),
            sha256=upload.sha256,
            storage_key=save_blob(data_dir, upload.data, upload.sha256),
            role=upload.role,
        )
        for upload in checked.attachments
    ]
    submission = Submission(
        item_id=item.id,
        version=version,
        receipt_no=f"BN-{item.id}-{version}",
        received_at=now,
        channel=request.channel,
        submitted_by=request.actor.label[:128],
        source_address=(request.source_address or None) and request.source_address[:255],
        accepted=True,
        narrative=checked.narrative,
        progress_state=checked.progress_state.value if checked.progress_state else None,
        progress_note=checked.progress_note,
        progress_on=checked.progress_on,
        idempotency_key=_scoped_key(item.unit_id, request.idempotency_key)
        if request.idempotency_key
        else None,
        content_hash=checked.content_hash(),
        values=[
            SubmissionValue(
                target_id=v.target.target_id,
                number=v.value.number,
                text=v.value.text,
                flag=v.value.flag,
            )
            for v in checked.values
        ],
        attachments=attachments,
    )
    session.add(submission)
    session.flush()
    record_event(
        session=session,
        actor=request.actor,
        action="submission.create",
        object_type="submission",
        object_id=str(submission.id),
        source_address=request.source_address,
        details={
            "item_id": item.id,
            "version": version,
            "receipt_no": submission.receipt_no,
            "channel": request.channel,
            "content_hash": submission.content_hash,
        },
        now=now,
    )
    session.flush()
    return submission


def _submit_once(
    session: Session,
    request: SubmitRequest,
    *,
    now: datetime,
    data_dir: Path,
    max_attachment_bytes: int,
) -> Receipt:
    check_idempotency_key(request.idempotency_key)
    item = find_item(request.address, session=session, actor=request.actor)
    lock_item(item, session=session)
    first = None
    if request.idempotency_key:
        first = session.scalars(
            select(Submission).where(
                Submission.idempotency_key == _scoped_key(item.unit_id, request.idempotency_key)
            )
        ).one_or_none()
    if first is None:
        # A closed item is said first; only a replay of what was already stored gets through.
        check_open(item, session=session, now=now)
    checked = check_submission(
        form_spec(item, session=session),
        request.raw,
        today=local_date(now),
        max_attachment_bytes=max_attachment_bytes,
    )
    if first is not None:
        if first.item_id == item.id and first.content_hash == checked.content_hash():
            return receipt_of(first, session=session, replayed=True)
        raise Conflict(
            "idempotency_conflict",
            "Mã chống gửi trùng (Idempotency-Key) này đã dùng cho một lần gửi khác nội dung; "
            "không lưu gì. Hãy dùng mã mới cho lần gửi mới.",
            [
                FieldError(
                    "idempotency_key",
                    "idempotency_conflict",
                    f"Đã dùng cho biên nhận {first.receipt_no}.",
                )
            ],
        )
    submission = store_submission(
        item, checked, session=session, request=request, now=now, data_dir=data_dir
    )
    return receipt_of(submission, session=session)


def submit(
    sessions: sessionmaker[Session],
    request: SubmitRequest,
    *,
    now: datetime,
    data_dir: Path,
    max_attachment_bytes: int,
    attempts: int = 10,
) -> Receipt:
    """Check and store one submission in its own transaction: all of it or nothing.

    A concurrent submission for the same item (or the same idempotency key) may make the
    insert fail on a unique key; the whole attempt is then rolled back and run again, so
    both submissions end up as versions and a replayed key finds the first result.
    """
    for attempt in range(1, attempts + 1):
        try:
            with sessions.begin() as session:
                if session.get_bind().dialect.name == "sqlite":
                    # Take SQLite's write lock before the first read (PostgreSQL locks the
                    # item row instead): concurrent writers of one item then queue behind
                    # it rather than all reading the same next version and retrying.
                    session.execute(text("BEGIN IMMEDIATE"))
                return _submit_once(
                    session,
                    request,
                    now=now,
                    data_dir=data_dir,
                    max_attachment_bytes=max_attachment_bytes,
                )
        except IntegrityError:
            if attempt == attempts:
                raise
            # Jitter so that racing writers do not collide again in lockstep.
            time.sleep(random.uniform(0, 0.01 * attempt))  # noqa: S311 - not for security
    raise AssertionError("unreachable")  # pragma: no cover


# ---------------------------------------------------------------- queries


def _accepted(as_of: datetime | None) -> list[ColumnElement[bool]]:
    """Submissions that count: accepted, and received by `as_of` when given."""
    conditions: list[ColumnElement[bool]] = [Submission.accepted.is_(True)]
    if as_of is not None:
        conditions.append(Submission.received_at <= as_of)
    return conditions


def latest_accepted_versions(
    *conditions: ColumnElement[bool], as_of: datetime | None = None
) -> Subquery:
    """Which submission counts for each item: the accepted one with the highest version.

    The one definition of that rule, as a selectable (`submission_id`, `item_id`) to join, so
    a report can stream plain rows instead of loading entities. `conditions` on Submission
    choose the items; with `as_of`, only submissions received by then count.
    """
    ranked = (
        select(
            Submission.id.label("submission_id"),
            Submission.item_id,
            func.row_number()
            .over(partition_by=Submission.item_id, order_by=Submission.version.desc())
            .label("newest_first"),
        )
        .where(*_accepted(as_of), *conditions)
        .subquery()
    )
    return (
        select(ranked.c.submission_id, ranked.c.item_id)
        .where(ranked.c.newest_first == 1)
        .subquery()
    )


def latest_accepted(
    item_ids: Iterable[int], *, session: Session, as_of: datetime | None = None
) -> dict[int, Submission]:
    """For each item, the submission that counts (`latest_accepted_versions`), loaded.

    Set-based: one query per 5,000 items, values (with targets) and attachments loaded.
    With `as_of`, only submissions received by then count, so a past day can be replayed.
    Items without an accepted submission are absent from the result.
    """
    out: dict[int, Submission] = {}
    for chunk in chunked(item_ids):
        latest = latest_accepted_versions(Submission.item_id.in_(chunk), as_of=as_of)
        query = (
            select(Submission)
            .join(latest, Submission.id == latest.c.submission_id)
            .options(
                selectinload(Submission.values).selectinload(SubmissionValue.target),
                selectinload(Submission.attachments),
            )
        )
        out.update({s.item_id: s for s in session.scalars(query)})
    return out


def first_accepted_at(
    item_ids: Iterable[int], *, session: Session, as_of: datetime | None = None
) -> dict[int, datetime]:
    """For each item, when its first accepted submission was received: timeliness counts this.

    The same rule as models.status (earliest receipt time among accepted versions); with
    `as_of`, only submissions received by then. Items never submitted are absent.
    """
    out: dict[int, datetime] = {}
    for chunk in chunked(item_ids):
        query = (
            select(Submission.item_id, func.min(Submission.received_at))
            .where(*_accepted(as_of), Submission.item_id.in_(chunk))
            .group_by(Submission.item_id)
        )
        out.update({item_id: at for item_id, at in session.execute(query)})
    return out


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


def lock_period(
    *,
    session: Session,
    source: str,
    period: str | None,
    actor: Actor,
    now: datetime,
    reason: str | None = None,
) -> PeriodLock:
    """Close a period of an obligation (or a deliverable); audited. Locking twice is a no-op."""
    items = list(
        session.scalars(
            select(DueItem)
            .outerjoin(Obligation, Obligation.id == DueItem.obligation_id)
            .outerjoin(Deliverable, Deliverable.id == DueItem.deliverable_id)
            .where(
                func.coalesce(Obligation.code, Deliverable.code) == source,
                DueItem.period_label.is_(None)
                if period is None
                else DueItem.period_label == period,
            )
            .limit(1)
        )
    )
    if not items:
        raise NotFound("unknown_period", f"Không có báo cáo «{source}» kỳ {period or '(trống)'}.")
    key = lock_key(items[0])
    existing = session.scalars(select(PeriodLock).where(PeriodLock.lock_key == key)).first()
    if existing is not None:
        return existing
    lock = PeriodLock(
        lock_key=key,
        obligation_id=items[0].obligation_id,
        deliverable_id=items[0].deliverable_id,
        period_label=period,
        locked_at=now,
        locked_by=actor.label,
        reason=reason,
    )
    session.add(lock)
    session.flush()
    record_event(
        session=session,
        actor=actor,
        action="period.lock",
        object_type="period_lock",
        object_id=key,
        source_address=None,
        details={"source": source, "period": period, "reason": reason},
        now=now,
    )
    return lock


def unlock_period(
    *, session: Session, source: str, period: str | None, actor: Actor, now: datetime
) -> bool:
    """Reopen a locked period; audited. Returns whether a lock was removed."""
    locks = list(
        session.scalars(
            select(PeriodLock)
            .outerjoin(Obligation, Obligation.id == PeriodLock.obligation_id)
            .outerjoin(Deliverable, Deliverable.id == PeriodLock.deliverable_id)
            .where(
                func.coalesce(Obligation.code, Deliverable.code) == source,
                PeriodLock.period_label.is_(None)
                if period is None
                else PeriodLock.period_label == period,
            )
        )
    )
    for lock in locks:
        record_event(
            session=session,
            actor=actor,
            action="period.unlock",
            object_type="period_lock",
            object_id=lock.lock_key,
            source_address=None,
            details={"source": source, "period": period},
            now=now,
        )
        session.delete(lock)
    session.flush()
    return bool(locks)


def _local(instant: datetime) -> str:
    return pendulum.instance(instant).in_timezone(VN_TZ).isoformat()


def _json_number(number: Decimal) -> int | float:
    return int(number) if number == number.to_integral_value() else float(number)


def submission_summary(receipt: Receipt) -> dict[str, Any]:
    """A receipt as JSON-ready data (the API's and the CLI's shape), times in +07:00."""
    local = _local
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
