"""Submissions for report tests, written straight to the ORM, and the Cao Lộc Q1 sample.

SAMPLE DATA: every figure, date and text below is invented for tests and the documentation
picture; none of it is the district's own.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from decimal import Decimal
from itertools import count

import pendulum
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from models import DueItem, Plan, Submission, SubmissionValue, Target
from models.db import transaction
from plan_sync.sync import load_plan
from plans import CAO_LOC_2024
from plans.loader import read_plan
from tests.support.seeded import seeded

VN = "Asia/Ho_Chi_Minh"
_receipts = count(1)

# The Cao Lộc Q1 sample is compiled at 08:00 on Wed 20/03/2024: every Q1 deadline has passed
# (communes 15/03, the centre's March report and the department's report 18/03).
Q1_AS_OF = pendulum.datetime(2024, 3, 20, 8, 0, tz=VN)


def at(day: int, month: int, hour: int = 9, year: int = 2024) -> datetime:
    """A local Vietnamese instant."""
    return pendulum.datetime(year, month, day, hour, 0, tz=VN)


def item(session: Session, key: str) -> DueItem:
    row = session.scalars(select(DueItem).where(DueItem.key == key)).one_or_none()
    if row is None:
        raise KeyError(f"no item {key!r}")
    return row


def submit(
    session: Session,
    key: str,
    *,
    received: datetime,
    values: dict[str, int | float | str | bool | Decimal | None] | None = None,
    narrative: dict[str, str] | None = None,
    accepted: bool = True,
    progress_state: str | None = None,
    progress_on: date | None = None,
) -> Submission:
    """Store the next version of an item's submission."""
    due = item(session, key)
    version = (
        session.scalar(select(func.max(Submission.version)).where(Submission.item_id == due.id))
        or 0
    ) + 1
    targets = {
        t.code: t.id for t in session.scalars(select(Target).where(Target.plan_id == due.plan_id))
    }
    n = next(_receipts)
    submission = Submission(
        item_id=due.id,
        version=version,
        receipt_no=f"TEST-{due.id}-{version}-{n}",
        received_at=received,
        channel="api",
        submitted_by="test",
        accepted=accepted,
        narrative=narrative or {},
        progress_state=progress_state,
        progress_on=progress_on,
        content_hash=hashlib.sha256(f"{key}{version}{n}".encode()).hexdigest(),
    )
    for code, value in (values or {}).items():
        v = SubmissionValue(target_id=targets[code])
        if isinstance(value, bool):
            v.flag = value
        elif isinstance(value, str):
            v.text = value
        elif value is not None:
            v.number = Decimal(str(value))
        submission.values.append(v)
    session.add(submission)
    session.flush()
    return submission


PLAN = "cao-loc-2024-ldtbxh"


def load_cao_loc(session: Session) -> Plan:
    """The Cao Lộc plan as it is: issued 25/01/2024, it owes no January report."""
    load_plan(read_plan(CAO_LOC_2024), session=session, now=at(5, 1))
    return session.scalars(select(Plan).where(Plan.code == PLAN)).one()


def key(obligation: str, unit: str, period: str) -> str:
    return f"report:{PLAN}:{obligation}:{unit}:{period}"


def deliverable_key(code: str, unit: str) -> str:
    return f"deliverable:{PLAN}:{code}:{unit}"


# Jobs created in Q1 as each commune reports them (sample). Xuất Lễ and Mẫu Sơn never report;
# Hòa Cư reports late; Gia Cát amends its first report.
COMMUNE_JOBS = {
    "tt-cao-loc": 24,
    "tt-dong-dang": 31,
    "xa-bao-lam": 9,
    "xa-binh-trung": 8,
    "xa-cao-lau": 7,
    "xa-cong-son": 6,
    "xa-gia-cat": 14,
    "xa-hai-yen": 10,
    "xa-hoa-cu": 11,
    "xa-hong-phong": 9,
    "xa-hop-thanh": 12,
    "xa-loc-yen": 6,
    "xa-phu-xa": 8,
    "xa-tan-lien": 13,
    "xa-tan-thanh": 10,
    "xa-thach-dan": 9,
    "xa-thanh-loa": 7,
    "xa-thuy-hung": 12,
    "xa-xuan-long": 8,
    "xa-yen-trach": 11,
}
SILENT_COMMUNES = ("xa-xuat-le", "xa-mau-son")
# The department's Q1 report: the communes' and the centre's figures plus its own work.
DEPARTMENT_JOBS = sum(COMMUNE_JOBS.values()) + (21 + 15) + 32
DEPARTMENT_LEARNERS = 35 + 45 + 60 + 20


def cao_loc_q1(session: Session) -> Plan:
    """The Cao Lộc plan with a plausible first quarter of submissions (sample data)."""
    plan = load_cao_loc(session)
    centre = "tt-gdnn-gdtx"
    monthly = "bc-thang-tt-gdnn-gdtx"
    # The plan (issued 25/01) owes no January report: the centre's first, February's, covers
    # its work since the start of the year. A first version, then an amended one (80 learners,
    # not 75).
    submit(
        session,
        key(monthly, centre, "2024-02"),
        received=at(16, 2),
        values={"lao-dong-hoc-nghe": 75},
    )
    submit(
        session,
        key(monthly, centre, "2024-02"),
        received=at(20, 2),
        values={"lao-dong-hoc-nghe": 35 + 45, "viec-lam-moi": 12 + 9},
        narrative={
            "Kết quả thực hiện": "Tuyển sinh và khai giảng 01 lớp may công nghiệp (35 học viên) "
            "tại thị trấn Đồng Đăng; mở 01 lớp kỹ thuật chăn nuôi tại xã Hải Yến (45 học viên).",
            "Khó khăn, vướng mắc": "Nhu cầu học nghề của lao động nông thôn sau Tết còn thấp.",
        },
    )
    submit(
        session,
        key(monthly, centre, "2024-03"),
        received=at(18, 3, 10),
        values={"lao-dong-hoc-nghe": 60, "viec-lam-moi": 15},
        narrative={
            "Kết quả thực hiện": "Khai giảng 02 lớp trồng trọt và sơ chế nông sản tại xã Yên "
            "Trạch và xã Tân Liên (60 học viên).",
            "Đề xuất, kiến nghị": "Đề nghị UBND các xã hỗ trợ tuyên truyền, vận động lao động "
            "tham gia học nghề ngắn hạn.",
        },
    )
    # A third, rejected version must never count.
    submit(
        session,
        key(monthly, centre, "2024-03"),
        received=at(19, 3, 10),
        values={"lao-dong-hoc-nghe": 600},
        accepted=False,
    )

    communes = "bc-quy-xa-thi-tran"
    for unit, jobs in COMMUNE_JOBS.items():
        received = at(19, 3) if unit == "xa-hoa-cu" else at(15, 3, 8)
        if unit == "xa-gia-cat":
            submit(
                session,
                key(communes, unit, "2024-Q1"),
                received=at(14, 3),
                values={"viec-lam-moi": 41},
            )
        submit(
            session,
            key(communes, unit, "2024-Q1"),
            received=received,
            values={"viec-lam-moi": jobs},
            narrative={"Kết quả thực hiện": f"Tạo việc làm mới cho {jobs} lao động."}
            if unit in ("tt-dong-dang", "tt-cao-loc")
            else {},
        )

    # The department consolidates what the communes and the centre sent it (225 + 36 jobs,
    # 140 learners) with its own work (32 jobs, 20 learners) and reports the district's figures.
    department = "phong-ldtbxh-dt"
    submit(
        session,
        key("bc-quy-ldtbxh", department, "2024-Q1"),
        received=at(18, 3, 8),
        values={
            "ty-le-giam-ngheo": 0.85,
            "viec-lam-moi": DEPARTMENT_JOBS,
            "lao-dong-hoc-nghe": DEPARTMENT_LEARNERS,
            "lao-dong-qua-dao-tao": 45600,
            "lao-dong-trong-do-tuoi": 69800,
            "dai-hoi-dtts": False,
        },
        narrative={
            "Kết quả thực hiện": "Tổ chức 01 phiên giao dịch việc làm tại thị trấn Cao Lộc; "
            "phối hợp với Ngân hàng Chính sách xã hội huyện giải ngân vốn vay giải quyết việc "
            "làm.",
            "Khó khăn, vướng mắc": "Kinh phí Chương trình mục tiêu quốc gia năm 2024 chưa được "
            "phân bổ.",
        },
    )
    for unit in ("phong-tc-kh", "phong-nn-ptnt", "tt-y-te-huyen"):
        submit(
            session,
            key("bc-quy-phong-ban", unit, "2024-Q1"),
            received=at(15, 3, 9),
            narrative={"Kết quả thực hiện": "Đã xây dựng kế hoạch triển khai của đơn vị."},
        )
    # Phòng Văn hóa và Thông tin never reports.

    submit(
        session,
        deliverable_key("kh-dinh-huong-giam-ngheo-2024", department),
        received=at(27, 2),
        progress_state="done",
        progress_on=date(2024, 2, 27),
    )
    submit(
        session,
        deliverable_key("kh-thuc-hien-tt-gdnn-gdtx", centre),
        received=at(28, 2),
        progress_state="done",
        progress_on=date(2024, 2, 28),
    )
    for unit in ("phong-tc-kh", "phong-nn-ptnt", "tt-y-te-huyen"):
        submit(
            session,
            deliverable_key("kh-trien-khai-cac-phong-ban", unit),
            received=at(29, 2),
            progress_state="done",
            progress_on=date(2024, 2, 29),
        )
    for unit in list(COMMUNE_JOBS)[:18]:
        for code in ("kh-giam-ngheo-cap-xa", "kh-trien-khai-cac-xa"):
            submit(
                session,
                deliverable_key(code, unit),
                received=at(14, 3),
                progress_state="done",
                progress_on=date(2024, 3, 14),
            )
    submit(
        session,
        deliverable_key("trinh-phan-bo-kinh-phi", "phong-tc-kh"),
        received=at(12, 3),
        progress_state="in_progress",
    )
    return plan


def seed_cao_loc_q1(engine: Engine) -> None:
    """cao_loc_q1 in the empty database `engine`: played once per database in a test process,
    its rows put back afterwards (tests.support.seeded)."""

    def seed() -> None:
        with transaction(engine) as session:
            cao_loc_q1(session)

    seeded(engine, "cao_loc_q1", seed)


def cao_loc_plan(session: Session) -> Plan:
    return session.scalars(select(Plan).where(Plan.code == PLAN)).one()
