"""People signed in with their own tokens, on the running portal: the header says who they are,
`/` and the API list the items in their scope, a leader in charge reads but is refused (403, in
Vietnamese) when submitting, a unit head submits only for their own unit, and a unit token
still reads only its own unit."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from sqlalchemy import Engine, select, update

from access.tokens import issue_person_token
from models.db import transaction
from models.org import Person, Unit
from models.plan import Obligation
from tests.support.intake import LOADER, NOW, Portal, item_id, new_token, sign_in, stored

REPORT = {"values": {"viec-lam": 1, "ty-le": 1}, "narrative": {"Kết quả thực hiện": "x"}}
PEOPLE = (
    # code, unit, name, title, role
    ("lanh-dao", "ubnd", "Lê Thị Phó", "Phó Chủ tịch UBND huyện", "leader_in_charge"),
    ("truong-phong", "phong-a", "Hoàng Văn Trưởng", "Trưởng phòng A", "unit_head"),
    ("xa-mot.can-bo", "xa-mot", "Đặng Thị Một", None, "reporting_officer"),
)


def _people(engine: Engine) -> dict[str, str]:
    """The people of the test plan's units, the leader in charge of the monthly report; their
    tokens by code."""
    secrets = {}
    with transaction(engine) as session:
        units = {c: i for c, i in session.execute(select(Unit.code, Unit.id))}
        for code, unit, name, title, role in PEOPLE:
            session.add(
                Person(code=code, unit_id=units[unit], full_name=name, title=title, role=role)
            )
        session.flush()
        leader = session.scalars(select(Person.id).where(Person.code == "lanh-dao")).one()
        session.execute(
            update(Obligation)
            .where(Obligation.code == "bao-cao-thang")
            .values(via_person_id=leader)
        )
        for code, *_ in PEOPLE:
            _, _, secrets[code] = issue_person_token(
                code, session=session, issued_by=LOADER, now=NOW
            )
    return secrets


@contextmanager
def _signed_in(portal: Portal, token: str) -> Iterator[httpx.Client]:
    with portal.client(token) as client:
        sign_in(client, token)
        yield client


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


def _units(client: httpx.Client, **params: str) -> set[tuple[str, str]]:
    listed = client.get("/api/v1/items", params=params)
    assert listed.status_code == 200, listed.text
    return {(i["obligation"], i["unit"]) for i in listed.json()}


def test_a_leader_follows_the_units_in_charge_and_may_not_submit(portal: Portal) -> None:
    tokens = _people(portal.engine)
    report = item_id(portal.engine, "xa-mot", "bao-cao-thang", "2024-04")
    before = stored(portal.engine)
    with _signed_in(portal, tokens["lanh-dao"]) as leader:
        me = leader.get("/api/v1/me").json()
        assert me["person"] == "Lê Thị Phó" and me["person_role_vi"] == "Lãnh đạo phụ trách"
        assert me["may_submit"] is False
        # The monthly report of every commune and town (xa-cu until it merged), nothing else.
        seen = _units(leader)
        assert seen == {("bao-cao-thang", u) for u in ("xa-mot", "xa-hai", "tt-ba", "xa-cu")}
        assert _units(leader, unit="xa-hai") == {("bao-cao-thang", "xa-hai")}
        refused = leader.get("/api/v1/items", params={"unit": "phong-a"})
        assert refused.status_code == 403
        assert "không thuộc phạm vi theo dõi" in refused.json()["error"]["message"]
        assert leader.get(f"/api/v1/items/{report}").status_code == 200

        home = leader.get("/")
        assert "<strong>Lê Thị Phó</strong> · Phó Chủ tịch UBND huyện · " in home.text
        assert "Lãnh đạo phụ trách" in home.text and f'href="/items/{report}"' in home.text
        assert "UBND thị trấn Ba" in home.text  # whose item each row is
        page = leader.get(f"/items/{report}")
        assert page.status_code == 200 and "chỉ xem, không gửi thay đơn vị" in page.text
        assert 'id="report-form"' not in page.text

        for response in (
            leader.post("/api/v1/submissions", json={"item_id": report, **REPORT}),
            leader.post(
                "/api/v1/submissions/upload",
                data={"payload": '{"narrative": {"Kết quả thực hiện": "x"}}', "item_id": report},
            ),
        ):
            assert response.status_code == 403, response.text
            error = response.json()["error"]
            assert error["code"] == "read_only"
            assert error["message"].startswith("Lãnh đạo phụ trách chỉ được theo dõi báo cáo")
        posted = leader.post(
            f"/items/{report}",
            data={"csrf": _csrf(page.text), "mode": "form", "v.viec-lam": "1", "v.ty-le": "1"},
        )
        assert posted.status_code == 403
        assert "Lãnh đạo phụ trách chỉ được theo dõi báo cáo" in posted.text
    assert stored(portal.engine) == before  # nothing written by a refused call


def test_a_unit_head_sees_the_reports_sent_to_the_unit_and_submits_its_own(
    portal: Portal,
) -> None:
    tokens = _people(portal.engine)
    commune = item_id(portal.engine, "xa-mot", "bao-cao-thang", "2024-04")
    with _signed_in(portal, tokens["truong-phong"]) as head:
        seen = _units(head)
        assert {u for _, u in seen} == {"phong-a", "xa-mot", "xa-hai", "tt-ba", "xa-cu"}
        assert ("ke-hoach-xa", "xa-mot") in seen and ("bao-cao-quy", "phong-a") in seen
        assert head.get("/").text.count("Hoàng Văn Trưởng") == 1
        # A report sent to the unit: readable, not the head's to submit.
        assert head.get(f"/api/v1/items/{commune}").status_code == 200
        refused = head.post("/api/v1/submissions", json={"item_id": commune, **REPORT})
        assert refused.status_code == 403
        assert refused.json()["error"] == {
            "code": "forbidden_unit",
            "message": f"Báo cáo số {commune} thuộc đơn vị khác: "
            "anh/chị chỉ gửi báo cáo của đơn vị mình.",
            "fields": [],
        }
        # The unit's own (the first quarter's report, late by now): the head may submit it.
        quarter = next(
            i["id"]
            for i in head.get("/api/v1/items", params={"unit": "phong-a"}).json()
            if i["obligation"] == "bao-cao-quy" and i["status"] != "not_yet_open"
        )
        own = head.post(
            "/api/v1/submissions",
            json={
                "item_id": quarter,
                "narrative": {"Kết quả thực hiện": "x", "Khó khăn, vướng mắc": "y"},
            },
        )
        assert own.status_code == 201, own.text


def test_a_reporting_officer_is_scoped_like_the_units_token(portal: Portal) -> None:
    tokens = _people(portal.engine)
    unit_token = new_token(portal.engine, "xa-mot")
    own = item_id(portal.engine, "xa-mot", "bao-cao-thang", "2024-04")
    theirs = item_id(portal.engine, "xa-hai", "bao-cao-thang", "2024-04")
    with _signed_in(portal, tokens["xa-mot.can-bo"]) as officer, portal.client(unit_token) as unit:
        assert _units(officer) == _units(unit) and {u for _, u in _units(unit)} == {"xa-mot"}
        home = officer.get("/")
        assert "Đặng Thị Một" in home.text and "Cán bộ đầu mối báo cáo" in home.text
        assert "Báo cáo của đơn vị" in home.text
        for client in (officer, unit):
            refused = client.get(f"/api/v1/items/{theirs}")
            assert refused.status_code == 403
            assert "thuộc đơn vị khác" in refused.json()["error"]["message"]
            other_unit = client.get("/api/v1/items", params={"unit": "xa-hai"})
            assert other_unit.status_code == 403
            assert "chỉ xem được báo cáo của đơn vị mình" in other_unit.json()["error"]["message"]
        sent = officer.post("/api/v1/submissions", json={"item_id": own, **REPORT})
        assert sent.status_code == 201, sent.text
