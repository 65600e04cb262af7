"""The pages over real HTTP: sign-in, CSRF, idempotent re-posts, refusals shown in Vietnamese."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from tests.support.intake import (
    UPLOAD_LIMIT,
    Portal,
    item_id,
    login_form,
    new_token,
    sign_in,
    stored,
)


@contextmanager
def _signed_in(portal: Portal, unit: str) -> Iterator[httpx.Client]:
    with portal.client() as client:
        token = new_token(portal.engine, unit)
        sign_in(client, token)
        yield client


def _form(client: httpx.Client, item: int) -> dict[str, str]:
    page = client.get(f"/items/{item}")
    assert page.status_code == 200, page.text
    fields: dict[str, str] = {}
    for name, value in re.findall(r'name="(csrf|idempotency_key)" value="([^"]*)"', page.text):
        fields.setdefault(name, value)  # the first form on the page: the typed one
    assert fields["csrf"] and fields["idempotency_key"]
    return fields


def test_a_reposted_page_form_is_stored_once(portal: Portal) -> None:
    item = item_id(portal.engine, "xa-mot", "bao-cao-thang", "2024-04")
    with _signed_in(portal, "xa-mot") as client:
        form = {**_form(client, item), "mode": "form", "v.viec-lam": "5", "v.ty-le": "10"}
        first = client.post(f"/items/{item}", data=form)
        again = client.post(f"/items/{item}", data=form)  # the browser's "resend"
        assert first.status_code == again.status_code == 303
        assert first.headers["location"] == f"/receipts/BN-{item}-1"
        assert again.headers["location"] == f"/receipts/BN-{item}-1?gui-lai=1"
        notice = client.get(again.headers["location"]).text
    assert "đã được nhận trước đó" in notice
    assert stored(portal.engine)["submissions"] == 1


def test_forms_need_their_csrf_value_and_their_own_unit(portal: Portal) -> None:
    mine = item_id(portal.engine, "xa-mot", "bao-cao-thang", "2024-04")
    theirs = item_id(portal.engine, "xa-hai", "bao-cao-thang", "2024-04")
    with _signed_in(portal, "xa-hai") as client:
        csrf = _form(client, theirs)["csrf"]
        values = {"mode": "form", "v.viec-lam": "5", "v.ty-le": "10"}
        no_csrf = client.post(f"/items/{theirs}", data=values)
        assert no_csrf.status_code == 403
        assert "Phiên làm việc không hợp lệ" in no_csrf.text
        other_unit = client.post(f"/items/{mine}", data={**values, "csrf": csrf})
        assert other_unit.status_code == 403
        assert "thuộc đơn vị khác" in other_unit.text
    with portal.client() as anonymous:
        assert anonymous.post(f"/items/{theirs}", data=values).status_code == 401
        redirect = anonymous.get(f"/items/{theirs}")
        assert redirect.status_code == 303
        assert redirect.headers["location"] == f"/login?next=/items/{theirs}"
    assert stored(portal.engine)["submissions"] == 0


def test_sign_in_refusals_and_no_open_redirect(portal: Portal) -> None:
    token = new_token(portal.engine, "xa-mot")
    with portal.client() as client:
        wrong = client.post("/login", data=login_form(client, "dd_wrong"))
        assert wrong.status_code == 401
        assert "Mã truy cập không đúng" in wrong.text
        away = client.post("/login", data=login_form(client, token, "//evil.example/"))
        assert away.headers["location"] == "/"
        cookie = away.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie


def test_closed_items_and_oversized_posts_are_explained_in_vietnamese(portal: Portal) -> None:
    not_open = item_id(portal.engine, "xa-mot", "bao-cao-thang", "2024-05")
    item = item_id(portal.engine, "xa-mot", "bao-cao-thang", "2024-04")
    with _signed_in(portal, "xa-mot") as client:
        page = client.get(f"/items/{not_open}").text
        assert "Kỳ báo cáo 2024-05 chưa mở: nhận báo cáo từ ngày 14/05/2024." in page
        assert 'id="report-form"' not in page
        form = _form(client, item)
        big = client.post(
            f"/items/{item}",
            data={**form, "mode": "file"},
            files={"spreadsheet": ("bc.xlsx", b"x" * (UPLOAD_LIMIT + 1))},
        )
        assert big.status_code == 413
        assert "quá lớn" in big.text
        forced = client.post(f"/items/{not_open}", data={**form, "v.viec-lam": "1"})
        assert forced.status_code == 409
        assert "chưa mở" in forced.text
    assert stored(portal.engine)["submissions"] == 0


def test_what_a_unit_typed_is_escaped_on_the_receipt(portal: Portal) -> None:
    item = item_id(portal.engine, "xa-mot", "bao-cao-thang", "2024-04")
    with _signed_in(portal, "xa-mot") as client:
        form = {
            **_form(client, item),
            "mode": "form",
            "v.viec-lam": "5",
            "v.ty-le": "10",
            "n.0": "<script>alert('x')</script>",
        }
        receipt = client.get(client.post(f"/items/{item}", data=form).headers["location"]).text
    assert "<script>alert" not in receipt
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in receipt


def test_the_link_in_reminders_leads_to_the_units_items(portal: Portal) -> None:
    with portal.client() as anonymous:
        first = anonymous.get("/don-vi/xa-mot")
        assert first.status_code == 303
        assert first.headers["location"] == "/login?next=/don-vi/xa-mot"
    with _signed_in(portal, "xa-mot") as client:
        landing = client.get("/don-vi/xa-mot", follow_redirects=True)
        assert landing.status_code == 200
        assert "Báo cáo tháng" in landing.text or "bao-cao-thang" in landing.text
