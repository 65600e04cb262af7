"""Attachments: nothing left on disk by a refused or failed submission, orphans collected safely,
and a cap on the bytes a unit stores for one item."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from intake import blobs, store
from intake.address import ItemAddress
from intake.blobs import GRACE, StagedBlobs, collect_orphan_files, collect_orphans, storage_key
from intake.store import SubmitRequest, submit
from models.db import session_factory
from submissions.content import RawSubmission, Upload
from submissions.errors import Invalid
from tests.support.intake import LOADER, NOTHING, NOW, stored

MIB = 1024 * 1024
GOOD = {"viec-lam": 5, "ty-le": 50}


def _files(data_dir: Path) -> list[str]:
    root = data_dir / blobs.ATTACHMENTS
    return sorted(p.relative_to(data_dir).as_posix() for p in root.rglob("*") if p.is_file())


def _evidence(name: str, size: int, fill: bytes = b"x") -> Upload:
    return Upload(name, "application/pdf", fill * size)


def _submit(
    engine: Engine,
    data_dir: Path,
    evidence: list[Upload],
    *,
    values: dict[str, object] = GOOD,
    max_item_bytes: int = 50 * MIB,
) -> store.Receipt:
    request = SubmitRequest(
        address=ItemAddress(unit="xa-mot", source="bao-cao-thang", period="2024-04"),
        actor=LOADER,
        channel="api",
        raw=RawSubmission(values=values),
        evidence=evidence,
    )
    return submit(
        session_factory(engine),
        request,
        now=NOW,
        data_dir=data_dir,
        max_attachment_bytes=MIB,
        max_item_bytes=max_item_bytes,
    )


def test_an_accepted_submission_publishes_its_files_and_leaves_nothing_staged(
    loaded: Engine, tmp_path: Path
) -> None:
    proof = _evidence("bien-ban.pdf", 1000)
    receipt = _submit(loaded, tmp_path, [proof])
    assert [a.sha256 for a in receipt.attachments] == [proof.sha256]
    assert _files(tmp_path) == [storage_key(proof.sha256)]
    assert (tmp_path / storage_key(proof.sha256)).read_bytes() == proof.data


def test_a_refused_or_failed_submission_leaves_no_file_behind(
    loaded: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    proof = _evidence("bien-ban.pdf", 1000)
    with pytest.raises(Invalid):
        _submit(loaded, tmp_path, [proof], values={"viec-lam": -1, "ty-le": 50})

    # A failure after the files were staged, before the commit (the audit row cannot be
    # written, say): the transaction rolls back and the staged files go with it.
    def audit_fails(**_kwargs: object) -> None:
        raise OSError("no space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(store, "event_row", audit_fails)
        with pytest.raises(OSError, match="no space"):
            _submit(loaded, tmp_path, [proof])
    assert stored(loaded) == NOTHING
    assert _files(tmp_path) == []


def _age(path: Path, by: timedelta) -> None:
    then = (datetime.now(UTC) - by).timestamp()
    os.utime(path, (then, then))


class Killed(BaseException):
    """Stands for SIGKILL at one exact instant: nothing catches it."""


def test_collection_publishes_a_committed_file_and_removes_stale_orphans_only(
    loaded: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Killed between the commit and the publishing: the row refers to a file still staged.
    committed = _evidence("da-luu.pdf", 100, b"c")

    def killed(_self: StagedBlobs) -> None:
        raise Killed

    with monkeypatch.context() as patch:
        patch.setattr(StagedBlobs, "publish", killed)
        with pytest.raises(Killed):
            _submit(loaded, tmp_path, [committed])
    assert stored(loaded)["attachments"] == 1
    staging = tmp_path / blobs.ATTACHMENTS / blobs.STAGING
    # Killed before its commit: a staged file nothing refers to; and one still on its way.
    StagedBlobs(tmp_path).stage(b"lost", "ab" * 32)
    StagedBlobs(tmp_path).stage(b"young", "cd" * 32)
    # A published file nothing refers to (written before the commit by an older dondoc).
    orphan = tmp_path / storage_key("ef" * 32)
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(b"orphan")
    for path in [*staging.iterdir(), orphan]:
        if not path.name.startswith("cd"):
            _age(path, GRACE + timedelta(minutes=1))

    done = collect_orphan_files(session_factory(loaded), tmp_path, now=datetime.now(UTC))

    assert (done.published, done.removed) == (1, 2)
    assert (tmp_path / storage_key(committed.sha256)).read_bytes() == committed.data
    assert [p.name.split(".")[0] for p in staging.iterdir()] == ["cd" * 32]
    assert not orphan.exists()


def test_collection_keeps_a_file_whose_submission_commits_while_it_runs(
    loaded: Engine, tmp_path: Path
) -> None:
    proof = _evidence("bien-ban.pdf", 100)
    receipt = _submit(loaded, tmp_path, [proof])
    path = tmp_path / storage_key(proof.sha256)
    _age(path, GRACE + timedelta(minutes=1))
    sessions = session_factory(loaded)
    # The hashes were read before that submission committed: the file is asked about again.
    done = collect_orphans(
        tmp_path,
        referenced=set(),
        still_referenced=lambda sha: sha == receipt.attachments[0].sha256,
        now=datetime.now(UTC),
    )
    assert done.removed == 0 and path.read_bytes() == proof.data
    assert collect_orphan_files(sessions, tmp_path, now=datetime.now(UTC)).removed == 0
    assert _files(tmp_path) == [storage_key(proof.sha256)]


def test_a_units_files_for_one_item_are_capped_each_counted_once(
    loaded: Engine, tmp_path: Path
) -> None:
    first = _evidence("anh-1.jpg", 600 * 1024, b"1")
    second = _evidence("anh-2.jpg", 600 * 1024, b"2")
    _submit(loaded, tmp_path, [first], max_item_bytes=MIB)
    # Sending the same file again costs nothing more.
    _submit(loaded, tmp_path, [first], values={**GOOD, "viec-lam": 6}, max_item_bytes=MIB)
    with pytest.raises(Invalid) as refused:
        _submit(loaded, tmp_path, [second], max_item_bytes=MIB)
    [problem] = refused.value.fields
    assert (problem.field, problem.code) == ("attachments", "item_quota")
    assert problem.message.startswith(
        "Tổng dung lượng tệp của báo cáo này vượt giới hạn 1 MB (đã lưu 0,59 MB, lần gửi này"
        " thêm 0,59 MB)."
    )
    assert stored(loaded)["submissions"] == 2
    assert _files(tmp_path) == [storage_key(first.sha256)]
