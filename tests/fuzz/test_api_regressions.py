"""Requests the fuzzers found a server error with, kept as plain regression tests."""

from __future__ import annotations

import pytest

from tests.support.intake import NOTHING, Portal, new_token, stored


@pytest.mark.parametrize(
    "value",
    [
        "1" * 29,  # beyond the 28 digits of Python's decimal context
        1e30,
        1e300,
        "9" * 400,
    ],
)
def test_an_absurdly_large_figure_is_refused_not_a_crash(portal: Portal, value: object) -> None:
    token = new_token(portal.engine, "xa-mot")
    body = {
        "obligation": "bao-cao-thang",
        "period": "2024-04",
        "values": {"viec-lam": value, "ty-le": value},
    }
    with portal.client(token) as client:
        response = client.post("/api/v1/submissions", json=body)
    assert response.status_code == 422, response.text
    codes = {f["field"]: f["code"] for f in response.json()["error"]["fields"]}
    assert codes == {"values.viec-lam": "too_large", "values.ty-le": "too_large"}
    assert all(len(f["message"]) < 120 for f in response.json()["error"]["fields"])
    assert stored(portal.engine) == NOTHING
