"""Extend and exempt from the office's pages: confirm first, then done with its audit row."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from models.calendar import load_calendar
from models.db import session_factory
from models.items import DueItem
from models.reliefs import ItemRelief
from status.states import ItemStatus, item_states
from tests.support.desk_actions import audit, csrf, hidden_fields, signed_in
from tests.support.intake import Portal, item_id


def _reliefs(portal: Portal, item: int) -> list[ItemRelief]:
    with session_factory(portal.engine)() as session:
        return list(session.scalars(select(ItemRelief).where(ItemRelief.item_id == item)))


def _state(portal: Portal, item: int):  # type: ignore[no-untyped-def]
    with session_factory(portal.engine)() as session:
        (state,) = item_states(
            session=session,
            as_of=portal.clock(),
            calendar=load_calendar(session=session),
            item_ids=[item],
        )
        return state


def _deadline(portal: Portal, item: int) -> date:
    with session_factory(portal.engine)() as session:
        found = session.get(DueItem, item)
        assert found is not None
        return found.deadline_on


def test_the_office_extends_a_deadline_after_confirming(portal: Portal) -> None:
    item = item_id(portal.engine, "xa-mot", "bao-cao-thang", "2024-04")
    until = _deadline(portal, item) + timedelta(days=14)
    with signed_in(portal) as office:
        form = office.get(f"/viec/{item}/gia-han")
        assert form.status_code == 200 and "UBND xã Một" in form.text
        typed = {"csrf": csrf(office, f"/viec/{item}/gia-han"), "until": f"{until:%d/%m/%Y}"}
        typed["reason"] = "Xã bị lũ cắt đường"
        confirm = office.post(f"/viec/{item}/gia-han", data=typed)
        assert confirm.status_code == 200, confirm.text
        assert "Xác nhận gia hạn" in confirm.text and "Hạn mới: hết ngày" in confirm.text
        assert _reliefs(portal, item) == [] and audit(portal.engine, "item.extend") == []
        again = office.post(f"/viec/{item}/gia-han", data=hidden_fields(confirm.text, "sua"))
        assert again.status_code == 200 and "Xã bị lũ cắt đường</textarea>" in again.text
        assert f'value="{until:%d/%m/%Y}"' in again.text  # "Sửa lại": the form as typed

        done = office.post(f"/viec/{item}/gia-han", data=hidden_fields(confirm.text))
    assert done.status_code == 200, done.text
    assert "Đã gia hạn" in done.text
    (relief,) = _reliefs(portal, item)
    assert relief.deadline_on is not None and relief.deadline_on >= until
    assert relief.reason == "Xã bị lũ cắt đường" and relief.granted_by == "admin:settings"
    state = _state(portal, item)
    assert state.extended and state.deadline_on == relief.deadline_on
    (event,) = audit(portal.engine, "item.extend")
    assert event["actor"] == "admin:settings" and event["object_id"] == str(item)
    assert event["details"]["until"] == relief.deadline_on.isoformat()


def test_a_bad_new_deadline_or_a_missing_reason_is_named_beside_its_field(portal: Portal) -> None:
    item = item_id(portal.engine, "xa-mot", "bao-cao-thang", "2024-04")
    before = _deadline(portal, item) - timedelta(days=3)
    with signed_in(portal) as office:
        token = csrf(office, f"/viec/{item}/gia-han")
        for until, reason, said in (
            ("31/02/2024", "Lý do", "Hạn mới: «31/02/2024» không phải là ngày"),
            ("ngày mai", "Lý do", "Hạn mới: «ngày mai» không phải là ngày"),
            ("", "Lý do", "Chưa ghi hạn mới"),
            (f"{before:%d/%m/%Y}", "Lý do", "gia hạn chỉ lùi hạn về sau"),
            ("30/05/2024", "  ", "Chưa ghi lý do"),
        ):
            data = {"csrf": token, "until": until, "reason": reason, "xac_nhan": "1"}
            refused = office.post(f"/viec/{item}/gia-han", data=data)
            assert refused.status_code == 422, (until, refused.text[:300])
            assert said in refused.text, until
            assert 'class="field invalid"' in refused.text  # the field is marked
        exempt = office.post(f"/viec/{item}/mien", data={"csrf": token, "reason": ""})
        assert exempt.status_code == 422 and "Chưa ghi lý do" in exempt.text
    assert _reliefs(portal, item) == [] and audit(portal.engine, "item.extend") == []


def test_the_office_exempts_an_item_which_then_no_longer_counts(portal: Portal) -> None:
    item = item_id(portal.engine, "xa-hai", "bao-cao-thang", "2024-04")
    assert _state(portal, item).status is ItemStatus.OVERDUE
    with signed_in(portal) as office:
        data = {"csrf": csrf(office, f"/viec/{item}/mien"), "reason": "Sáp nhập xã"}
        confirm = office.post(f"/viec/{item}/mien", data=data)
        assert confirm.status_code == 200 and "Xác nhận miễn báo cáo" in confirm.text
        assert _reliefs(portal, item) == []
        done = office.post(f"/viec/{item}/mien", data=hidden_fields(confirm.text))
    assert done.status_code == 200 and "Đã miễn báo cáo" in done.text
    assert _state(portal, item).status is ItemStatus.EXCUSED
    (event,) = audit(portal.engine, "item.exempt")
    assert event["details"] == {"key": event["details"]["key"], "reason": "Sáp nhập xã"}


def test_without_the_csrf_value_nothing_is_done(portal: Portal) -> None:
    item = item_id(portal.engine, "xa-mot", "bao-cao-thang", "2024-04")
    with signed_in(portal) as office:
        for path, data in (
            (f"/viec/{item}/gia-han", {"until": "30/05/2024", "reason": "x", "xac_nhan": "1"}),
            (f"/viec/{item}/mien", {"reason": "x", "xac_nhan": "1"}),
        ):
            refused = office.post(path, data=data)
            assert refused.status_code == 403, path
            assert "Phiên làm việc không hợp lệ" in refused.text
            forged = office.post(path, data={**data, "csrf": "0" * 32})
            assert forged.status_code == 403, path
    assert _reliefs(portal, item) == []
    assert audit(portal.engine, "item.extend") == audit(portal.engine, "item.exempt") == []


def test_a_units_token_may_not_extend_or_exempt(portal: Portal) -> None:
    item = item_id(portal.engine, "xa-mot", "bao-cao-thang", "2024-04")
    with signed_in(portal, "xa-mot") as unit:
        token = csrf(unit, "/")
        for path in (f"/viec/{item}/gia-han", f"/viec/{item}/mien"):
            page = unit.get(path)
            assert page.status_code == 403 and "Chỉ văn phòng" in page.text, path
            data = {"csrf": token, "until": "30/05/2024", "reason": "x", "xac_nhan": "1"}
            refused = unit.post(path, data=data)
            assert refused.status_code == 403 and "Chỉ văn phòng" in refused.text, path
    with signed_in(portal) as office:
        missing = office.get("/viec/999999/gia-han")
        assert missing.status_code == 404 and "Không có báo cáo số 999999" in missing.text
    assert _reliefs(portal, item) == []
