"""A deterministic synthetic province: communes, departments, a year of reports and submissions."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from models.acceptance import refresh_first_acceptance
from models.items import DueItem
from models.plan import Target
from models.submissions import Submission, SubmissionValue
from plan_sync.sync import load_plan
from plans.schema import PlanFile

YEAR = 2024
DEPARTMENTS = 20


def synthetic_plan(communes: int, officers: int | None = None) -> PlanFile:
    """A province committee, DEPARTMENTS departments and `communes` communes reporting monthly.

    The first `officers` communes (all by default) have a reporting officer reachable by email
    and Zalo Bot; the others have nobody to remind, as in a real province mid-roll-out.
    """
    reachable = communes if officers is None else min(officers, communes)
    units = [{"code": "ubnd-tinh", "name": "UBND tỉnh Mẫu", "kind": "committee"}]
    units += [
        {"code": f"so-{d:02d}", "name": f"Sở {d:02d}", "kind": "department", "parent": "ubnd-tinh"}
        for d in range(1, DEPARTMENTS + 1)
    ]
    units += [
        {
            "code": f"xa-{c:05d}",
            "name": f"UBND xã {c:05d}",
            "kind": "commune",
            "parent": "ubnd-tinh",
        }
        for c in range(1, communes + 1)
    ]
    people = [
        {
            "code": f"cb-xa-{c:05d}",
            "unit": f"xa-{c:05d}",
            "name": f"Cán bộ xã {c:05d}",
            "role": "reporting_officer",
            "email": f"xa{c:05d}@example.org",
            "zalo_chat_id": f"chat-{c:05d}",
        }
        for c in range(1, reachable + 1)
    ]
    return PlanFile.model_validate(
        {
            "plan": {
                "code": f"synthetic-{communes}",
                "issuer": "ubnd-tinh",
                "year": YEAR,
                "title": "Kế hoạch tổng hợp (dữ liệu giả lập)",
                "place": "Tỉnh Mẫu",
                "sample": "Toàn bộ dữ liệu là giả lập cho đo hiệu năng.",
            },
            "units": units,
            "people": people,
            "groups": [
                {"code": "cac-xa", "name": "UBND các xã", "kinds": ["commune"]},
                {"code": "cac-so", "name": "Các sở", "kinds": ["department"]},
            ],
            "targets": [
                {
                    "code": "viec-lam",
                    "name": "Việc làm mới",
                    "unit_of_measure": "người",
                    "kind": "count",
                    "goal": ">= 100000",
                    "aggregation": "sum",
                },
                {
                    "code": "ho-ngheo",
                    "name": "Số hộ nghèo",
                    "unit_of_measure": "hộ",
                    "kind": "count",
                    "aggregation": "last",
                },
            ],
            "obligations": [
                {
                    "code": "bc-thang-xa",
                    "title": "Báo cáo tháng của xã",
                    "cadence": "monthly",
                    "deadline": {"kind": "working_days_after", "n": 2},
                    "reporters": ["cac-xa"],
                    "recipient": "so-01",
                    "targets": ["viec-lam", "ho-ngheo"],
                },
                {
                    "code": "bc-quy-so",
                    "title": "Báo cáo quý của sở",
                    "cadence": "quarterly",
                    "deadline": {"kind": "day_of_month", "day": 18, "month_offset": 0},
                    "reporters": ["cac-so"],
                    "recipient": "ubnd-tinh",
                    "targets": ["viec-lam"],
                },
            ],
        }
    )


@dataclass(frozen=True)
class Generated:
    items: int
    submissions: int
    values: int


def generate(
    communes: int, *, session: Session, seed: int = 2024, officers: int | None = None
) -> Generated:
    """Load the synthetic plan and a year of submissions: ~75% on time (between the report's
    opening and its deadline), 15% late (up to 10 days), 10% never, and one in ten reports
    amended by a second version 3 days later. Same seed, same data."""
    load_plan(
        synthetic_plan(communes, officers),
        session=session,
        now=datetime(YEAR, 1, 1, tzinfo=UTC),
    )
    rng = random.Random(seed)  # noqa: S311 (reproducible test data, not security)
    targets = {t.code: t.id for t in session.scalars(select(Target))}
    items = session.execute(
        select(DueItem.id, DueItem.opens_at, DueItem.deadline_at).order_by(DueItem.id)
    ).all()
    submissions: list[dict[str, object]] = []
    values: list[dict[str, object]] = []
    next_id = (
        session.scalar(select(Submission.id).order_by(Submission.id.desc()).limit(1)) or 0
    ) + 1
    for item_id, opens_at, deadline_at in items:
        roll = rng.random()
        if roll < 0.10:
            continue
        if roll > 0.85:  # late
            first = deadline_at + timedelta(hours=rng.randint(1, 240))
        else:  # on time: after the report opens, by the deadline
            first = opens_at + (deadline_at - opens_at) * rng.random()
        versions = 2 if rng.random() < 0.10 else 1
        for version in range(1, versions + 1):
            received = first + timedelta(days=3 * (version - 1))
            content = f"{item_id}:{version}"
            submissions.append(
                {
                    "id": next_id,
                    "item_id": item_id,
                    "version": version,
                    "receipt_no": f"SYN-{next_id}",
                    "received_at": received,
                    "channel": "api",
                    "submitted_by": "synthetic",
                    "accepted": True,
                    "narrative": {"Kết quả thực hiện": "Dữ liệu giả lập"},
                    "content_hash": hashlib.sha256(content.encode()).hexdigest(),
                }
            )
            values.append(
                {
                    "submission_id": next_id,
                    "target_id": targets["viec-lam"],
                    "number": rng.randint(0, 50),
                }
            )
            values.append(
                {
                    "submission_id": next_id,
                    "target_id": targets["ho-ngheo"],
                    "number": rng.randint(0, 500),
                }
            )
            next_id += 1
    # Plain executemany: psycopg pipelines it, faster here than multi-row VALUES.
    for start in range(0, len(submissions), 5000):
        session.execute(insert(Submission), submissions[start : start + 5000])
    for start in range(0, len(values), 10000):
        session.execute(insert(SubmissionValue), values[start : start + 10000])
    if submissions and session.get_bind().dialect.name == "postgresql":
        # The ids above were chosen here: move the sequence past them for later inserts.
        session.execute(
            text("SELECT setval(pg_get_serial_sequence('submissions', 'id'), :last)"),
            {"last": next_id - 1},
        )
    # As intake keeps it: each item's first acceptance, from the versions just written.
    refresh_first_acceptance(None, session=session)
    session.flush()
    return Generated(items=len(items), submissions=len(submissions), values=len(values))
