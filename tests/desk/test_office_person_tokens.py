"""The office issues a token to a person of the plan from /quan-ly: the slip names the person
and their role, and the person signs in with it; a leader reads /bao-cao, acts on nothing."""

from __future__ import annotations

import re

from sqlalchemy import select

from models.db import transaction
from models.org import Person, Unit
from tests.support.desk_actions import audit, csrf, hidden_fields, signed_in
from tests.support.intake import Portal, item_id, sign_in


def test_a_leader_gets_a_token_on_a_slip_reads_reports_and_may_not_act(portal: Portal) -> None:
    with transaction(portal.engine) as session:
        ubnd = session.scalars(select(Unit).where(Unit.code == "ubnd")).one()
        session.add(
            Person(
                code="pho-chu-tich",
                unit_id=ubnd.id,
                full_name="Lê Thị Phó",
                title="Phó Chủ tịch UBND huyện",
                role="leader_in_charge",
            )
        )
    with signed_in(portal) as office:
        data = {"csrf": csrf(office, "/quan-ly"), "holder_kind": "ca-nhan"}
        data["holder_code"] = "pho-chu-tich"
        confirm = office.post("/quan-ly/cap-ma", data=data)
        assert confirm.status_code == 200 and "Cấp cho: Lê Thị Phó (pho-chu-tich)" in confirm.text
        slip = office.post("/quan-ly/cap-ma", data=hidden_fields(confirm.text))
        assert slip.status_code == 200 and "Lãnh đạo phụ trách" in slip.text, slip.text[-1500:]
        found = re.search(r'<code class="desk-secret">(dd_[^<]+)</code>', slip.text)
        assert found is not None
        unknown = office.post("/quan-ly/cap-ma", data={**data, "holder_code": "khong-co"})
        assert unknown.status_code == 422 and "khong-co" in unknown.text
    (event,) = [e for e in audit(portal.engine, "token.issue") if e["details"].get("person")]
    assert event["details"]["person"] == "pho-chu-tich"

    item = item_id(portal.engine, "xa-mot", "bao-cao-thang", "2024-04")
    with portal.client() as leader:
        sign_in(leader, found.group(1))
        assert leader.get("/bao-cao").status_code == 200
        token = csrf(leader, "/bao-cao")
        for path in ("/quan-ly", f"/viec/{item}/gia-han"):
            page = leader.get(path)
            assert page.status_code == 403 and "Chỉ văn phòng" in page.text, path
        data = {"csrf": token, "xac_nhan": "1", "until": "06/05/2024", "reason": "x"}
        refused = leader.post(f"/viec/{item}/gia-han", data=data)
        assert refused.status_code == 403 and "Chỉ văn phòng" in refused.text
    assert audit(portal.engine, "item.extend") == []
