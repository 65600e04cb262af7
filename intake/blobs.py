"""Attachments stored by content hash under the data folder."""

from __future__ import annotations

import os
import uuid
from pathlib import Path


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
