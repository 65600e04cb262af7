"""The portal's pages speak as officials do: the unit's name, periods in words."""

from __future__ import annotations

from tests.support.intake import Portal, new_token, sign_in


def test_an_officer_sees_the_units_name_and_periods_in_words(portal: Portal) -> None:
    token = new_token(portal.engine, "xa-mot")
    with portal.client() as client:
        sign_in(client, token)
        page = client.get("/").text
    assert "Đơn vị: <strong>UBND xã Một</strong>" in page
    assert "xa-mot" not in page.replace('href="/don-vi/xa-mot"', "")
    assert "<td>tháng 4 năm 2024</td>" in page
    assert "<td>2024-04</td>" not in page
