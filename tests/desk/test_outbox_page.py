"""The outbox page (/hop-thu-di): the office's alone; filters and counts; the last error in
plain Vietnamese; retries confirmed first, CSRF-checked, audited, through outbox.requeue."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import select

from models.access import AuditEvent
from models.db import transaction
from models.outbox import OutboxStatus
from tests.support.desk_unit import Desk, messages, unit_token
from tests.support.intake import ADMIN_SECRET

# slow: every test plays real daily checks over half a month (SMTP, Zalo, the outbox)
pytestmark = pytest.mark.slow


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


def _count(page: str, label: str) -> int:
    found = re.search(rf"{re.escape(label)}: <strong>(\d+)</strong>", page)
    assert found is not None, label
    return int(found.group(1))


def _audits(desk: Desk) -> list[AuditEvent]:
    with transaction(desk.engine) as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == "outbox.retry")))


def test_only_the_office_opens_the_outbox(desk_month: Desk) -> None:
    own = unit_token(desk_month.engine, "xa-mot", "xa-mot")
    with desk_month.client(own) as unit, desk_month.client() as visitor:
        refused = unit.get("/hop-thu-di")
        assert refused.status_code == 403 and "Chỉ văn phòng" in refused.text
        assert unit.get("/hop-thu-di/gui-lai", params={"muc": "all"}).status_code == 403
        posted = unit.post(
            "/hop-thu-di/gui-lai", data={"csrf": _csrf(unit.get("/").text), "muc": "all"}
        )
        assert posted.status_code == 403
        assert visitor.get("/hop-thu-di").headers["location"] == "/login?next=/hop-thu-di"
        assert visitor.post("/hop-thu-di/gui-lai", data={"muc": "all"}).status_code == 401
    assert _audits(desk_month) == []
    assert all(m.status != OutboxStatus.PENDING for m in messages(desk_month.engine))


def test_counts_filters_and_errors_in_plain_vietnamese(desk_month: Desk) -> None:
    stored = messages(desk_month.engine)
    dead_mail = [m for m in stored if (m.status, m.channel) == ("dead", "email")]
    assert dead_mail
    with desk_month.client(ADMIN_SECRET) as office:
        everything = office.get("/hop-thu-di").text
        assert _count(everything, "Tất cả") == len(stored)
        assert _count(everything, "Không gửi được") == sum(m.status == "dead" for m in stored)
        assert _count(everything, "Thư điện tử") == sum(m.channel == "email" for m in stored)
        page = office.get("/hop-thu-di", params={"tinh-trang": "dead", "kenh": "email"}).text
    rows = re.findall(r'<tr class="outbox-(\w+)" id="tb-(\w+)">(.*?)</tr>', page, re.S)
    assert sorted(key for _, key, _ in rows) == sorted(m.key[:8] for m in dead_mail)
    assert {state for state, _, _ in rows} == {"dead"}
    first = rows[0][2]
    assert "Đã ngừng gửi vì quá 3 ngày làm việc vẫn chưa gửi được." in first
    assert "Không kết nối được máy chủ thư điện tử" in first
    # The stored, technical text stays, folded away for the technical staff.
    assert re.search(r"<details><summary>Chi tiết kỹ thuật</summary><code>Đã dừng gửi", first)
    assert "UBND xã Một: Báo cáo kết quả giảm nghèo quý, quý I năm 2024" in page
    assert 'value="email"' in page and "Gửi lại các thông báo lỗi của kênh Thư điện tử" in page


def _retry(office: httpx.Client, target: str) -> httpx.Response:
    confirm = office.get("/hop-thu-di/gui-lai", params={"muc": target})
    assert confirm.status_code == 200, confirm.text
    return office.post("/hop-thu-di/gui-lai", data={"csrf": _csrf(confirm.text), "muc": target})


def test_retry_one_a_channel_and_all_confirmed_and_audited(desk_month: Desk) -> None:
    stored = messages(desk_month.engine)
    dead = [m for m in stored if m.status == "dead"]
    failed = [m for m in stored if m.status == "failed"]
    assert len(dead) >= 2
    with desk_month.client(ADMIN_SECRET) as office:
        confirm = office.get("/hop-thu-di/gui-lai", params={"muc": dead[0].key})
        assert (
            re.search(r'id="retry-count">1<', confirm.text) and "Xác nhận gửi lại" in confirm.text
        )
        # Without the page's form value nothing happens.
        refused = office.post("/hop-thu-di/gui-lai", data={"muc": dead[0].key})
        assert refused.status_code == 403 and "Phiên làm việc không hợp lệ" in refused.text
        assert _audits(desk_month) == []

        one = _retry(office, dead[0].key)
        assert one.status_code == 303
        shown = office.get(one.headers["location"]).text
        assert f"Đã đưa lại 1 thông báo vào hàng đợi (thông báo {dead[0].key[:8]})" in shown
        after = {m.key: m.status for m in messages(desk_month.engine)}
        assert after[dead[0].key] == OutboxStatus.PENDING
        assert all(after[m.key] == OutboxStatus.DEAD for m in dead[1:])

        mail = _retry(office, "email")
        left = [m for m in dead[1:] + failed if m.channel == "email"]
        assert f"da-dua-lai={len(left)}" in mail.headers["location"]
        rest = len([m for m in dead[1:] + failed if m.channel != "email"])
        everything = _retry(office, "all")
        assert f"da-dua-lai={rest}" in everything.headers["location"]
        nothing = office.get("/hop-thu-di/gui-lai", params={"muc": "all"}).text
        assert "không có gì để gửi lại" in nothing and "Xác nhận gửi lại" not in nothing
        missing = office.get("/hop-thu-di/gui-lai", params={"muc": "khong-co"})
        assert missing.status_code == 404 and "Không có thông báo nào mang mã" in missing.text
    assert {m.status for m in messages(desk_month.engine)} <= {"sent", "pending", "cancelled"}
    audits = _audits(desk_month)
    assert [(a.object_id, a.details["requeued"]) for a in audits] == [
        (dead[0].key, 1),
        ("email", len(left)),
        ("all", rest),
    ]
    assert {a.actor for a in audits} == {"admin:settings"}
