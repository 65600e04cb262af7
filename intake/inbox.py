"""The inbox folder: claim dropped files by rename, submit each, move it on with a note.

Each file ends in processed/ or rejected/ with a Vietnamese note beside it. A file is always in
exactly one place: inbox/, work/<claim>/, processed/ or rejected/. Each move is one rename on the
same file system, so a run killed at any instant loses nothing; the next run finishes what it
finds in work/ first.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from access.actor import Actor
from intake.address import ItemAddress
from intake.store import SubmitRequest, submit
from models.access import Role
from submissions.content import Upload
from submissions.errors import IntakeError
from submissions.inbox import address_from_name, receipt_note, rejection_report
from submissions.spreadsheet import content_type_of
from wording.vietnamese import local_time

WORK = "work"
PROCESSED = "processed"
REJECTED = "rejected"
REPORT_SUFFIX = ".loi.txt"  # the Vietnamese error report beside a rejected file
RECEIPT_SUFFIX = ".bien-nhan.txt"  # the receipt beside a processed file

# Files still being written by their sender, or an editor's lock file: left alone.
_IGNORED_PREFIXES = (".", "~$")
_IGNORED_SUFFIXES = (".tmp", ".part", ".crdownload", ".partial")


LOCK = ".lock"  # in work/, where only dondoc writes


@contextlib.contextmanager
def exclusive(inbox: Path) -> Iterator[bool]:
    """Hold the inbox for one run; yields False when another run holds it.

    Without it, a run started while another is working would take the other's claims for a
    killed run's leftovers. The operating system releases the lock when a process dies.
    """
    ensure_folders(inbox)
    with open(inbox / WORK / LOCK, "a+b") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_folders(inbox: Path) -> None:
    for name in (WORK, PROCESSED, REJECTED):
        (inbox / name).mkdir(parents=True, exist_ok=True)


def _wanted(path: Path) -> bool:
    name = path.name
    return (
        path.is_file()
        and not name.startswith(_IGNORED_PREFIXES)
        and not name.casefold().endswith(_IGNORED_SUFFIXES)
    )


def waiting(inbox: Path) -> list[Path]:
    """Files dropped in the inbox, oldest name first."""
    return sorted(p for p in inbox.iterdir() if _wanted(p))


def leftovers(inbox: Path) -> list[Path]:
    """Files a killed run claimed but did not finish; empty claim folders are removed."""
    found: list[Path] = []
    for claim in sorted((inbox / WORK).iterdir()):
        if not claim.is_dir():
            continue
        files = [p for p in claim.iterdir() if p.is_file()]
        if files:
            found += sorted(files)
        else:
            claim.rmdir()
    return found


def claim(path: Path, inbox: Path) -> Path | None:
    """Move a waiting file into its own work/<claim>/ folder; None if another run took it."""
    folder = inbox / WORK / uuid.uuid4().hex
    folder.mkdir()
    target = folder / path.name
    try:
        os.rename(path, target)
    except FileNotFoundError:
        folder.rmdir()
        return None
    return target


def _free_name(folder: Path, name: str) -> Path:
    """`name` in folder, or "name (2)", "name (3)"... when a file of that name is there."""
    candidate = folder / name
    stem, suffix = Path(name).stem, Path(name).suffix
    n = 2
    while candidate.exists():
        candidate = folder / f"{stem} ({n}){suffix}"
        n += 1
    return candidate


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def finish(path: Path, inbox: Path, outcome: str, note: str) -> Path:
    """Write the note beside the destination, then move the file there (the last step)."""
    destination = _free_name(inbox / outcome, path.name)
    suffix = REPORT_SUFFIX if outcome == REJECTED else RECEIPT_SUFFIX
    _write_atomically(destination.with_name(destination.name + suffix), note)
    os.rename(path, destination)
    with contextlib.suppress(OSError):  # the emptied claim folder; a later run removes it else
        path.parent.rmdir()
    return destination


# ---------------------------------------------------------------- submitting the files

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
    ensure_folders(inbox)
    claimed = leftovers(inbox)
    for path in waiting(inbox):
        target = claim(path, inbox)
        if target is not None:
            claimed.append(target)
    return claimed


def process_file(
    path: Path,
    *,
    inbox: Path,
    sessions: sessionmaker[Session],
    now: datetime,
    data_dir: Path,
    max_upload_bytes: int,
) -> FileOutcome:
    """Submit one claimed file, then move it; safe to run again after a crash.

    The idempotency key is the file's SHA-256, so a file stored just before a crash is found
    again (not stored twice) when the rerun processes it. Errors other than a refusal (the
    database down, say) propagate and leave the file in work/ for the next run.
    """
    if not path.exists():
        return FileOutcome(path.name, "gone", None)
    name = path.name
    data = path.read_bytes()
    unit, source, period = address_from_name(name)
    try:
        receipt = submit(
            sessions,
            SubmitRequest(
                address=ItemAddress(unit=unit, source=source, period=period),
                actor=INBOX_ACTOR,
                channel="inbox",
                file=Upload(name, content_type_of(name), data),
                source_address=f"inbox:{name}"[:255],
                idempotency_key="inbox:" + hashlib.sha256(data).hexdigest(),
            ),
            now=now,
            data_dir=data_dir,
            max_attachment_bytes=max_upload_bytes,
        )
    except IntakeError as refusal:
        note = rejection_report(name, local_time(now), refusal.message, refusal.fields)
        moved = finish(path, inbox, REJECTED, note)
        return FileOutcome(name, "rejected", str(moved), problems=tuple(refusal.lines()))
    note = receipt_note(
        name,
        local_time(now),
        receipt.receipt_no,
        receipt.version,
        receipt.unit_name,
        receipt.source_title,
        receipt.replayed,
        receipt.warnings,
    )
    moved = finish(path, inbox, PROCESSED, note)
    return FileOutcome(name, "processed", str(moved), receipt.receipt_no, receipt.replayed)


def process_files(
    paths: list[Path],
    *,
    inbox: Path,
    sessions: sessionmaker[Session],
    now: datetime,
    data_dir: Path,
    max_upload_bytes: int,
) -> list[FileOutcome]:
    """`process_file` for each claimed file, in order."""
    return [
        process_file(
            path,
            inbox=inbox,
            sessions=sessions,
            now=now,
            data_dir=data_dir,
            max_upload_bytes=max_upload_bytes,
        )
        for path in paths
    ]
