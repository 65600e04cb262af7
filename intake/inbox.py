"""The inbox folder: claim dropped files by rename, submit each, move it on with a note.

Each file ends in processed/ or rejected/ with a Vietnamese note beside it. A file is always in
exactly one place: inbox/, work/<claim>/, processed/ or rejected/. Each move is one rename on the
same file system, so a run killed at any instant loses nothing; the next run finishes what it
finds in work/ first.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import traceback
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from access.actor import Actor
from intake.address import ItemAddress
from intake.store import SubmitRequest, file_too_large, submit
from models.access import Role
from settings import ITEM_MAX_BYTES
from submissions.content import Upload
from submissions.errors import IntakeError
from submissions.inbox import (
    address_from_name,
    receipt_note,
    rejection_report,
    unexpected_failure,
)
from submissions.spreadsheet import content_type_of
from wording.vietnamese import local_time

log = logging.getLogger(__name__)

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


# A file name's limit in bytes on the usual file systems (ext4, XFS, NTFS via SMB). A note's
# name is its file's name plus a suffix, so a long name is shortened where it lands.
NAME_MAX = 255
_LONGEST_SUFFIX = max(len(REPORT_SUFFIX.encode()), len(RECEIPT_SUFFIX.encode()))


def _fitted(stem: str, tail: str, room: int) -> str:
    """stem + tail in at most `room` bytes, the stem cut on a character boundary."""
    while stem and len(os.fsencode(stem + tail)) > room:
        stem = stem[:-1]
    return stem + tail


def _free_name(folder: Path, name: str, note_suffix: str) -> Path:
    """`name` in folder, or "name (2)", "name (3)"... when taken; short enough for its note."""
    stem, suffix = Path(name).stem, Path(name).suffix
    if len(os.fsencode(suffix)) > 32:  # not an extension: the name is cut as a whole
        stem, suffix = name, ""
    room = NAME_MAX - _LONGEST_SUFFIX
    candidate = folder / _fitted(stem, suffix, room)
    n = 2
    while candidate.exists() or candidate.with_name(candidate.name + note_suffix).exists():
        candidate = folder / _fitted(stem, f" ({n}){suffix}", room)
        n += 1
    return candidate


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{uuid.uuid4().hex}.tmp")  # bounded, whatever the file's name
    tmp.write_text(text, encoding="utf-8", errors="replace")  # a lone surrogate quoted: "?"
    os.replace(tmp, path)


def finish(path: Path, inbox: Path, outcome: str, note: str) -> Path:
    """Write the note beside the destination, then move the file there (the last step)."""
    suffix = REPORT_SUFFIX if outcome == REJECTED else RECEIPT_SUFFIX
    destination = _free_name(inbox / outcome, path.name, suffix)
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


def shown_name(name: str) -> str:
    """A file name as text: bytes that are not UTF-8 (kept as surrogates by Python) become �."""
    return os.fsencode(name).decode("utf-8", "replace")


def read_bounded(path: Path, max_bytes: int) -> bytes:
    """The file's bytes; a file over `max_bytes` is refused without reading it whole."""
    if path.stat().st_size > max_bytes:
        raise file_too_large(max_bytes)
    with open(path, "rb") as handle:
        data = handle.read(max_bytes + 1)  # the file may have grown since stat()
    if len(data) > max_bytes:
        raise file_too_large(max_bytes)
    return data


# A full or read-only disk fails every file alike: rejecting them would lose good reports.
_SERVER_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS})


def _not_the_files_fault(error: Exception) -> bool:
    """The database dropped the connection, or the server's disk refused to write."""
    if isinstance(error, OperationalError):
        return True
    return isinstance(error, OSError) and error.errno in _SERVER_ERRNOS


def _database_reachable(sessions: sessionmaker[Session]) -> bool:
    try:
        with sessions() as session:
            session.execute(select(1))
    except SQLAlchemyError:
        return False
    return True


def process_file(
    path: Path,
    *,
    inbox: Path,
    sessions: sessionmaker[Session],
    now: datetime,
    data_dir: Path,
    max_upload_bytes: int,
    max_item_bytes: int = ITEM_MAX_BYTES,
    clock: Callable[[], datetime] | None = None,
) -> FileOutcome:
    """Submit one claimed file, then move it; safe to run again after a crash.

    `now` is the batch's time, written in the notes; with a `clock` (a live run) each file's
    received time is read from it when the file is stored, inside its item's lock, so a
    compilation's as-of instant splits the inbox's files as it splits the portal's.

    Whatever the file holds, it ends in processed/ or rejected/: a refusal gets its reasons,
    any other failure a general note with an incident number (logged with its traceback).
    Only an error that is not the file's own stops the run and leaves the file in work/ for
    the next one: the database unreachable, or the inbox's folders not writable.
    """
    if not path.exists():
        return FileOutcome(path.name, "gone", None)
    name = shown_name(path.name)
    when = local_time(now)
    unit, source, period = address_from_name(name)
    try:
        receipt = submit(
            sessions,
            SubmitRequest(
                address=ItemAddress(unit=unit, source=source, period=period),
                actor=INBOX_ACTOR,
                channel="inbox",
                file=Upload(name, content_type_of(name), read_bounded(path, max_upload_bytes)),
                source_address=f"inbox:{name}"[:255],
                replay_unchanged=True,
            ),
            now=now,
            data_dir=data_dir,
            max_attachment_bytes=max_upload_bytes,
            max_item_bytes=max_item_bytes,
            clock=clock,
        )
    except IntakeError as refusal:
        note = rejection_report(name, when, refusal.message, refusal.fields)
        moved = finish(path, inbox, REJECTED, note)
        problems = tuple(refusal.lines())  # encodable: errors.shown replaced any surrogate
        return FileOutcome(name, "rejected", str(moved), problems=problems)
    except Exception as error:
        if _not_the_files_fault(error) or not _database_reachable(sessions):
            raise  # the next run takes it again from work/
        incident = uuid.uuid4().hex[:8]
        # The type and the frames only: the message may quote the file's content.
        log.error(
            "inbox: unexpected %s on %r (incident %s)\n%s",
            type(error).__name__,
            name,
            incident,
            "".join(traceback.format_tb(error.__traceback__)),
        )
        message = unexpected_failure(incident)
        moved = finish(path, inbox, REJECTED, rejection_report(name, when, message, ()))
        return FileOutcome(name, "rejected", str(moved), problems=(message,))
    note = receipt_note(
        name,
        when,
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
    max_item_bytes: int = ITEM_MAX_BYTES,
    clock: Callable[[], datetime] | None = None,
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
            max_item_bytes=max_item_bytes,
            clock=clock,
        )
        for path in paths
    ]
