"""A flow outage recorded in the data folder when dondoc's database cannot take it (it may be
what failed): one small JSON file per flow, read and written under a file lock.

The runs that fail meanwhile still send one mail, then a reminder now and then; the first run
that reaches the database again carries the file into the database's record
(`notifications.run_outages`), so the outage goes on there without a second mail, or ends.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO

from notifications.alerts import (
    NO_DATABASE_VI,
    NOWHERE_VI,
    REMINDER,
    START,
    FailedRun,
    FlowDown,
    email_outage,
    mail_key,
)
from settings import Settings

log = logging.getLogger(__name__)

FOLDER = "run-outages"  # under DONDOC_DATA_DIR


@dataclass
class MarkedOutage:
    """What the file holds: the outage so far and its last failed run."""

    started_at: str  # ISO instants: the file is JSON
    failed_runs: int
    alerted_at: str | None
    run_name: str
    run_id: str
    state: str
    error: str

    def down(self, flow_name: str) -> FlowDown:
        return FlowDown(
            flow_name=flow_name,
            started_at=datetime.fromisoformat(self.started_at),
            failed_runs=self.failed_runs,
            run_name=self.run_name,
            run_id=self.run_id,
            state=self.state,
            error=self.error,
        )

    def last_run(self, flow_name: str) -> FailedRun:
        return FailedRun(flow_name, self.run_name, self.run_id, self.state, self.error)

    def alerted(self) -> datetime | None:
        return datetime.fromisoformat(self.alerted_at) if self.alerted_at else None


def _path(data_dir: Path, flow_name: str) -> Path:
    return data_dir / FOLDER / f"{flow_name}.json"


def _lock(data_dir: Path, flow_name: str) -> IO[str]:
    """The flow's lock file, opened and locked (released when closed). The lock file stays:
    removing it would let a waiting process lock a file nobody else sees."""
    folder = data_dir / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    handle = (folder / f"{flow_name}.lock").open("a", encoding="utf-8")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
    except OSError:
        handle.close()
        raise
    return handle


def _read(path: Path) -> MarkedOutage | None:
    try:
        return MarkedOutage(**json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None


def _write(path: Path, marked: MarkedOutage) -> None:
    """Replaced whole, so a process killed half-way leaves the old file, never half a file."""
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(asdict(marked)), encoding="utf-8")
    os.replace(temporary, path)


def _due(marked: MarkedOutage, now: datetime, every: timedelta) -> str | None:
    alerted = marked.alerted()
    if alerted is None:
        return START
    return REMINDER if now - alerted >= every else None


def failed_without_database(*, settings: Settings, run: FailedRun, now: datetime) -> bool:
    """Count the run in the flow's outage file and send the mail due, if any (the outage's
    first, or a reminder); True when this call sent one. With no usable data folder either,
    the mail is sent unrecorded, as for a first failure: a mail per run beats none."""
    try:
        lock = _lock(settings.data_dir, run.flow_name)
    except OSError as exc:
        log.warning("outage of %s cannot be recorded (%s)", run.flow_name, type(exc).__name__)
        down = FlowDown(run.flow_name, now, 1, run.run_name, run.run_id, run.state, run.error)
        key = mail_key(START, run.run_id, run.flow_name, now)
        return email_outage(
            settings=settings, kind=START, down=down, now=now, key=key, note=NOWHERE_VI
        )
    with lock:
        path = _path(settings.data_dir, run.flow_name)
        marked = _read(path) or MarkedOutage(now.isoformat(), 0, None, "", "", "", "")
        if marked.run_id != run.run_id:  # the run's hook and the server's alert flow: once
            marked.failed_runs += 1
            marked.run_name, marked.run_id = run.run_name, run.run_id
            marked.state, marked.error = run.state, run.error
            _write(path, marked)
        kind = _due(marked, now, timedelta(hours=settings.alert_reminder_hours))
        if kind is None:
            return False
        key = mail_key(kind, run.run_id, run.flow_name, now)
        # Not sent (the mail server is down too): not marked, so the next failure tries again.
        sent = email_outage(
            settings=settings,
            kind=kind,
            down=marked.down(run.flow_name),
            now=now,
            key=key,
            note=NO_DATABASE_VI,
        )
        marked.alerted_at = now.isoformat()
        _write(path, marked)
        return sent


@contextmanager
def carried(data_dir: Path, flow_name: str) -> Iterator[MarkedOutage | None]:
    """The flow's outage file, if any, held locked while the caller records it in the
    database; removed when the caller's block succeeds, kept when it raises."""
    path = _path(data_dir, flow_name)
    if not path.exists():  # the usual case: no lock taken
        yield None
        return
    with _lock(data_dir, flow_name):
        marked = _read(path)
        yield marked
        if marked is not None:
            path.unlink()
