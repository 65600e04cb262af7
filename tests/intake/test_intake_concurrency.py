"""Concurrent submissions for one item: every one becomes a version, none is lost."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import Engine, select

from intake.address import ItemAddress, form_spec
from intake.blobs import StagedBlobs
from intake.locks import lock_item
from intake.receipts import Receipt
from intake.store import SubmitRequest, store_submission, submit
from models.db import session_factory
from models.items import DueItem
from models.submissions import Submission
from submissions.content import RawSubmission, check_submission
from tests.support.intake import LOADER, NOW, Portal, item_id, new_token, stored

MONTH = {"obligation": "bao-cao-thang", "period": "2024-04"}


def test_parallel_posts_for_one_item_all_end_up_as_versions(portal: Portal) -> None:
    token = new_token(portal.engine, "xa-mot")
    n = 8
    start = threading.Barrier(n)

    def send(i: int) -> Any:
        with portal.client(token) as client:
            start.wait()
            return client.post(
                "/api/v1/submissions", json={**MONTH, "values": {"viec-lam": i, "ty-le": 50}}
            )

    with ThreadPoolExecutor(n) as pool:
        responses = list(pool.map(send, range(n)))
    assert [r.status_code for r in responses] == [201] * n, [r.text for r in responses]
    assert sorted(r.json()["version"] for r in responses) == list(range(1, n + 1))
    assert len({r.json()["receipt_no"] for r in responses}) == n
    item = item_id(portal.engine, "xa-mot", "bao-cao-thang", "2024-04")
    with session_factory(portal.engine)() as session:
        rows = session.scalars(select(Submission).where(Submission.item_id == item)).all()
        assert sorted(s.version for s in rows) == list(range(1, n + 1))
        sent = sorted(int(v.number) for s in rows for v in s.values if v.target.code == "viec-lam")
    assert sent == list(range(n))  # every submission's own content, none lost or mixed up


def test_parallel_retries_with_one_idempotency_key_store_once(portal: Portal) -> None:
    token = new_token(portal.engine, "xa-mot")
    n = 6
    start = threading.Barrier(n)
    payload = {**MONTH, "values": {"viec-lam": 7, "ty-le": 50}}

    def send(_: int) -> Any:
        with portal.client(token) as client:
            start.wait()
            return client.post(
                "/api/v1/submissions", json=payload, headers={"Idempotency-Key": "double-click"}
            )

    with ThreadPoolExecutor(n) as pool:
        responses = list(pool.map(send, range(n)))
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["receipt_no"] for r in responses}) == 1
    assert sum(not r.json()["replayed"] for r in responses) == 1
    assert stored(portal.engine)["submissions"] == 1


def test_a_writer_behind_an_open_transaction_waits_then_stores_the_next_version(
    loaded: Engine, tmp_path: Any
) -> None:
    sessions = session_factory(loaded)
    item = item_id(loaded, "xa-mot", "bao-cao-thang", "2024-04")
    raw = RawSubmission(values={"viec-lam": 1, "ty-le": 2})
    request = SubmitRequest(address=ItemAddress(item_id=item), actor=LOADER, channel="cli", raw=raw)
    holder = sessions()
    holder.begin()
    row = holder.get(DueItem, item)
    assert row is not None
    lock_item(row, session=holder)
    checked = check_submission(
        form_spec(row, session=holder), raw, today=NOW.date(), max_attachment_bytes=1
    )
    first = store_submission(
        row, checked, session=holder, request=request, now=NOW, blobs=StagedBlobs(tmp_path)
    )
    assert first.version == 1
    result: dict[str, Receipt] = {}
    second = threading.Thread(
        target=lambda: result.update(
            receipt=submit(sessions, request, now=NOW, data_dir=tmp_path, max_attachment_bytes=1)
        )
    )
    second.start()
    time.sleep(0.5)
    assert second.is_alive()  # blocked behind the first writer (row lock or database lock)
    holder.commit()
    holder.close()
    second.join(timeout=30)
    assert result["receipt"].version == 2
    assert stored(loaded)["submissions"] == 2
