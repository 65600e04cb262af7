"""One submission through dondoc's intake against hand-written SQL storing the same rows.

Each side stores a monthly report (both targets' values) of a commune, addressed by unit,
obligation and period as an officer sends it, with its own Idempotency-Key, in its own
transaction: the submission, its two values and its audit row. dondoc goes the whole way a
face goes (address, open and locked period checks, idempotency, the check of every value,
the receipt); the SQL locks the item, numbers the version and inserts, nothing more. Both
sides write to the same items of the same database, in alternation, and are timed per batch
of submissions; the result is the best time of one submission on each side and their ratio.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Engine, bindparam, select, text

from access.actor import Actor
from benchmarks.sinks import HOST
from benchmarks.timing import compare
from intake.address import ItemAddress
from intake.store import SubmitRequest, submit
from models.access import AuditEvent, Role
from models.base import UTCDateTime
from models.db import session_factory
from models.org import Unit
from models.submissions import Submission, SubmissionValue
from submissions.content import RawSubmission

OBLIGATION = "bc-thang-xa"
PERIOD = "2024-05"  # open at NOW and not locked
NOW = datetime(2024, 6, 3, 2, tzinfo=UTC)
BATCH = 20  # submissions per timed run, one commune each
TAG = "bench-intake"  # in every idempotency key, with the side and a run stamp

ITEM_SQL = """
    SELECT d.id FROM due_items d
    JOIN units u ON u.id = d.unit_id
    JOIN obligations o ON o.id = d.obligation_id
    WHERE u.code = :unit AND o.code = :obligation AND d.period_label = :period
"""
NEXT_VERSION_SQL = text(
    "SELECT coalesce(max(version), 0) + 1 FROM submissions WHERE item_id = :item_id"
)
SUBMISSION_SQL = text(
    """
    INSERT INTO submissions (item_id, version, receipt_no, received_at, channel, submitted_by,
        source_address, accepted, narrative, idempotency_key, content_hash)
    VALUES (:item_id, :version, :receipt_no, :received_at, 'api', :submitted_by,
        :source_address, true, :narrative, :idempotency_key, :content_hash)
    RETURNING id
    """
).bindparams(bindparam("received_at", type_=UTCDateTime), bindparam("narrative", type_=JSON))
VALUE_SQL = text(
    """
    INSERT INTO submission_values (submission_id, target_id, number)
    SELECT :submission_id, t.id, :number FROM targets t WHERE t.code = :code
    """
)
AUDIT_SQL = text(
    """
    INSERT INTO audit_events (at, actor, actor_unit_id, action, object_type, object_id,
        source_address, details)
    VALUES (:at, :actor, :unit_id, 'submission.create', 'submission', :object_id,
        :source_address, :details)
    """
).bindparams(bindparam("at", type_=UTCDateTime), bindparam("details", type_=JSON))


def _officers(engine: Engine) -> list[Actor]:
    with session_factory(engine)() as session:
        rows = session.execute(
            select(Unit.id, Unit.code)
            .where(Unit.kind == "commune")
            .order_by(Unit.code)
            .limit(BATCH)
        ).all()
    return [
        Actor(role=Role.UNIT, label=f"unit:{code} token#0", unit_id=unit_id, unit_code=code)
        for unit_id, code in rows
    ]


def _values(n: int) -> dict[str, int]:
    return {"viec-lam": n % 50, "ho-ngheo": 300 + n % 7}


def _through_dondoc(
    engine: Engine, officers: list[Actor], data_dir: Path, stamp: int
) -> Callable[[], int]:
    sessions = session_factory(engine)
    counter = itertools.count()

    def run() -> int:
        for actor in officers:
            n = next(counter)
            submit(
                sessions,
                SubmitRequest(
                    address=ItemAddress(unit=actor.unit_code, source=OBLIGATION, period=PERIOD),
                    actor=actor,
                    channel="api",
                    raw=RawSubmission(values=_values(n)),
                    source_address=HOST,
                    idempotency_key=f"{TAG}-dondoc-{stamp}-{n}",
                ),
                now=NOW,
                data_dir=data_dir,
                max_attachment_bytes=10 * 2**20,
            )
        return len(officers)

    return run


def _by_hand(engine: Engine, officers: list[Actor], stamp: int) -> Callable[[], int]:
    counter = itertools.count()
    postgres = engine.dialect.name == "postgresql"
    item_sql = text(ITEM_SQL + (" FOR UPDATE OF d" if postgres else ""))

    def one(actor: Actor, n: int) -> None:
        values = _values(n)
        key = f"{actor.unit_id}:{TAG}-sql-{stamp}-{n}"
        content = json.dumps({"values": values, "key": key}, sort_keys=True)
        with engine.begin() as conn:
            if not postgres:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            item_id = conn.execute(
                item_sql, {"unit": actor.unit_code, "obligation": OBLIGATION, "period": PERIOD}
            ).scalar_one()
            version = conn.execute(NEXT_VERSION_SQL, {"item_id": item_id}).scalar_one()
            receipt_no = f"BN-{item_id}-{version}"
            submission_id = conn.execute(
                SUBMISSION_SQL,
                {
                    "item_id": item_id,
                    "version": version,
                    "receipt_no": receipt_no,
                    "received_at": NOW,
                    "submitted_by": actor.label,
                    "source_address": HOST,
                    "narrative": {},
                    "idempotency_key": key,
                    "content_hash": hashlib.sha256(content.encode()).hexdigest(),
                },
            ).scalar_one()
            conn.execute(
                VALUE_SQL,
                [
                    {"submission_id": submission_id, "code": code, "number": number}
                    for code, number in values.items()
                ],
            )
            conn.execute(
                AUDIT_SQL,
                {
                    "at": NOW,
                    "actor": actor.label,
                    "unit_id": actor.unit_id,
                    "object_id": str(submission_id),
                    "source_address": HOST,
                    "details": {"item_id": item_id, "version": version, "receipt_no": receipt_no},
                },
            )

    def run() -> int:
        for actor in officers:
            one(actor, next(counter))
        return len(officers)

    return run


def _stored(engine: Engine, side: str, stamp: int) -> dict[str, int]:
    """Rows each side wrote: submissions, their values, their audit events."""
    with engine.connect() as conn:
        ids = [
            row.id
            for row in conn.execute(
                select(Submission.id).where(
                    Submission.idempotency_key.like(f"%:{TAG}-{side}-{stamp}-%")
                )
            )
        ]
        values = conn.execute(
            select(SubmissionValue.id).where(SubmissionValue.submission_id.in_(ids))
        ).all()
        audits = conn.execute(
            select(AuditEvent.id).where(
                AuditEvent.action == "submission.create",
                AuditEvent.object_id.in_([str(i) for i in ids]),
            )
        ).all()
    return {"submissions": len(ids), "values": len(values), "audit_events": len(audits)}


def run(engine: Engine, repeat: int = 5) -> dict[str, Any]:
    officers = _officers(engine)
    stamp = time.time_ns()
    with tempfile.TemporaryDirectory() as tmp:
        timed = compare(
            {
                "dondoc": _through_dondoc(engine, officers, Path(tmp), stamp),
                "baseline": _by_hand(engine, officers, stamp),
            },
            repeat,
            memory=False,
        )
    runs = (repeat + 1) * len(officers)
    ours, theirs = _stored(engine, "dondoc", stamp), _stored(engine, "sql", stamp)
    expected = {"submissions": runs, "values": 2 * runs, "audit_events": runs}
    if ours != expected or theirs != expected:
        raise AssertionError(f"stored by dondoc {ours}, by SQL {theirs}; expected {expected}")
    ours_s = timed["dondoc"]["best_s"] / len(officers)
    base_s = timed["baseline"]["best_s"] / len(officers)
    return {
        "benchmark": "intake",
        "title": "one submission: dondoc's intake against hand-written SQL",
        "submissions": 2 * runs,
        "dondoc_s": ours_s,
        "baseline_s": base_s,
        "ratio": ours_s / base_s,
        "goal": "ratio <= 3",
        "met": ours_s / base_s <= 3,
    }
