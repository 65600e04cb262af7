"""Submitting: the one path from what a channel received to a receipt.

Every channel (the CLI, the inbox, the JSON API, the web form) hands `submit` what it has; it
reads the file or payload, addresses the item, checks the content and stores it as the item's
next version, once per idempotency key, in one transaction, and returns the receipt.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple, cast

from sqlalchemy import ScalarSelect, Table, bindparam, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from access.actor import Actor
from access.audit import event_row
from intake.address import ItemAddress, form_spec, item_to_submit, merge_addresses
from intake.blobs import StagedBlobs
from intake.locks import hold_for_writing, lock_key, refuse_closed
from intake.receipts import (
    Receipt,
    ReceiptFile,
    ratio_warnings,
    receipt,
    receipt_of,
    receipt_value,
)
from models.acceptance import refresh_first_acceptance
from models.access import AuditEvent
from models.base import Base
from models.items import DueItem, PeriodLock
from models.submissions import Attachment, Submission, SubmissionValue
from schedules.calendar import local_date
from settings import ITEM_MAX_BYTES
from submissions.content import CheckedSubmission, RawSubmission, Upload, check_submission
from submissions.errors import Conflict, FieldError, Invalid
from submissions.spreadsheet import ParsedFile, parse_json, read_upload
from wording.vietnamese import megabytes

MAX_KEY_LENGTH = 100


@dataclass(frozen=True)
class SubmitRequest:
    """What a channel received; `address` is what was said beside the content.

    The content is one of: `file`, a filled template or JSON file, read here and kept as the
    submission's source; `payload`, the JSON of POST /submissions as text; or `raw`, fields the
    channel read itself (a JSON body, a page's form). `evidence` are files sent along.
    """

    address: ItemAddress
    actor: Actor
    channel: str  # web, api, cli, inbox
    raw: RawSubmission = field(default_factory=RawSubmission)
    file: Upload | None = None
    payload: str | None = None
    evidence: Sequence[Upload] = ()
    source_address: str | None = None
    idempotency_key: str | None = None
    # For a channel without client keys (the inbox): content equal to the item's latest
    # version is the same report sent again, or a run finishing after a crash; its receipt
    # comes back and nothing is stored. Other content, even an earlier version's, is stored.
    replay_unchanged: bool = False
    # The file or payload already read, by a channel that reads it elsewhere (the portal
    # reads off its event loop, in a pool of its own: portal.deps.read_submission_file).
    parsed: ParsedFile | None = None


# ---------------------------------------------------------------- reading


class _Content(NamedTuple):
    address: ItemAddress
    raw: RawSubmission


def file_too_large(max_bytes: int) -> Invalid:
    """The refusal of a file over the upload limit, naming the limit."""
    return Invalid(
        [FieldError("file", "too_large", f"Tệp quá lớn (tối đa {megabytes(max_bytes)}).")]
    )


def _read(request: SubmitRequest, *, max_bytes: int) -> _Content:
    """The address and content of a request, the file or payload read and its address merged."""
    if request.file is None and request.payload is None:
        raw = replace(request.raw, attachments=[*request.raw.attachments, *request.evidence])
        return _Content(request.address, raw)
    sources: list[Upload] = []
    if request.file is not None:
        if len(request.file.data) > max_bytes:
            raise file_too_large(max_bytes)
        parsed = request.parsed or read_upload(request.file.filename, request.file.data)
        sources.append(replace(request.file, role="source"))
    else:
        assert request.payload is not None
        # surrogatepass: a lone surrogate reaches the reader, which refuses it by field.
        data = request.payload.encode("utf-8", "surrogatepass")
        parsed = request.parsed or parse_json(data, "payload")
    address = merge_addresses(
        request.address,
        ItemAddress(
            item_id=parsed.item_id, unit=parsed.unit, source=parsed.source, period=parsed.period
        ),
    )
    return _Content(address, replace(parsed.raw, attachments=[*sources, *request.evidence]))


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


def _scoped_key(unit_id: int, key: str | None) -> str | None:
    # Keys are the client's choice: scope them per unit so one unit can neither collide with
    # nor read another unit's submissions by guessing its keys.
    return f"{unit_id}:{key}" if key else None


# ---------------------------------------------------------------- storing


def _next_version(item_id: Any) -> ScalarSelect[int]:
    return (
        select(func.coalesce(func.max(Submission.version), 0) + 1)
        .where(Submission.item_id == item_id)
        .scalar_subquery()
    )


class Standing(NamedTuple):
    """Where a locked item stands for a new submission."""

    next_version: int
    locked_at: datetime | None  # its period's lock (khóa sổ), if any
    first_id: int | None  # the submission stored earlier under the same idempotency key
    latest_id: int | None  # the item's latest accepted version


_STANDING = select(
    _next_version(bindparam("item_id")),
    select(PeriodLock.locked_at)
    .where(PeriodLock.lock_key == bindparam("lock_key"))
    .scalar_subquery(),
    select(Submission.id).where(Submission.idempotency_key == bindparam("key")).scalar_subquery(),
    select(Submission.id)
    .where(Submission.item_id == bindparam("item_id"), Submission.accepted.is_(True))
    .order_by(Submission.version.desc())
    .limit(1)
    .scalar_subquery(),
)


def standing(item: DueItem, scoped_key: str | None, *, session: Session) -> Standing:
    """Next version, period lock, earlier submission of the key and latest version, at once.

    Read after the item's lock is taken, so it sees what the previous writer committed.
    """
    params = {"item_id": item.id, "lock_key": lock_key(item), "key": scoped_key}
    return Standing(*session.execute(_STANDING, params).one())


def _submission_row(
    item: DueItem,
    checked: CheckedSubmission,
    *,
    request: SubmitRequest,
    now: datetime,
    version: int,
) -> dict[str, Any]:
    """The submission's columns, as stored and as its receipt shows them."""
    return {
        "item_id": item.id,
        "version": version,
        "receipt_no": f"BN-{item.id}-{version}",
        "received_at": now,
        "channel": request.channel,
        "submitted_by": request.actor.label[:128],
        "source_address": (request.source_address or None) and request.source_address[:255],
        "accepted": True,
        "narrative": checked.narrative,
        "progress_state": checked.progress_state.value if checked.progress_state else None,
        "progress_note": checked.progress_note,
        "progress_on": checked.progress_on,
        "idempotency_key": _scoped_key(item.unit_id, request.idempotency_key),
        "content_hash": checked.content_hash(),
    }


def store_submission(
    item: DueItem,
    checked: CheckedSubmission,
    *,
    session: Session,
    request: SubmitRequest,
    now: datetime,
    blobs: StagedBlobs,
    version: int | None = None,
) -> Receipt:
    """Insert `checked` as the item's next version, with its audit event; its receipt.

    The caller holds the item's lock (`intake.locks.lock_item`), so `version`, when given, is
    still the next one; IntegrityError means a concurrent writer won all the same. The rows
    are written as they are (no ORM unit of work): nothing else in the session changes. The
    attachments' bytes go to `blobs`, which the caller publishes after the commit.
    """
    if version is None:
        version = session.scalar(select(_next_version(item.id)))
        assert version is not None
    row = _submission_row(item, checked, request=request, now=now, version=version)
    row["id"] = session.execute(_INSERT_SUBMISSION, row).scalar_one()
    if checked.values:
        session.execute(
            _INSERT_VALUE,
            [
                {
                    "submission_id": row["id"],
                    "target_id": v.target.target_id,
                    "number": v.value.number,
                    "text": v.value.text,
                    "flag": v.value.flag,
                }
                for v in checked.values
            ],
        )
    files = [
        _store_attachment(upload, row["id"], session=session, blobs=blobs)
        for upload in checked.attachments
    ]
    # In the same transaction as the version: the dashboard counts on time from the item.
    refresh_first_acceptance([item.id], session=session)
    event = event_row(
        actor=request.actor,
        action="submission.create",
        object_type="submission",
        object_id=str(row["id"]),
        source_address=request.source_address,
        details={
            "item_id": item.id,
            "version": version,
            "receipt_no": row["receipt_no"],
            "channel": request.channel,
            "content_hash": row["content_hash"],
        },
        now=now,
    )
    session.execute(_INSERT_EVENT, event)
    values = [
        receipt_value(
            v.target.code, v.target.name, v.target.kind, v.target.unit_of_measure, v.value
        )
        for v in checked.values
    ]
    warnings = ratio_warnings(values, plan_id=item.plan_id, session=session)
    return receipt(item, row, values=values, files=files, warnings=warnings)


def _table(model: type[Base]) -> Table:
    return cast(Table, model.__table__)


# Core inserts on the tables: the ORM's unit of work cost more than the rows themselves.
_INSERT_SUBMISSION = insert(_table(Submission)).returning(_table(Submission).c.id)
_INSERT_VALUE = insert(_table(SubmissionValue))
_INSERT_ATTACHMENT = insert(_table(Attachment)).returning(_table(Attachment).c.id)
_INSERT_EVENT = insert(_table(AuditEvent))


def _store_attachment(
    upload: Upload, submission_id: int, *, session: Session, blobs: StagedBlobs
) -> ReceiptFile:
    """The file's bytes staged on disk (published by content hash after the commit), its row."""
    sha256 = upload.sha256
    attachment_id = session.execute(
        _INSERT_ATTACHMENT,
        {
            "submission_id": submission_id,
            "filename": upload.filename,
            "content_type": upload.content_type[:128],
            "size_bytes": len(upload.data),
            "sha256": sha256,
            "storage_key": blobs.stage(upload.data, sha256),
            "role": upload.role,
        },
    ).scalar_one()
    return ReceiptFile(attachment_id, upload.filename, len(upload.data), sha256, upload.role)


def _replay(first_id: int, item: DueItem, checked: CheckedSubmission, session: Session) -> Receipt:
    """The first receipt of a key sent again with the same content; Conflict for other content."""
    first = session.get_one(Submission, first_id)
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


def _refuse_over_quota(
    item: DueItem, checked: CheckedSubmission, *, session: Session, max_item_bytes: int
) -> None:
    """Refuse new files that would take the item's stored bytes (each file once) over the cap.

    Files the item already holds cost nothing more: sending them again is always allowed.
    """
    held_files = session.execute(
        select(Attachment.sha256, Attachment.size_bytes)
        .join(Submission, Submission.id == Attachment.submission_id)
        .where(Submission.item_id == item.id)
        .distinct()
    )
    held = {sha256: size for sha256, size in held_files}
    new = {a.sha256: len(a.data) for a in checked.attachments if a.sha256 not in held}
    if new and sum(held.values()) + sum(new.values()) > max_item_bytes:
        raise Invalid(
            [
                FieldError(
                    "attachments",
                    "item_quota",
                    f"Tổng dung lượng tệp của báo cáo này vượt giới hạn {megabytes(max_item_bytes)}"
                    f" (đã lưu {megabytes(sum(held.values()))}, lần gửi này thêm "
                    f"{megabytes(sum(new.values()))}). Hãy gửi tệp nhỏ hơn hoặc báo quản trị "
                    "viên.",
                )
            ]
        )


def _submit_once(
    session: Session,
    request: SubmitRequest,
    content: _Content,
    *,
    now: datetime,
    clock: Callable[[], datetime] | None,
    blobs: StagedBlobs,
    max_attachment_bytes: int,
    max_item_bytes: int,
) -> Receipt:
    item = item_to_submit(content.address, session=session, actor=request.actor)
    if clock is not None:
        # The received time, read once the item is locked and the submissions held for
        # writing: versions follow it, and a compilation as of T waits for every writer that
        # read a time up to T (`intake.locks.wait_for_writers`), so replaying T gives the same.
        hold_for_writing(session)
        now = clock()
    scoped_key = _scoped_key(item.unit_id, request.idempotency_key)
    stands = standing(item, scoped_key, session=session)
    latest_id = stands.latest_id if request.replay_unchanged else None
    if stands.first_id is None and latest_id is None:
        # A closed item is said first; only a replay of what was already stored gets through.
        refuse_closed(item, locked_at=stands.locked_at, now=now)
    checked = check_submission(
        form_spec(item, session=session),
        content.raw,
        today=local_date(now),
        max_attachment_bytes=max_attachment_bytes,
    )
    if stands.first_id is not None:
        return _replay(stands.first_id, item, checked, session)
    if latest_id is not None:
        latest = session.get_one(Submission, latest_id)
        if latest.content_hash == checked.content_hash():
            return receipt_of(latest, session=session, replayed=True)
        refuse_closed(item, locked_at=stands.locked_at, now=now)  # new content: said now
    _refuse_over_quota(item, checked, session=session, max_item_bytes=max_item_bytes)
    return store_submission(
        item,
        checked,
        session=session,
        request=request,
        now=now,
        blobs=blobs,
        version=stands.next_version,
    )


def submit(
    sessions: sessionmaker[Session],
    request: SubmitRequest,
    *,
    now: datetime,
    data_dir: Path,
    max_attachment_bytes: int,
    max_item_bytes: int = ITEM_MAX_BYTES,
    clock: Callable[[], datetime] | None = None,
    attempts: int = 10,
) -> Receipt:
    """Read, address, check and store one submission in its own transaction: all or nothing.

    `now` is when the channel received it; a face that serves people as they come passes its
    `clock` too, and the stored received time is read from it inside the lock (a batch or a
    replayed day stores `now`).

    A concurrent submission for the same item (or the same idempotency key) may make the
    insert fail on a unique key; the whole attempt is then rolled back and run again, so
    both submissions end up as versions and a replayed key finds the first result. The
    attachments' bytes are published under data_dir only once the transaction committed;
    an attempt refused or failed removes what it staged.
    """
    content = _read(request, max_bytes=max_attachment_bytes)
    check_idempotency_key(request.idempotency_key)
    for attempt in range(1, attempts + 1):
        blobs = StagedBlobs(data_dir)
        committed = False
        try:
            with sessions.begin() as session:
                if session.get_bind().dialect.name == "sqlite":
                    # Take SQLite's write lock before the first read (PostgreSQL locks the
                    # item row instead): concurrent writers of one item then queue behind
                    # it rather than all reading the same next version and retrying.
                    session.connection().exec_driver_sql("BEGIN IMMEDIATE")
                result = _submit_once(
                    session,
                    request,
                    content,
                    now=now,
                    clock=clock,
                    blobs=blobs,
                    max_attachment_bytes=max_attachment_bytes,
                    max_item_bytes=max_item_bytes,
                )
            committed = True
        except IntegrityError:
            if attempt == attempts:
                raise
            # Jitter so that racing writers do not collide again in lockstep.
            time.sleep(random.uniform(0, 0.01 * attempt))  # noqa: S311 - not for security
            continue
        finally:
            if not committed:
                blobs.discard()
        # Once committed, staged files are only ever published (now, or by collect_orphans
        # if this fails): the database refers to them.
        blobs.publish()
        return result
    raise AssertionError("unreachable")  # pragma: no cover
