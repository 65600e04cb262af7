"""Prefect steps of the inbox flow: claim the waiting files, then store and move a batch."""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlalchemy.orm import Session, sessionmaker

from access.actor import Actor
from intake.address import ItemAddress, merge_addresses
from intake.store import SubmitRequest, submit
from models.access import Role
from models.db import make_engine, session_factory
from settings import Settings, get_settings
from submissions import inbox as box
from submissions.content import Upload
from submissions.errors import FieldError, IntakeError, Invalid
from submissions.spreadsheet import XLSX_TYPE, read_upload
from wording.vietnamese import local_time

INBOX_ACTOR = Actor(role=Role.ADMIN, label="inbox")


@dataclass(frozen=True)
class FileOutcome:
    """What became of one file; plain values for Prefect's results and the flow's summary."""

    name: str
    outcome: str  # processed, rejected, gone (finished by an earlier attempt)
    moved_to: str | None
    receipt_no: str | None = None
    replayed: bool = False
    problems: tuple[str, ...] = ()


def claim_files(inbox: Path) -> list[Path]:
    """Unfinished claims of a killed run first, then every waiting file, claimed by rename."""
    box.ensure_folders(inbox)
    claimed = box.leftovers(inbox)
    for path in box.waiting(inbox):
        target = box.claim(path, inbox)
        if target is not None:
            claimed.append(target)
    return claimed


def process_file(
    path: Path,
    *,
    inbox: Path,
    sessions: sessionmaker[Session],
    settings: Settings,
    now: datetime,
) -> FileOutcome:
    """Read, check and store one claimed file, then move it; safe to run again after a crash.

    The idempotency key is the file's SHA-256, so a file stored just before a crash is found
    again (not stored twice) when the rerun processes it. Errors other than a refusal (the
    database down, say) propagate and leave the file in work/ for the next run.
    """
    if not path.exists():
        return FileOutcome(path.name, "gone", None)
    name = path.name
    data = path.read_bytes()
    try:
        if len(data) > settings.upload_max_bytes:
            raise Invalid(
                [
                    FieldError(
                        "file",
                        "too_large",
                        f"Tệp quá lớn (tối đa {settings.upload_max_bytes // (1024 * 1024)} MB).",
                    )
                ]
            )
        parsed = read_upload(name, data)
        unit, source, period = box.address_from_name(name)
        address = merge_addresses(
            ItemAddress(unit=unit, source=source, period=period),
            ItemAddress(
                item_id=parsed.item_id,
                unit=parsed.unit,
                source=parsed.source,
                period=parsed.period,
            ),
        )
        content_type = (
            XLSX_TYPE
            if name.casefold().endswith(".xlsx")
            else mimetypes.guess_type(name)[0] or "text/plain"
        )
        receipt = submit(
            sessions,
            SubmitRequest(
                address=address,
                actor=INBOX_ACTOR,
                channel="inbox",
                raw=replace(parsed.raw, attachments=[Upload(name, content_type, data, "source")]),
                source_address=f"inbox:{name}"[:255],
                idempotency_key="inbox:" + hashlib.sha256(data).hexdigest(),
            ),
            now=now,
            data_dir=settings.data_dir,
            max_attachment_bytes=settings.upload_max_bytes,
        )
    except IntakeError as refusal:
        note = box.rejection_report(name, local_time(now), refusal.message, refusal.fields)
        moved = box.finish(path, inbox, box.REJECTED, note)
        return FileOutcome(name, "rejected", str(moved), problems=tuple(refusal.lines()))
    note = box.receipt_note(
        name,
        local_time(now),
        receipt.receipt_no,
        receipt.version,
        receipt.unit_name,
        receipt.source_title,
        receipt.replayed,
    )
    moved = box.finish(path, inbox, box.PROCESSED, note)
    return FileOutcome(name, "processed", str(moved), receipt.receipt_no, receipt.replayed)


@task(name="claim-inbox-files", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=2)
def claim_inbox_files(inbox: str) -> list[str]:
    """Claim every waiting file (and unfinished claims) by atomic rename into work/."""
    return [str(p) for p in claim_files(Path(inbox))]


@task(name="process-inbox-files", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5)
def process_inbox_files(paths: list[str], inbox: str, now: datetime) -> list[dict[str, Any]]:
    """Store and move a batch of claimed files in one step (not one Prefect task per file)."""
    settings = get_settings()
    engine = make_engine(settings.database_url)
    try:
        sessions = session_factory(engine)
        return [
            asdict(
                process_file(
                    Path(p), inbox=Path(inbox), sessions=sessions, settings=settings, now=now
                )
            )
            for p in paths
        ]
    finally:
        engine.dispose()
