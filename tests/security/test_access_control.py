"""Every route of the portal, API and pages alike, read from the application itself: each one
is public, says who the caller is, lists only the caller's own things, is admin-only, or
refuses another unit's token. A route added without being classified here fails the test.

Each refusal is checked against a call that succeeds with the owner's token, so a refusal
cannot come from a wrong call; and a refused call stores nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx
from sqlalchemy import select

from access.actor import Actor
from access.tokens import revoke_tokens
from models.access import Role
from models.db import transaction
from tests.support.intake import ADMIN_SECRET, Portal, item_id, new_token, sign_in, stored
from tests.support.security import Route, app_routes, portal_app

PUBLIC: set[Route] = {
    ("GET", "/api/openapi.json"),
    ("GET", "/api/docs"),
    ("GET", "/healthz"),
    ("GET", "/login"),
    ("POST", "/login"),
    ("POST", "/logout"),
    ("MOUNT", "/static"),
    ("MOUNT", "/static/swagger"),
}
WHO_AM_I: set[Route] = {("GET", "/api/v1/me")}
OWN_LISTS: set[Route] = {
    ("GET", "/api/v1/items"),
    ("GET", "/api/v1/submissions"),
    ("GET", "/"),
    ("GET", "/tinh-hinh"),  # a unit token: its own row; people: their units (access.scope)
}
# Open to the unit, those in charge of it and the office (access.scope.may_see_unit).
PER_UNIT: set[Route] = {("GET", "/don-vi/{unit_code}")}
ADMIN_ONLY: set[Route] = {
    ("POST", "/api/v1/requests"),
    ("GET", "/hop-thu-di"),
    ("GET", "/hop-thu-di/gui-lai"),
    ("POST", "/hop-thu-di/gui-lai"),
}
PER_ITEM: set[Route] = {
    ("GET", "/api/v1/items/{item_id}"),
    ("GET", "/api/v1/items/{item_id}/template"),
    ("POST", "/api/v1/submissions"),
    ("POST", "/api/v1/submissions/upload"),
    ("GET", "/items/{item_id}"),
    ("POST", "/items/{item_id}"),
    ("GET", "/items/{item_id}/template.{fmt}"),
}
# The office's acts (access.scope.may_act_for_office) and compiled reports (may_read_reports:
# leaders in charge read them too) in portal.actions, office, office_requests, reports_page:
# a unit's token is refused (403) on each, see test_office_pages_refuse_a_units_token.
OFFICE_PAGES: set[Route] = {
    ("GET", "/viec/{item_id}/gia-han"),
    ("POST", "/viec/{item_id}/gia-han"),
    ("GET", "/viec/{item_id}/mien"),
    ("POST", "/viec/{item_id}/mien"),
    ("GET", "/quan-ly"),
    ("POST", "/quan-ly/khoa-so"),
    ("POST", "/quan-ly/mo-so"),
    ("POST", "/quan-ly/cap-ma"),
    ("POST", "/quan-ly/thu-hoi"),
    ("GET", "/quan-ly/yeu-cau"),
    ("POST", "/quan-ly/yeu-cau"),
    ("GET", "/bao-cao"),
    ("POST", "/bao-cao/tong-hop"),
    ("GET", "/bao-cao/tong-hop/{job_id}"),
    ("GET", "/bao-cao/prefect/{run_id}"),
    ("GET", "/bao-cao/{period}/{name}"),
}
PER_RECEIPT: set[Route] = {
    ("GET", "/api/v1/receipts/{receipt_no}"),
    ("GET", "/receipts/{receipt_no}"),
}


def test_every_route_is_classified() -> None:
    app = portal_app()
    classified = (
        PUBLIC
        | WHO_AM_I
        | OWN_LISTS
        | PER_UNIT
        | ADMIN_ONLY
        | PER_ITEM
        | PER_RECEIPT
        | OFFICE_PAGES
    )
    assert app_routes(app.routes) == classified, "classify the new route's access here"


def _csrf(client: httpx.Client, own_item: int) -> str:
    page = client.get(f"/items/{own_item}")
    assert page.status_code == 200, page.text
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found is not None
    return found.group(1)


def _per_item_calls(item: int, csrf: str) -> dict[Route, Callable[[httpx.Client], httpx.Response]]:
    report = {"values": {"viec-lam": 1, "ty-le": 1}, "narrative": {"Kết quả thực hiện": "x"}}
    return {
        ("GET", "/api/v1/items/{item_id}"): lambda c: c.get(f"/api/v1/items/{item}"),
        ("GET", "/api/v1/items/{item_id}/template"): lambda c: c.get(
            f"/api/v1/items/{item}/template", params={"format": "csv"}
        ),
        ("POST", "/api/v1/submissions"): lambda c: c.post(
            "/api/v1/submissions", json={"item_id": item, **report}
        ),
        ("POST", "/api/v1/submissions/upload"): lambda c: c.post(
            "/api/v1/submissions/upload",
            data={"payload": json.dumps(report), "item_id": str(item)},
        ),
        ("GET", "/items/{item_id}"): lambda c: c.get(f"/items/{item}"),
        ("POST", "/items/{item_id}"): lambda c: c.post(
            f"/items/{item}",
            data={"csrf": csrf, "mode": "form", "v.viec-lam": "1", "v.ty-le": "1", "n.0": "x"},
        ),
        ("GET", "/items/{item_id}/template.{fmt}"): lambda c: c.get(f"/items/{item}/template.csv"),
    }


@contextmanager
def _signed_in(portal: Portal, token: str) -> Iterator[httpx.Client]:
    """A client with the token as bearer (API), signed in with it on the pages."""
    with portal.client(token) as client:
        sign_in(client, token)
        yield client


def test_another_units_token_is_refused_everywhere_and_the_owners_works(portal: Portal) -> None:
    owner, other = new_token(portal.engine, "xa-mot"), new_token(portal.engine, "xa-hai")
    with portal.client(ADMIN_SECRET) as admin:  # an ad-hoc request gives xa-mot a third kind
        asked = admin.post(
            "/api/v1/requests",
            json={
                "kind": "report",
                "title": "Báo cáo nhanh",
                "units": ["xa-mot"],
                "within_working_days": 3,
            },
        )
        assert asked.status_code == 201, asked.text
    report = item_id(portal.engine, "xa-mot", "bao-cao-thang", "2024-04")
    deliverable = item_id(portal.engine, "xa-mot", "ke-hoach-xa", None)
    adhoc = asked.json()["item_ids"][0]
    theirs = item_id(portal.engine, "xa-hai", "bao-cao-thang", "2024-04")
    with _signed_in(portal, owner) as mine:
        receipt = mine.post(
            "/api/v1/submissions", json={"item_id": deliverable, "progress": {"state": "done"}}
        )
        assert receipt.status_code == 201, receipt.text
        receipt_no = receipt.json()["receipt_no"]
    before = stored(portal.engine)

    with _signed_in(portal, other) as intruder, portal.client() as anonymous:
        csrf = _csrf(intruder, theirs)  # the intruder's own, valid form value
        for item in (report, deliverable, adhoc):
            for route, call in _per_item_calls(item, csrf).items():
                refused = call(intruder)
                assert refused.status_code == 403, (route, item, refused.text[:300])
                if route[1].startswith("/api"):
                    assert refused.json()["error"]["code"] == "forbidden_unit", route
                    assert call(anonymous).status_code == 401, route
                else:
                    assert "thuộc đơn vị khác" in refused.text, route  # said in Vietnamese
        for path in (f"/api/v1/receipts/{receipt_no}", f"/receipts/{receipt_no}"):
            assert intruder.get(path).status_code == 403, path
        # Listings show the caller's own things only, whatever is asked.
        listed = intruder.get("/api/v1/items").json()
        assert listed and {i["unit"] for i in listed} == {"xa-hai"}
        assert intruder.get("/api/v1/items", params={"unit": "xa-mot"}).status_code == 403
        assert intruder.get("/api/v1/submissions").json() == []
        assert intruder.get("/api/v1/submissions", params={"item_id": deliverable}).status_code in (
            403,
            404,
        )
        page = intruder.get("/")
        assert page.status_code == 200 and f"/items/{theirs}" in page.text
        assert not [i for i in (report, deliverable, adhoc) if f'/items/{i}"' in page.text]
        assert intruder.get("/don-vi/xa-mot").status_code == 403  # another unit's page
        assert intruder.get("/hop-thu-di").status_code == 403  # the office's outbox
        assert intruder.get("/api/v1/me").json() == {"role": "unit", "unit": "xa-hai"}
    assert stored(portal.engine) == before  # nothing was written by any refused call

    # The same calls succeed for the owner: the refusals above are about the token.
    with _signed_in(portal, owner) as mine:
        csrf = _csrf(mine, report)
        for route, call in _per_item_calls(report, csrf).items():
            response = call(mine)
            assert response.status_code in (200, 201, 303), (route, response.text[:300])
        for path in (f"/api/v1/receipts/{receipt_no}", f"/receipts/{receipt_no}"):
            assert mine.get(path).status_code == 200, path
        assert mine.get("/don-vi/xa-mot").status_code == 200


def test_admin_only_actions_need_an_admin_token(portal: Portal) -> None:
    unit = new_token(portal.engine, "xa-mot")
    admin = new_token(portal.engine, None)  # an admin token issued like a unit's
    revoked = new_token(portal.engine, None)
    with transaction(portal.engine) as session:
        from access.tokens import hash_token
        from models.access import AccessToken

        row = session.scalars(
            select(AccessToken).where(AccessToken.token_hash == hash_token(revoked))
        ).one()
        revoke_tokens(
            session=session,
            revoked_by=Actor(role=Role.ADMIN, label="test"),
            now=row.issued_at,
            token_id=row.id,
        )
    body = {
        "kind": "report",
        "title": "Báo cáo nhanh",
        "unit_kinds": ["commune"],
        "within_working_days": 3,
    }
    for token, status in (
        (unit, 403),
        (revoked, 401),
        ("dd_" + "x" * 43, 401),
        (admin, 201),
        (ADMIN_SECRET, 201),
    ):
        with portal.client(token) as client:
            response = client.post("/api/v1/requests", json=body)
            assert response.status_code == status, (token[:7], response.text)
            if status == 403:
                assert response.json()["error"]["code"] == "admin_only"
            # The admin's filter on another unit is the admin's alone, too.
            listed = client.get("/api/v1/items", params={"unit": "xa-hai"})
            assert listed.status_code == {403: 403, 401: 401, 201: 200}[status]
    with portal.client() as anonymous:
        assert anonymous.post("/api/v1/requests", json=body).status_code == 401


def test_office_pages_refuse_a_units_token(portal: Portal) -> None:
    """Each office page: a unit's token gets the Vietnamese 403, nobody signed in is sent to
    sign in (pages) or refused (posts), and the office is let in."""
    item = item_id(portal.engine, "xa-mot", "bao-cao-thang", "2024-04")
    unit = new_token(portal.engine, "xa-mot")
    run = "00000000-0000-0000-0000-000000000000"
    paths = {
        "/viec/{item_id}/gia-han": f"/viec/{item}/gia-han",
        "/viec/{item_id}/mien": f"/viec/{item}/mien",
        "/bao-cao/tong-hop/{job_id}": "/bao-cao/tong-hop/1",
        "/bao-cao/prefect/{run_id}": f"/bao-cao/prefect/{run}",
        "/bao-cao/{period}/{name}": "/bao-cao/2024-04/bao-cao.docx",
    }
    with _signed_in(portal, unit) as mine, portal.client() as anonymous:
        csrf = _csrf(mine, item)
        for method, template in sorted(OFFICE_PAGES):
            path = paths.get(template, template)
            if method == "GET":
                refused, nobody = mine.get(path), anonymous.get(path)
                assert nobody.status_code == 303 and "/login" in nobody.headers["location"]
            else:
                refused = mine.post(path, data={"csrf": csrf, "xac_nhan": "1"})
                nobody = anonymous.post(path, data={"xac_nhan": "1"})
                assert nobody.status_code == 401, path
            assert refused.status_code == 403, (path, refused.text[:300])
            assert "Chỉ văn phòng" in refused.text, path
    with _signed_in(portal, ADMIN_SECRET) as office:
        for path in ("/quan-ly", "/quan-ly/yeu-cau", "/bao-cao", f"/viec/{item}/mien"):
            assert office.get(path).status_code == 200, path
