"""Storing a checked submission as the next version of its item, once per idempotency key."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from access.actor import Actor
from access.audit import record_event
from intake.address import ItemAddress, find_item, form_spec
from intake.blobs import save_blob
from intake.locks import check_open, lock_item
from intake.receipts import Receipt, receipt_of
from models.items import DueItem
from models.submissions import Attachment, Submission, SubmissionValue
from schedules.calendar import local_date
from submissions.content import (
    CheckedSubmission,
    RawSubmission,
    check_submission,
)
from submissions.errors import Conflict, FieldError, Invalid

MAX_KEY_LENGTH = 100


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
