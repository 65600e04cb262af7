"""Hostile requests through the real portal: each a Vietnamese 4xx naming the field, never a 500.

JSON bodies the JSON parser chokes on, pydantic's refusals (in Vietnamese, not its English), a
file sent with a JSON payload, a far-future ad-hoc request, a hostile workbook posted on the
page and the one reading path the portal uses for every upload.
"""

from __future__ import annotations

import re
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from pathlib import Path
from typing import Literal

import httpx
import pytest
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, ValidationError

from portal import api, web
from portal.deps import _validation_fields
from submissions.errors import FieldError, IntakeError, Invalid
from tests.support.intake import (
    ADMIN_SECRET,
    NOTHING,
    UPLOAD_LIMIT,
    Portal,
    item_id,
    new_token,
    sign_in,
    stored,
)

CORPUS = Path(__file__).parents[1] / "data" / "broken"
_VIETNAMESE = re.compile(r"[àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ]")
HEAD = b'{"obligation": "bao-cao-thang", "period": "2024-04", '

# name -> (raw JSON body, the field at fault, its code)
BODIES: dict[str, tuple[bytes, str, str]] = {
    "deep": (b'{"values": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "body", "too_deep"),
    "long number": (HEAD + b'"values": {"viec-lam": ' + b"9" * 5_000 + b"}}", "body", "malformed"),
    "not UTF-8": (HEAD + b'"values": {"ghi-chu": "Gi\xe1 tr\xf2"}}', "body", "not_utf8"),
    "lone surrogate": (
        HEAD + b'"values": {"viec-lam": 1, "ty-le": 5, "ghi-chu": "x\\ud800"}}',
        "values.ghi-chu",
        "invalid_character",
    ),
    "lone surrogate in a key": (
        HEAD + b'"values": {"viec-lam": 1, "ty-le": 5}, "narrative": {"K\\udfff": "x"}}',
        "narrative.K\ufffd",
        "unknown_field",
    ),
    "C1 control": (
        HEAD + b'"values": {"viec-lam": 1, "ty-le": 5, "ghi-chu": "a\\u0085b"}}',
        "values.ghi-chu",
        "control_character",
    ),
    "right-to-left override": (
        HEAD + b'"values": {"viec-lam": 1, "ty-le": 5}, "narrative": '
        b'{"K\xe1\xba\xbft qu\xe1\xba\xa3 th\xe1\xbb\xb1c hi\xe1\xbb\x87n": "a\\u202eb"}}',
        "narrative.Kết quả thực hiện",
        "bidi_control",
    ),
    "Arabic-Indic digits": (
        HEAD + '"values": {"viec-lam": "١٣٠٠", "ty-le": 5}}'.encode(),
        "values.viec-lam",
        "foreign_digits",
    ),
    "full-width digits": (
        HEAD + '"values": {"viec-lam": 1, "ty-le": "６７,５"}}'.encode(),
        "values.ty-le",
        "foreign_digits",
    ),
}


def _first_field(response: httpx.Response) -> dict[str, str]:
    assert 400 <= response.status_code < 500, response.text
    body = response.json()["error"]
    assert _VIETNAMESE.search(body["message"]), body
    assert all(_VIETNAMESE.search(f["message"]) for f in body["fields"]), body
    return dict(body["fields"][0])


@pytest.mark.parametrize("name", sorted(BODIES))
def test_a_hostile_json_body_is_refused_naming_the_field(portal: Portal, name: str) -> None:
    raw, field, code = BODIES[name]
    token = new_token(portal.engine, "xa-mot")
    with portal.client(token) as client:
        response = client.post(
            "/api/v1/submissions", content=raw, headers={"Content-Type": "application/json"}
        )
    first = _first_field(response)
    assert (first["field"], first["code"]) == (field, code)
    assert stored(portal.engine) == NOTHING


def test_a_body_over_the_limit_is_refused_in_vietnamese(portal: Portal) -> None:
    token = new_token(portal.engine, "xa-mot")
    huge = HEAD + b'"narrative": {"ket-qua": "' + b"a" * UPLOAD_LIMIT + b'"}}'
    with portal.client(token) as client:
        response = client.post(
            "/api/v1/submissions", content=huge, headers={"Content-Type": "application/json"}
        )
    assert response.status_code == 413
    assert "quá lớn" in response.json()["error"]["message"]


def test_schema_refusals_are_in_vietnamese_with_the_field(portal: Portal) -> None:
    token = new_token(portal.engine, "xa-mot")
    body = {"item_id": "abc", "obligation": 5, "period": [1], "values": "x", "progress": 3}
    with portal.client(token) as client:
        response = client.post("/api/v1/submissions", json=body)
    assert response.status_code == 422
    fields = {f["field"]: f["message"] for f in response.json()["error"]["fields"]}
    assert set(fields) == {"item_id", "obligation", "period", "values", "progress"}
    assert fields["item_id"] == "Trường «item_id» không hợp lệ: phải là số nguyên."
    assert fields["values"] == "Trường «values» không hợp lệ: phải là một đối tượng {...}."
    # pydantic's own English ("Input should be a valid integer") never reaches an official.
    assert not any(re.search(r"\b(Input|should|valid)\b", m) for m in fields.values()), fields


def test_a_file_and_a_json_payload_together_are_refused(portal: Portal) -> None:
    token = new_token(portal.engine, "xa-mot")
    payload = '{"obligation": "bao-cao-thang", "period": "2024-04", "values": {"viec-lam": 1}}'
    csv = (CORPUS / "formula.csv").read_bytes()
    with portal.client(token) as client:
        response = client.post(
            "/api/v1/submissions/upload",
            data={"payload": payload},
            files={"file": ("bc.csv", csv, "text/csv")},
        )
    assert response.status_code == 422
    fields = {(f["field"], f["code"]) for f in response.json()["error"]["fields"]}
    assert fields == {("file", "conflict"), ("payload", "conflict")}
    assert stored(portal.engine) == NOTHING


def test_a_payload_is_read_like_a_json_file_and_named_payload(portal: Portal) -> None:
    token = new_token(portal.engine, "xa-mot")
    with portal.client(token) as client:
        response = client.post(
            "/api/v1/submissions/upload", data={"payload": "[" * 20_000 + "]" * 20_000}
        )
    first = _first_field(response)
    assert (first["field"], first["code"]) == ("payload", "too_deep")


@pytest.mark.parametrize(("due", "code"), [("9999-12-31", "too_far"), ("2030-01-01", "too_far")])
def test_an_ad_hoc_request_due_in_the_far_future_is_refused(
    portal: Portal, due: str, code: str
) -> None:
    body = {"kind": "report", "title": "Báo cáo nhanh", "units": ["xa-mot"], "due_on": due}
    with portal.client(ADMIN_SECRET) as client:
        response = client.post("/api/v1/requests", json=body)
    first = _first_field(response)
    assert (first["field"], first["code"]) == ("due_on", code)
    assert "quá xa" in first["message"]


@pytest.mark.parametrize("name", ["many-cells.xlsx", "far-column.xlsx", "deep.json"])
def test_a_hostile_file_on_the_page_gets_a_vietnamese_page(portal: Portal, name: str) -> None:
    item = item_id(portal.engine, "xa-mot", "bao-cao-thang", "2024-04")
    with portal.client() as client:
        sign_in(client, new_token(portal.engine, "xa-mot"))
        page = client.get(f"/items/{item}")
        csrf = re.search(r'name="csrf" value="([^"]*)"', page.text)
        assert csrf is not None
        response = client.post(
            f"/items/{item}",
            data={"csrf": csrf.group(1), "mode": "file"},
            files={"spreadsheet": (name, (CORPUS / name).read_bytes())},
        )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")
    assert "Internal Server Error" not in response.text
    assert re.search(r"quá nhiều ô|nằm ngoài mẫu|lồng nhau quá nhiều tầng", response.text)
    assert stored(portal.engine) == NOTHING


def test_a_file_for_another_units_item_is_refused_before_it_is_read(
    portal: Portal, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A unit cannot make the portal read files for items that are not its own."""
    item = item_id(portal.engine, "xa-mot", "bao-cao-thang", "2024-04")
    own = item_id(portal.engine, "xa-hai", "bao-cao-thang", "2024-04")
    reads: list[str] = []

    async def recorded(_portal: Portal, *, file: object = None, payload: object = None) -> None:
        reads.append(str(file))  # a spy: which uploads reached the reader at all
        raise AssertionError("read")

    monkeypatch.setattr(web, "read_submission_file", recorded)
    with portal.client() as client:
        sign_in(client, new_token(portal.engine, "xa-hai"))
        page = client.get(f"/items/{own}")
        csrf = re.search(r'name="csrf" value="([^"]*)"', page.text)
        assert csrf is not None
        response = client.post(
            f"/items/{item}",
            data={"csrf": csrf.group(1), "mode": "file"},
            files={"spreadsheet": ("far-column.xlsx", (CORPUS / "far-column.xlsx").read_bytes())},
        )
    assert response.status_code in (403, 404)
    assert "Internal Server Error" not in response.text
    assert reads == []
    assert stored(portal.engine) == NOTHING


def test_the_portal_reads_every_upload_through_one_bounded_entry_point() -> None:
    """The API and the page read files only via deps.read_submission_file (the reader
    process): no handler parses a spreadsheet on the event loop or in the request threads."""
    for module in (api, web):
        source = Path(module.__file__ or "").read_text(encoding="utf-8")
        assert "read_submission_file(" in source
        assert not re.search(r"\b(read_upload|parse_json|load_workbook)\(", source)


def test_a_malformed_page_address_gets_a_vietnamese_page_not_json(portal: Portal) -> None:
    with portal.client() as client:
        sign_in(client, new_token(portal.engine, "xa-mot"))
        response = client.get("/items/abc")
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")
    assert "Trường «item_id» không hợp lệ: phải là số nguyên." in response.text


class _Form(BaseModel):
    kind: Literal["report", "deliverable"]
    title: str = Field(min_length=1, max_length=5)
    count: int = Field(ge=1)
    due_on: date
    units: list[str] = Field(max_length=1)


def test_each_kind_of_schema_refusal_has_its_vietnamese_reason() -> None:
    with pytest.raises(ValidationError) as refused:
        _Form(kind="x", title="", count=0, due_on="31/12/2024", units=["a", "b"])  # type: ignore[arg-type]
    fields = _validation_fields(RequestValidationError(refused.value.errors()))
    assert {f.field: f.message.split(": ", 1)[1] for f in fields} == {
        "kind": "phải là một trong các giá trị 'report' hoặc 'deliverable'.",
        "title": "không được để trống.",
        "count": "phải lớn hơn hoặc bằng 1.",
        "due_on": "ngày không hợp lệ: '31/12/2024' (viết theo dạng NNNN-TT-NN, ví dụ 2024-03-20).",
        "units": "quá nhiều mục (tối đa 1).",
    }


def test_a_key_given_twice_in_a_json_body_is_refused_not_half_kept(portal: Portal) -> None:
    token = new_token(portal.engine, "xa-mot")
    raw = HEAD + b'"values": {"viec-lam": 1300, "ty-le": 5, "viec-lam": 13}}'
    with portal.client(token) as client:
        response = client.post(
            "/api/v1/submissions", content=raw, headers={"Content-Type": "application/json"}
        )
    first = _first_field(response)
    assert (first["field"], first["code"]) == ("body", "duplicate")
    assert "viec-lam" in first["message"]
    assert stored(portal.engine) == NOTHING


def _dead_reader() -> ProcessPoolExecutor:
    """A reader pool whose process was killed, as the kernel does past its memory cap."""
    import multiprocessing
    import os
    import signal

    pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
    os.kill(pool.submit(os.getpid).result(timeout=60), signal.SIGKILL)
    return pool


@pytest.mark.serial
@pytest.mark.slow  # spawns and kills reader processes
def test_a_file_whose_reader_dies_is_read_again_by_a_fresh_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import asyncio

    from portal import reading

    dead = [_dead_reader()]
    real = reading._readers
    monkeypatch.setattr(reading, "_readers", lambda: dead.pop() if dead else real())
    parsed = asyncio.run(reading.read_in_reader(None, b'{"values": {"a": "1"}}'))
    assert parsed.raw.values == {"a": "1"}


@pytest.mark.serial
@pytest.mark.slow  # spawns and kills reader processes
def test_a_file_that_kills_every_reader_is_refused_in_vietnamese(
    portal: Portal, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    from portal import reading

    monkeypatch.setattr(reading, "_readers", _dead_reader)
    with pytest.raises(IntakeError) as refused:
        asyncio.run(reading.read_in_reader(None, b'{"values": {}}'))
    assert refused.value.code == "invalid"
    assert refused.value.fields[0].code == "too_complex"
    assert "bộ nhớ" in refused.value.fields[0].message
    assert stored(portal.engine) == NOTHING


def test_a_refusal_crosses_from_the_reader_with_its_fields() -> None:
    import pickle

    refusal = Invalid([FieldError("file", "too_complex", "Tệp quá phức tạp.", "ô A1")])
    copy = pickle.loads(pickle.dumps(refusal))
    assert type(copy) is Invalid
    assert copy.as_dict() == refusal.as_dict() and copy.status == refusal.status
