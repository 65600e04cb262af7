"""/quan-ly: lock and reopen a period, issue a token (slip) and revoke it, ad-hoc requests."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from models.access import AccessToken
from models.db import session_factory
from models.items import DueItem, PeriodLock
from tests.support.desk_actions import audit, csrf, hidden_fields, signed_in
from tests.support.intake import Portal, item_id, sign_in


def _locks(portal: Portal) -> list[str]:
    with session_factory(portal.engine)() as session:
        return list(session.scalars(select(PeriodLock.lock_key)))


def _submit(portal: Portal, unit: str, item: int) -> int:
    with signed_in(portal, unit) as client:
        data = {"csrf": csrf(client, f"/items/{item}"), "mode": "form"}
        data |= {"v.viec-lam": "5", "v.ty-le": "10", "n.0": "x"}
        return client.post(f"/items/{item}", data=data).status_code


def test_the_office_locks_a_period_and_units_can_no_longer_submit_then_reopens_it(
    portal: Portal,
) -> None:
    item = item_id(portal.engine, "xa-mot", "bao-cao-thang", "2024-04")
    with signed_in(portal) as office:
        page = office.get("/quan-ly")
        assert page.status_code == 200 and "Khóa sổ kỳ báo cáo" in page.text
        assert '<option value="2024-04">tháng 4 năm 2024</option>' in page.text
        data = {"csrf": csrf(office, "/quan-ly"), "lock_source": "bao-cao-thang"}
        data |= {"lock_period": "2024-04", "lock_reason": "Đã ký báo cáo tháng"}
        confirm = office.post("/quan-ly/khoa-so", data=data)
        assert confirm.status_code == 200 and "Xác nhận khóa sổ" in confirm.text
        assert _locks(portal) == []
        done = office.post("/quan-ly/khoa-so", data=hidden_fields(confirm.text))
        assert done.status_code == 200 and "Đã khóa sổ" in done.text
        assert _locks(portal) == ["obligation:1:2024-04"] or len(_locks(portal)) == 1
        assert _submit(portal, "xa-mot", item) == 409  # the unit is refused: locked
        (event,) = audit(portal.engine, "period.lock")
        assert event["details"]["reason"] == "Đã ký báo cáo tháng"

        listed = office.get("/quan-ly").text
        assert "Mở lại" in listed
        token = csrf(office, "/quan-ly")
        reopen = {"csrf": token, "source": "bao-cao-thang", "period": "2024-04"}
        confirm = office.post("/quan-ly/mo-so", data=reopen)
        assert confirm.status_code == 200 and "Xác nhận mở lại" in confirm.text
        assert len(_locks(portal)) == 1
        done = office.post("/quan-ly/mo-so", data=hidden_fields(confirm.text))
        assert done.status_code == 200 and "Đã mở lại" in done.text
    assert _locks(portal) == [] and len(audit(portal.engine, "period.unlock")) == 1
    # Each act's audit row says where it came from, as every other office act's does.
    locked, unlocked = audit(portal.engine, "period.lock"), audit(portal.engine, "period.unlock")
    assert [e["address"] for e in locked + unlocked] == ["127.0.0.1", "127.0.0.1"]
    assert _submit(portal, "xa-mot", item) == 303  # accepted again


def test_locking_an_unknown_period_or_nothing_is_refused_naming_the_field(portal: Portal) -> None:
    with signed_in(portal) as office:
        token = csrf(office, "/quan-ly")
        for data, said in (
            ({"lock_source": "", "lock_period": "2024-04"}, "Chưa chọn báo cáo cần khóa sổ"),
            ({"lock_source": "bao-cao-thang", "lock_period": "2031-01"}, "Không có báo cáo"),
        ):
            refused = office.post("/quan-ly/khoa-so", data={"csrf": token, **data})
            assert refused.status_code == 422 and said in refused.text, refused.text[:300]
            assert 'class="field invalid"' in refused.text
        none = office.post(
            "/quan-ly/mo-so",
            data={"csrf": token, "source": "bao-cao-thang", "period": "2024-04", "xac_nhan": "1"},
        )
        assert none.status_code == 422 and "không bị khóa sổ" in none.text
    assert _locks(portal) == [] and audit(portal.engine, "period.lock") == []


def test_a_token_is_shown_once_on_a_printable_slip_works_and_is_revoked(portal: Portal) -> None:
    with signed_in(portal) as office:
        data = {"csrf": csrf(office, "/quan-ly"), "holder_kind": "don-vi"}
        data |= {"holder_code": "xa-hai", "label": "Chị Lan"}
        confirm = office.post("/quan-ly/cap-ma", data=data)
        assert confirm.status_code == 200 and "Cấp cho: UBND xã Hai" in confirm.text
        with session_factory(portal.engine)() as session:
            assert session.scalar(select(func.count()).select_from(AccessToken)) == 0
        slip = office.post("/quan-ly/cap-ma", data=hidden_fields(confirm.text))
        assert slip.status_code == 200, slip.text
        assert slip.headers["cache-control"] == "no-store"
        assert "Phiếu bàn giao mã truy cập" in slip.text and "UBND xã Hai" in slip.text
        assert f"{portal.settings.portal_url.rstrip('/')}/login" in slip.text
        found = re.search(r'<code class="desk-secret">(dd_[^<]+)</code>', slip.text)
        assert found is not None
        secret = found.group(1)
        (event,) = audit(portal.engine, "token.issue")
        assert event["details"]["unit"] == "xa-hai" and secret not in str(event)
        assert secret not in office.get("/quan-ly").text  # never shown again

        holder = portal.client()
        sign_in(holder, secret)
        assert "UBND xã Hai" in holder.get("/").text

        with session_factory(portal.engine)() as session:
            token_id = session.scalars(select(AccessToken.id)).one()
        revoke = {"csrf": csrf(office, "/quan-ly"), "token_id": str(token_id)}
        confirm = office.post("/quan-ly/thu-hoi", data=revoke)
        assert confirm.status_code == 200 and "Xác nhận thu hồi" in confirm.text
        done = office.post("/quan-ly/thu-hoi", data=hidden_fields(confirm.text))
        assert done.status_code == 200 and "Đã thu hồi" in done.text
    (revoked,) = audit(portal.engine, "token.revoke")
    assert revoked["address"] == audit(portal.engine, "token.issue")[0]["address"] == "127.0.0.1"
    with portal.client(secret) as api:
        assert api.get("/api/v1/me").status_code == 401
    # The page session opened with the token ends with it.
    assert holder.get("/").headers["location"].startswith("/login")
    holder.close()


def test_issuing_to_an_unknown_unit_is_refused_naming_the_field(portal: Portal) -> None:
    with signed_in(portal) as office:
        data = {"csrf": csrf(office, "/quan-ly"), "holder_kind": "don-vi"}
        for code, said in (("xa-khong", "Không có đơn vị mã «xa-khong»"), ("", "Chưa ghi mã")):
            refused = office.post("/quan-ly/cap-ma", data={**data, "holder_code": code})
            assert refused.status_code == 422 and said in refused.text
    assert audit(portal.engine, "token.issue") == []


def test_the_office_asks_a_group_for_an_ad_hoc_report(portal: Portal) -> None:
    def items() -> int:
        with session_factory(portal.engine)() as session:
            return session.scalar(select(func.count()).select_from(DueItem)) or 0

    before = items()
    with signed_in(portal) as office:
        form = office.get("/quan-ly/yeu-cau")
        assert form.status_code == 200
        data = {"csrf": csrf(office, "/quan-ly/yeu-cau"), "kind": "report"}
        data |= {"title": "Báo cáo thiệt hại do bão", "parents": "ubnd"}
        data |= {"deadline_mode": "so-ngay", "within": "3", "targets": "viec-lam"}
        confirm = office.post("/quan-ly/yeu-cau", data=data)
        assert confirm.status_code == 200, confirm.text
        assert "Số đơn vị phải thực hiện: 4" in confirm.text  # phong-a, xa-mot, xa-hai, tt-ba
        assert "Hạn nộp: hết ngày 24/04/2024" in confirm.text  # 3 working days from Sat 20/04
        assert items() == before and audit(portal.engine, "request.create") == []
        done = office.post("/quan-ly/yeu-cau", data=hidden_fields(confirm.text))
        assert done.status_code == 200 and "Đã tạo yêu cầu YC-1" in done.text
    assert items() == before + 4
    (event,) = audit(portal.engine, "request.create")
    assert sorted(event["details"]["units"]) == ["phong-a", "tt-ba", "xa-hai", "xa-mot"]


def test_an_ad_hoc_request_with_a_bad_deadline_names_the_field(portal: Portal) -> None:
    with signed_in(portal) as office:
        data = {"csrf": csrf(office, "/quan-ly/yeu-cau"), "title": "Báo cáo nhanh"}
        data |= {"unit_kinds": "commune"}
        for extra, said in (
            ({"deadline_mode": "ngay", "due_on": "40/04/2024"}, "Hạn nộp: «40/04/2024»"),
            ({"deadline_mode": "so-ngay", "within": "năm"}, "không phải một số"),
            ({"deadline_mode": "so-ngay", "within": "99"}, "Số ngày làm việc phải từ 1 đến"),
            ({"deadline_mode": "ngay", "due_on": "01/04/2024"}, "đã qua"),
            ({}, "Chọn cách ghi hạn nộp"),
        ):
            refused = office.post("/quan-ly/yeu-cau", data={**data, **extra})
            assert refused.status_code == 422, (extra, refused.text[:300])
            assert said in refused.text, extra
    assert audit(portal.engine, "request.create") == []


def test_a_units_token_is_refused_on_every_office_page(portal: Portal) -> None:
    with signed_in(portal, "xa-mot") as unit:
        token = csrf(unit, "/")
        for path in ("/quan-ly", "/quan-ly/yeu-cau"):
            page = unit.get(path)
            assert page.status_code == 403 and "Chỉ văn phòng" in page.text, path
        for path, data in (
            ("/quan-ly/khoa-so", {"lock_source": "bao-cao-thang", "lock_period": "2024-04"}),
            ("/quan-ly/mo-so", {"source": "bao-cao-thang", "period": "2024-04"}),
            ("/quan-ly/cap-ma", {"holder_kind": "quan-tri"}),
            ("/quan-ly/thu-hoi", {"token_id": "1"}),
            ("/quan-ly/yeu-cau", {"title": "x", "unit_kinds": "commune", "within": "3"}),
        ):
            refused = unit.post(path, data={"csrf": token, "xac_nhan": "1", **data})
            assert refused.status_code == 403 and "Chỉ văn phòng" in refused.text, path
            missing = unit.post(path, data={"xac_nhan": "1", **data})
            assert missing.status_code == 403, path
    assert _locks(portal) == [] and len(audit(portal.engine, "token.issue")) == 1  # xa-mot's own
    assert audit(portal.engine, "request.create") == audit(portal.engine, "token.revoke") == []


def test_signing_in_from_an_office_page_comes_back_with_its_query(portal: Portal) -> None:
    with portal.client() as visitor:
        found = visitor.get("/quan-ly", params={"tim": "xa-mot"})
    assert found.status_code == 303
    assert found.headers["location"] == "/login?next=/quan-ly%3Ftim%3Dxa-mot"
