"""Prefect steps of the inbox flow: claim the waiting files, then submit and move a batch."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from intake.blobs import collect_orphan_files
from intake.inbox import claim_files, process_files
from models.db import open_database, session_factory
from settings import get_settings


@task(name="claim-inbox-files", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=2)
def claim_inbox_files(inbox: str) -> list[str]:
    """Claim every waiting file (and unfinished claims) by atomic rename into work/."""
    return [str(p) for p in claim_files(Path(inbox))]


@task(name="process-inbox-files", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5)
def process_inbox_files(paths: list[str], inbox: str, now: datetime) -> list[dict[str, Any]]:
    """Submit and move a batch of claimed files in one step (not one Prefect task per file)."""
    settings = get_settings()
    engine = open_database(settings.database_url)
    try:
        outcomes = process_files(
            [Path(p) for p in paths],
            inbox=Path(inbox),
            sessions=session_factory(engine),
            now=now,
            data_dir=settings.data_dir,
            max_upload_bytes=settings.upload_max_bytes,
            max_item_bytes=settings.item_max_stored_bytes,
            clock=lambda: datetime.now(UTC),  # each file's received time, taken as it is stored
        )
    finally:
        engine.dispose()
    return [asdict(o) for o in outcomes]


@task(name="collect-orphan-attachments", cache_policy=NO_CACHE)
def collect_orphan_attachments(now: datetime) -> dict[str, int]:
    """Publish attachments a killed submission left staged; remove those nothing refers to."""
    settings = get_settings()
    engine = open_database(settings.database_url)
    try:
        done = collect_orphan_files(session_factory(engine), settings.data_dir, now=now)
    finally:
        engine.dispose()
    return asdict(done)
