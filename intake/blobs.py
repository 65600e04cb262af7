"""Attachments stored by content hash under the data folder, published once their row commits.

A submission stages each file's bytes under `attachments/.staging/` (a name of its own) before
its transaction commits, and publishes them after: one rename each to
`attachments/<aa>/<sha256>`. A refused or failed attempt removes what it staged, so it leaves
nothing behind. A process killed in between leaves a staged file; `collect_orphans` publishes
it when a stored submission refers to its hash, else removes it after a grace period.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, sessionmaker

from models.submissions import Attachment

log = logging.getLogger(__name__)

ATTACHMENTS = "attachments"
STAGING = ".staging"
# Far longer than any submission's transaction: a younger staged or unreferenced file may
# belong to a submission still on its way to the commit.
GRACE = timedelta(hours=1)


def storage_key(sha256: str) -> str:
    """Where the bytes of this hash live, relative to the data folder."""
    return f"{ATTACHMENTS}/{sha256[:2]}/{sha256}"


def _write_synced(path: Path, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


@dataclass
class StagedBlobs:
    """The files one submission attempt wrote, not yet visible under their storage key."""

    data_dir: Path
    files: list[tuple[Path, str]] = field(default_factory=list)

    def stage(self, data: bytes, sha256: str) -> str:
        """Write the bytes under a staging name of their own; returns the storage key."""
        folder = self.data_dir / ATTACHMENTS / STAGING
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{sha256}.{uuid.uuid4().hex}"
        self.files.append((path, sha256))
        _write_synced(path, data)
        return storage_key(sha256)

    def publish(self) -> None:
        """After the commit: move each file to its storage key (same hash, same bytes).

        The submission is stored by then: a file that cannot be moved now stays staged, and
        `collect_orphans` publishes it later.
        """
        for path, sha256 in self.files:
            try:
                _publish(self.data_dir, path, sha256)
            except OSError as error:
                log.warning("attachment %s stays staged: %s", sha256, type(error).__name__)
        self.files.clear()

    def discard(self) -> None:
        """After a refusal or a failure: remove what this attempt staged."""
        for path, _ in self.files:
            path.unlink(missing_ok=True)
        self.files.clear()


def _publish(data_dir: Path, staged: Path, sha256: str) -> None:
    final = data_dir / storage_key(sha256)
    final.parent.mkdir(parents=True, exist_ok=True)
    os.replace(staged, final)  # atomic; a file already there holds the same bytes


def _older_than(path: Path, cutoff: datetime) -> bool:
    try:
        return datetime.fromtimestamp(path.stat().st_mtime, UTC) < cutoff
    except FileNotFoundError:
        return False


@dataclass(frozen=True)
class Collected:
    """What one collection did: files published late, files removed."""

    published: int
    removed: int


def collect_orphans(
    data_dir: Path,
    referenced: Iterable[str],
    still_referenced: Callable[[str], bool],
    *,
    now: datetime,
) -> Collected:
    """Publish staged files whose hash a stored submission refers to; remove stale orphans.

    `referenced` holds the sha256 of every stored attachment, read before the folder is
    scanned; `still_referenced` asks the database again about one hash. Only files older
    than GRACE are touched, and a published file is first moved aside and asked about
    again, so a submission committing meanwhile (it publishes after its commit) keeps it.
    """
    known = set(referenced)
    cutoff = now - GRACE
    root = data_dir / ATTACHMENTS
    published = removed = 0
    staging = root / STAGING
    for path in sorted(staging.iterdir()) if staging.is_dir() else []:
        sha256 = path.name.split(".", 1)[0]
        if not _older_than(path, cutoff):
            continue
        if sha256 in known or still_referenced(sha256):
            _publish(data_dir, path, sha256)
            published += 1
        else:
            path.unlink(missing_ok=True)
            removed += 1
    for path in sorted(root.glob("??/*")) if root.is_dir() else []:
        if path.name in known or not _older_than(path, cutoff):
            continue  # named by its hash; anything else there is a write a crash cut short
        aside = staging / f"{path.name}.{uuid.uuid4().hex}.collected"
        staging.mkdir(parents=True, exist_ok=True)
        os.replace(path, aside)
        if still_referenced(path.name):
            os.replace(aside, path)
        else:
            aside.unlink()
            removed += 1
    return Collected(published, removed)


def collect_orphan_files(
    sessions: sessionmaker[Session], data_dir: Path, *, now: datetime
) -> Collected:
    """`collect_orphans` against the stored attachments' hashes."""
    with sessions() as session:
        referenced = set(session.scalars(select(Attachment.sha256).distinct()))

    def still_referenced(sha256: str) -> bool:
        with sessions() as session:
            return bool(session.scalar(select(exists().where(Attachment.sha256 == sha256))))

    return collect_orphans(data_dir, referenced, still_referenced, now=now)
