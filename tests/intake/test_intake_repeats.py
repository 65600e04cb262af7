"""A report sent again: by what it means (item and content) in the inbox, by its key elsewhere."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from intake.address import ItemAddress
from intake.store import SubmitRequest, submit
from models.db import session_factory
from models.submissions import Submission
from submissions.content import RawSubmission
from submissions.errors import Conflict
from tests.support.intake import LOADER, NOW, filled_template, item_id, run_inbox, stored


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    folder = tmp_path / "inbox"
    folder.mkdir()
    return folder


def _versions(engine: Engine, period: str) -> list[tuple[int, int]]:
    """(version, viec-lam as stored) of xa-mot's monthly report for the period."""
    item = item_id(engine, "xa-mot", "bao-cao-thang", period)
    with session_factory(engine)() as session:
        rows = session.scalars(
            select(Submission).where(Submission.item_id == item).order_by(Submission.version)
        ).all()
        return [
            (s.version, next(int(v.number or 0) for v in s.values if v.target.code == "viec-lam"))
            for s in rows
        ]


def test_the_same_file_for_another_period_is_a_new_report(
    loaded: Engine, inbox: Path, tmp_path: Path
) -> None:
    # No period in the template: the file names say which month each copy is for.
    data = filled_template(loaded, "csv", {"viec-lam": 12, "ty-le": 50})
    for period in ("2024-03", "2024-04"):
        (inbox / f"xa-mot__bao-cao-thang__{period}.csv").write_bytes(data)
    outcomes = run_inbox(loaded, inbox, tmp_path / "var")
    assert [(o.outcome, o.replayed) for o in outcomes] == [("processed", False)] * 2
    assert _versions(loaded, "2024-03") == _versions(loaded, "2024-04") == [(1, 12)]


def test_going_back_to_an_earlier_file_stores_it_again_and_a_copy_is_recognised(
    loaded: Engine, inbox: Path, tmp_path: Path
) -> None:
    name = "xa-mot__bao-cao-thang__2024-04.csv"
    first = filled_template(loaded, "csv", {"viec-lam": 10, "ty-le": 50})
    corrected = filled_template(loaded, "csv", {"viec-lam": 11, "ty-le": 50})
    receipts = []
    for data in (first, first, corrected, first):  # a copy, a correction, then back to A
        (inbox / name).write_bytes(data)
        [outcome] = run_inbox(loaded, inbox, tmp_path / "var")
        assert outcome.outcome == "processed"
        receipts.append((outcome.receipt_no, outcome.replayed))
    item = item_id(loaded, "xa-mot", "bao-cao-thang", "2024-04")
    assert receipts == [
        (f"BN-{item}-1", False),
        (f"BN-{item}-1", True),  # the same file sent twice: the earlier receipt
        (f"BN-{item}-2", False),
        (f"BN-{item}-3", False),  # back to A: the latest version holds A's figures
    ]
    assert _versions(loaded, "2024-04") == [(1, 10), (2, 11), (3, 10)]


def _keyed(engine: Engine, tmp_path: Path, period: str, ty_le: object) -> str:
    """An API-style submission with the client's key "lan-gui-1"; its receipt number."""
    request = SubmitRequest(
        address=ItemAddress(unit="xa-mot", source="bao-cao-thang", period=period),
        actor=LOADER,
        channel="api",
        raw=RawSubmission(values={"viec-lam": 5, "ty-le": ty_le}),
        idempotency_key="lan-gui-1",
    )
    receipt = submit(
        session_factory(engine), request, now=NOW, data_dir=tmp_path, max_attachment_bytes=1
    )
    return receipt.receipt_no + (" (replayed)" if receipt.replayed else "")


def test_a_client_key_names_one_submission_by_its_meaning(loaded: Engine, tmp_path: Path) -> None:
    first = _keyed(loaded, tmp_path, "2024-04", "67,5")
    assert _keyed(loaded, tmp_path, "2024-04", 67.5) == first + " (replayed)"  # same reading
    for period, ty_le in (("2024-04", 70), ("2024-03", "67,5")):  # other content, other item
        with pytest.raises(Conflict) as refused:
            _keyed(loaded, tmp_path, period, ty_le)
        assert refused.value.code == "idempotency_conflict"
        assert refused.value.fields[0].message == f"Đã dùng cho biên nhận {first}."
    assert stored(loaded)["submissions"] == 1
