"""The JSON API against a real uvicorn server, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import openpyxl
import pytest
from sqlalchemy import select

from intake.locks import lock_period
from models.access import AccessToken, AuditEvent
from models.db import session_factory, transaction
from models.queries import first_accepted_at, latest_accepted
from tests.support.intake import (
    LOADER,
    NOTHING,
    NOW,
    UPLOAD_LIMIT,
    Portal,
    item_id,
    new_token,
    sign_in,
    stored,
)

MONTH = {"obligation": "bao-cao-thang", "period": "2024-04"}
GOOD = {
    **MONTH,
    "values": {"viec-lam": "1.300", "ty-le": "67,5", "dai-hoi": "có"},
    "narrative": {"Kết quả thực hiện": "Đã tổ chức 3 lớp dạy nghề."},
}


def _xlsx(rows: list[list[Any]], extra: dict[str, bytes] | None = None) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    if not extra:
        return out.getvalue()
    # Rewrite the archive with extra parts, e.g. a VBA project inside a file named .xlsx.
    source = zipfile.ZipFile(io.BytesIO(out.getvalue()))
    patched = io.BytesIO()
    with zipfile.ZipFile(patched, "w") as target:
        for info in source.infolist():
            target.writestr(info, source.read(info))
        for name, data in extra.items():
            target.writestr(name, data)
    return patched.getvalue()


def test_openapi_document_describes_the_api(portal: Portal) -> None:
    doc = portal.client().get("/api/openapi.json").json()
    assert {
        "/api/v1/items",
        "/api/v1/items/{item_id}",
        "/api/v1/submissions",
        "/api/v1/submissions/upload",
        "/api/v1/receipts/{receipt_no}",
    } <= set(doc["paths"])
    assert doc["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    post = doc["paths"]["/api/v1/submissions"]["post"]
    assert {"201", "409", "413", "422"} <= set(post["responses"])


def test_submit_versions_receipt_and_history(portal: Portal) -> None:
    engine = portal.engine
    token = new_token(engine, "xa-mot")
    item = item_id(engine, "xa-mot", "bao-cao-thang", "2024-04")
    with portal.client(token) as client:
        first = client.post("/api/v1/submissions", json=GOOD)
        assert first.status_code == 201, first.text
        body = first.json()
        assert body["receipt_no"] == f"BN-{item}-1"
        assert body["version"] == 1
        assert body["received_at"] == "2024-04-20T09:00:00+07:00"
        assert body["values"] == {"viec-lam": 1300, "ty-le": 67.5, "dai-hoi": True}
        assert body["values_shown"] == {"viec-lam": "1.300", "ty-le": "67,5%", "dai-hoi": "Có"}
        assert body["narrative"] == {"Kết quả thực hiện": "Đã tổ chức 3 lớp dạy nghề."}
        assert body["channel"] == "api"

        portal.clock.now = NOW.add(days=2)
        second = client.post(
            "/api/v1/submissions",
            json={**GOOD, "values": {"viec-lam": 1400, "ty-le": 70}},
        )
        assert second.status_code == 201, second.text
        assert second.json()["version"] == 2

        receipt = client.get(f"/api/v1/receipts/{body['receipt_no']}").json()
        assert receipt["values"]["viec-lam"] == 1300  # history is kept as sent
        history = client.get("/api/v1/submissions", params={"item_id": item}).json()
        assert [h["version"] for h in history] == [2, 1]

        listed = {i["id"]: i for i in client.get("/api/v1/items").json()}
        assert listed[item]["status"] == "submitted_late"  # deadline 16/04, first sent 20/04
        assert listed[item]["status_vi"] == "Đã gửi muộn"

    with session_factory(engine)() as session:
        latest = latest_accepted([item], session=session)
        assert latest[item].version == 2
        assert {v.target.code: v.number for v in latest[item].values} == {
            "viec-lam": Decimal(1400),
            "ty-le": Decimal(70),
        }
        assert first_accepted_at([item], session=session)[item] == NOW
        # Replaying the day of the first submission: only what had arrived by then counts.
        assert latest_accepted([item], session=session, as_of=NOW)[item].version == 1
        assert first_accepted_at([item], session=session, as_of=NOW.subtract(seconds=1)) == {}


def test_same_idempotency_key_returns_the_first_result(portal: Portal) -> None:
    token = new_token(portal.engine, "xa-mot")
    headers = {"Idempotency-Key": "lan-gui-1"}
    with portal.client(token) as client:
        first = client.post("/api/v1/submissions", json=GOOD, headers=headers)
        again = client.post("/api/v1/submissions", json=GOOD, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["receipt_no"] == first.json()["receipt_no"]
    assert again.json()["replayed"] is True
    # Even once the period is locked, a client retrying gets its first receipt back.
    with transaction(portal.engine) as session:
        lock_period(
            session=session, source="bao-cao-thang", period="2024-04", actor=LOADER, now=NOW
        )
    with portal.client(token) as client:
        late_retry = client.post("/api/v1/submissions", json=GOOD, headers=headers)
        fresh = client.post("/api/v1/submissions", json=GOOD)
    assert late_retry.status_code == 201
    assert late_retry.json()["receipt_no"] == first.json()["receipt_no"]
    assert (fresh.status_code, fresh.json()["error"]["code"]) == (409, "locked")
    assert stored(portal.engine)["submissions"] == 1


def test_idempotency_keys_are_per_unit(portal: Portal) -> None:
    one, two = new_token(portal.engine, "xa-mot"), new_token(portal.engine, "xa-hai")
    headers = {"Idempotency-Key": "k1"}
    with portal.client(one) as a, portal.client(two) as b:
        assert a.post("/api/v1/submissions", json=GOOD, headers=headers).status_code == 201
        other = b.post("/api/v1/submissions", json=GOOD, headers=headers)
    assert other.status_code == 201
    assert other.json()["item"]["unit"] == "xa-hai"
    assert stored(portal.engine)["submissions"] == 2


# ---------------------------------------------------------------- bad input: nothing is stored

Case = tuple[str, Callable[[Any, Portal], Any], int, str | None, str]


def _json(payload: dict[str, Any]) -> Callable[[Any, Portal], Any]:
    return lambda client, _portal: client.post("/api/v1/submissions", json=payload)


def _upload(name: str, data: bytes, **form: str) -> Callable[[Any, Portal], Any]:
    return lambda client, _portal: client.post(
        "/api/v1/submissions/upload", files={"file": (name, data)}, data=form
    )


def _locked(client: Any, portal: Portal) -> Any:
    with transaction(portal.engine) as session:
        lock_period(
            session=session, source="bao-cao-thang", period="2024-03", actor=LOADER, now=NOW
        )
    return client.post("/api/v1/submissions", json={**GOOD, "period": "2024-03"})


def _template_rows(**values: Any) -> list[list[Any]]:
    rows: list[list[Any]] = [
        ["MẪU BÁO CÁO DONDOC", "phiên bản 1"],
        ["Mã báo cáo", "bao-cao-thang"],
        ["Mã đơn vị", "xa-mot"],
        ["Kỳ báo cáo", "2024-04"],
        [],
        ["Mã chỉ tiêu", "Chỉ tiêu", "Đơn vị tính", "Loại giá trị", "Bắt buộc", "Giá trị"],
    ]
    rows += [[code, "", "", "", "", value] for code, value in values.items()]
    return rows


def _chunked(client: Any, _portal: Portal) -> Any:
    def body() -> Iterator[bytes]:
        for _ in range(UPLOAD_LIMIT // 8192 + 8):
            yield b"x" * 8192

    # A generator body is sent chunked: no Content-Length for the server to check up front.
    return client.post(
        "/api/v1/submissions",
        content=body(),
        headers={"Content-Type": "application/json"},
    )


def _reused_key(client: Any, _portal: Portal) -> Any:
    headers = {"Idempotency-Key": "k-reused"}
    assert client.post("/api/v1/submissions", json=GOOD, headers=headers).status_code == 201
    other = {**GOOD, "values": {"viec-lam": 5, "ty-le": 1}}
    return client.post("/api/v1/submissions", json=other, headers=headers)


BAD: list[Case] = [
    ("wrong unit", _json({**GOOD, "unit": "xa-hai"}), 403, "unit", "forbidden_unit"),
    (
        "unknown obligation",
        _json({**GOOD, "obligation": "khong-co"}),
        422,
        "obligation",
        "unknown_obligation",
    ),
    ("unknown period", _json({**GOOD, "period": "2024-13"}), 422, "period", "unknown_period"),
    ("unknown unit", _json({**GOOD, "unit": "xa-khong-co"}), 422, "unit", "unknown_unit"),
    ("period not yet open", _json({**GOOD, "period": "2024-05"}), 409, None, "not_open"),
    ("period locked", _locked, 409, None, "locked"),
    (
        "missing required value",
        _json({**GOOD, "values": {"ty-le": "50"}}),
        422,
        "values.viec-lam",
        "required",
    ),
    (
        "text in a number",
        _json({**GOOD, "values": {"viec-lam": "nhiều", "ty-le": "5"}}),
        422,
        "values.viec-lam",
        "not_a_number",
    ),
    (
        "negative count",
        _json({**GOOD, "values": {"viec-lam": -5, "ty-le": "5"}}),
        422,
        "values.viec-lam",
        "negative",
    ),
    (
        "fractional count",
        _json({**GOOD, "values": {"viec-lam": "12,5", "ty-le": "5"}}),
        422,
        "values.viec-lam",
        "not_integer",
    ),
    (
        "percent over 100",
        _json({**GOOD, "values": {"viec-lam": 1, "ty-le": "100,5"}}),
        422,
        "values.ty-le",
        "out_of_range",
    ),
    (
        "not yes or no",
        _json({**GOOD, "values": {"viec-lam": 1, "ty-le": 1, "dai-hoi": "có lẽ"}}),
        422,
        "values.dai-hoi",
        "not_yes_no",
    ),
    (
        "empty report",
        _json({"obligation": "bao-cao-quy", "unit": "phong-a", "period": "2024-Q1"}),
        422,
        "values",
        "empty",
    ),
    ("unknown top-level field", _json({**GOOD, "ghi_chu": "x"}), 422, "ghi_chu", "unknown_field"),
    (
        "unknown target",
        _json({**GOOD, "values": {**GOOD["values"], "khong-co": 1}}),
        422,
        "values.khong-co",
        "unknown_field",
    ),
    (
        "unknown narrative section",
        _json({**GOOD, "narrative": {"Phần lạ": "x"}}),
        422,
        "narrative.Phần lạ",
        "unknown_field",
    ),
    (
        "progress on a report",
        _json({**GOOD, "progress": {"state": "done"}}),
        422,
        "progress",
        "unknown_field",
    ),
    (
        "malformed JSON body",
        lambda client, _p: client.post(
            "/api/v1/submissions", content=b"{", headers={"Content-Type": "application/json"}
        ),
        422,
        None,
        "malformed_json",
    ),
    (
        "oversized upload (Content-Length)",
        _upload("bao-cao.xlsx", b"x" * (UPLOAD_LIMIT + 1)),
        413,
        None,
        "too_large",
    ),
    ("oversized upload (chunked)", _chunked, 413, None, "http_413"),
    (
        "malformed spreadsheet",
        _upload("bao-cao.xlsx", b"PK\x03\x04 broken"),
        422,
        "file",
        "malformed",
    ),
    (
        "macro-enabled by name",
        _upload("bao-cao.xlsm", _xlsx(_template_rows(**{"viec-lam": 1, "ty-le": 1}))),
        422,
        "file",
        "macro_enabled",
    ),
    (
        "macro-enabled inside .xlsx",
        _upload(
            "bao-cao.xlsx",
            _xlsx(
                _template_rows(**{"viec-lam": 1, "ty-le": 1}),
                {"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0 fake vba"},
            ),
        ),
        422,
        "file",
        "macro_enabled",
    ),
    (
        "spreadsheet value not a number",
        _upload("bao-cao.xlsx", _xlsx(_template_rows(**{"viec-lam": "abc", "ty-le": 5}))),
        422,
        "values.viec-lam",
        "not_a_number",
    ),
    (
        "not the template",
        _upload("bao-cao.xlsx", _xlsx([["Báo cáo tháng 4"], ["viec-lam", 10]])),
        422,
        "file",
        "not_a_template",
    ),
    (
        "CSV not in UTF-8",
        _upload(
            "bao-cao.csv",
            "MẪU BÁO CÁO DONDOC,phiên bản 1\r\nMã báo cáo,bao-cao-thang\r\n".encode("utf-16"),
        ),
        422,
        "file",
        "not_utf8",
    ),
    (
        "unknown upload field",
        _upload(
            "bao-cao.xlsx",
            _xlsx(_template_rows(**{"viec-lam": 1, "ty-le": 1})),
            ghi_chu="x",
        ),
        422,
        "ghi_chu",
        "unknown_field",
    ),
    (
        "file header disagrees with form",
        _upload(
            "bao-cao.xlsx", _xlsx(_template_rows(**{"viec-lam": 1, "ty-le": 1})), period="2024-03"
        ),
        422,
        "period",
        "mismatch",
    ),
    ("reused idempotency key, other content", _reused_key, 409, "idempotency_key", None),
]


@pytest.mark.parametrize(("name", "send", "status", "field", "code"), BAD, ids=[c[0] for c in BAD])
def test_bad_input_is_refused_and_nothing_is_stored(
    portal: Portal,
    name: str,
    send: Callable[[Any, Portal], Any],
    status: int,
    field: str | None,
    code: str | None,
) -> None:
    token = new_token(portal.engine, "xa-mot" if "empty" not in name else "phong-a")
    blobs = portal.settings.data_dir / "attachments"
    before = sorted(blobs.rglob("*")) if blobs.exists() else []
    expected = dict(NOTHING)
    if name.startswith("reused"):
        expected = stored(portal.engine) | {"submissions": 1, "values": 3, "audit": 1}
    with portal.client(token) as client:
        response = send(client, portal)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["message"]  # a Vietnamese sentence for the user
    if code is not None and field is None:
        assert error["code"] == code
    if field is not None:
        fields = {f["field"]: f for f in error["fields"]}
        assert field in fields, error
        if code is not None:
            assert fields[field]["code"] == code
    assert stored(portal.engine) == expected
    after = sorted(blobs.rglob("*")) if blobs.exists() else []
    assert after == before  # no attachment bytes written either


def test_errors_name_the_cell_of_a_spreadsheet(portal: Portal) -> None:
    token = new_token(portal.engine, "xa-mot")
    data = _xlsx(_template_rows(**{"viec-lam": "-3", "ty-le": 150}))
    with portal.client(token) as client:
        response = client.post("/api/v1/submissions/upload", files={"file": ("t.xlsx", data)})
    assert response.status_code == 422
    fields = {f["field"]: f for f in response.json()["error"]["fields"]}
    assert fields["values.viec-lam"]["where"] == "ô F7"
    assert fields["values.ty-le"]["where"] == "ô F8"
    assert "Tỷ lệ phải từ 0 đến 100" in fields["values.ty-le"]["message"]


# ---------------------------------------------------------------- files


def test_xlsx_template_filled_and_uploaded(portal: Portal) -> None:
    token = new_token(portal.engine, "xa-mot")
    item = item_id(portal.engine, "xa-mot", "bao-cao-thang", "2024-04")
    with portal.client(token) as client:
        template = client.get(f"/api/v1/items/{item}/template", params={"format": "xlsx"})
        assert template.status_code == 200
        assert "xa-mot__bao-cao-thang__2024-04.xlsx" in template.headers["content-disposition"]
        wb = openpyxl.load_workbook(io.BytesIO(template.content))
        ws = wb["Báo cáo"]
        cells = {ws.cell(r, 1).value: r for r in range(1, ws.max_row + 1)}
        assert ws.cell(cells["Mã đơn vị"], 2).value == "xa-mot"
        ws.cell(cells["viec-lam"], 6).value = 1300
        ws.cell(cells["ty-le"], 6).value = 67.5
        ws.cell(cells["dai-hoi"], 6).value = "Có"
        ws.cell(cells["Khó khăn, vướng mắc"], 2).value = "Thiếu giáo viên dạy nghề."
        filled = io.BytesIO()
        wb.save(filled)
        evidence = b"%PDF-1.4 minh chung"
        response = client.post(
            "/api/v1/submissions/upload",
            files=[
                ("file", ("bao-cao-thang-4.xlsx", filled.getvalue())),
                ("attachments", ("minh-chung.pdf", evidence, "application/pdf")),
            ],
            headers={"Idempotency-Key": "xlsx-1"},
        )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["values"] == {"viec-lam": 1300, "ty-le": 67.5, "dai-hoi": True}
    assert body["narrative"] == {"Khó khăn, vướng mắc": "Thiếu giáo viên dạy nghề."}
    files = {a["role"]: a for a in body["attachments"]}
    assert files["source"]["sha256"] == hashlib.sha256(filled.getvalue()).hexdigest()
    assert files["evidence"]["filename"] == "minh-chung.pdf"
    # The bytes are kept outside the rows, content-addressed, exactly as sent.
    sha = files["evidence"]["sha256"]
    kept = portal.settings.data_dir / "attachments" / sha[:2] / sha
    assert kept.read_bytes() == evidence


def test_csv_with_semicolons_from_a_vietnamese_excel(portal: Portal) -> None:
    token = new_token(portal.engine, "xa-mot")
    csv_text = (
        "MẪU BÁO CÁO DONDOC;phiên bản 1\r\n"
        "Mã báo cáo;bao-cao-thang;Báo cáo tháng\r\n"
        "Mã đơn vị;xa-mot\r\n"
        "Kỳ báo cáo;2024-04\r\n"
        ";\r\n"
        "Mã chỉ tiêu;Chỉ tiêu;Đơn vị tính;Loại giá trị;Bắt buộc;Giá trị\r\n"
        "viec-lam;Tạo việc làm mới;lao động;;Có;1.300\r\n"
        "ty-le;Tỷ lệ;%;;Có;67,5\r\n"
    )
    with portal.client(token) as client:
        response = client.post(
            "/api/v1/submissions/upload",
            files={"file": ("bc.csv", ("\ufeff" + csv_text).encode("utf-8"))},
        )
    assert response.status_code == 201, response.text
    assert response.json()["values"] == {"viec-lam": 1300, "ty-le": 67.5}


def test_deliverable_progress_with_evidence(portal: Portal) -> None:
    token = new_token(portal.engine, "xa-hai")
    payload = (
        '{"obligation": "ke-hoach-xa", "progress": '
        '{"state": "Đang thực hiện", "note": "Đã lấy ý kiến các thôn", "on": "19/04/2024"}}'
    )
    with portal.client(token) as client:
        response = client.post(
            "/api/v1/submissions/upload",
            data={"payload": payload},
            files={"attachments": ("bien-ban.pdf", b"%PDF bien ban", "application/pdf")},
        )
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["progress"] == {
            "state": "in_progress",
            "note": "Đã lấy ý kiến các thôn",
            "on": "2024-04-19",
        }
        assert [a["filename"] for a in body["attachments"]] == ["bien-ban.pdf"]
        missing = client.post(
            "/api/v1/submissions", json={"obligation": "ke-hoach-xa", "progress": None}
        )
    assert missing.status_code == 422
    assert missing.json()["error"]["fields"][0]["field"] == "progress.state"


# ---------------------------------------------------------------- access


def test_every_endpoint_refuses_another_units_token(portal: Portal) -> None:
    engine = portal.engine
    mine, theirs = new_token(engine, "xa-mot"), new_token(engine, "xa-hai")
    item = item_id(engine, "xa-mot", "bao-cao-thang", "2024-04")
    with portal.client(mine) as client:
        receipt_no = client.post("/api/v1/submissions", json=GOOD).json()["receipt_no"]
    calls: dict[tuple[str, str], Callable[[Any], Any]] = {
        ("get", "/api/v1/items"): lambda c: c.get("/api/v1/items", params={"unit": "xa-mot"}),
        ("get", "/api/v1/items/{item_id}"): lambda c: c.get(f"/api/v1/items/{item}"),
        ("get", "/api/v1/items/{item_id}/template"): lambda c: c.get(
            f"/api/v1/items/{item}/template"
        ),
        ("post", "/api/v1/submissions"): lambda c: c.post(
            "/api/v1/submissions", json={**GOOD, "item_id": item}
        ),
        ("post", "/api/v1/submissions/upload"): lambda c: c.post(
            "/api/v1/submissions/upload",
            data={"payload": '{"values": {"viec-lam": 1, "ty-le": 1}}', "item_id": str(item)},
        ),
        ("get", "/api/v1/submissions"): lambda c: c.get(
            "/api/v1/submissions", params={"item_id": item}
        ),
        ("get", "/api/v1/receipts/{receipt_no}"): lambda c: c.get(f"/api/v1/receipts/{receipt_no}"),
        ("post", "/api/v1/requests"): lambda c: c.post(
            "/api/v1/requests",
            json={"kind": "report", "title": "x", "units": ["xa-hai"], "within_working_days": 3},
        ),
    }
    with portal.client() as anonymous:
        doc = anonymous.get("/api/openapi.json").json()
    documented = {
        (method, path)
        for path, ops in doc["paths"].items()
        for method in ops
        if path != "/api/v1/me"  # says who the token is; there is no other unit's data in it
    }
    assert documented == set(calls), "a new endpoint needs its access check here"
    with portal.client(theirs) as other, portal.client() as anonymous:
        for (method, path), call in calls.items():
            refused = call(other)
            assert refused.status_code == 403, (method, path, refused.text)
            assert refused.json()["error"]["code"] in ("forbidden_unit", "admin_only")
            assert call(anonymous).status_code == 401, (method, path)
        # Listing without a unit filter shows only the caller's own items and submissions.
        own = other.get("/api/v1/items").json()
        assert own and {i["unit"] for i in own} == {"xa-hai"}
        assert other.get("/api/v1/submissions").json() == []
        # The pages refuse the other unit's cookie the same way.
        sign_in(other, theirs)
        for path in (f"/items/{item}", f"/items/{item}/template.xlsx", f"/receipts/{receipt_no}"):
            assert other.get(path).status_code == 403, path
        page_post = other.post(f"/items/{item}", data={"csrf": "x"})
        assert page_post.status_code == 403
    assert stored(engine)["submissions"] == 1


def test_admin_token_sees_everything(portal: Portal) -> None:
    from tests.support.intake import ADMIN_SECRET

    with portal.client(ADMIN_SECRET) as admin:
        listed = admin.get("/api/v1/items", params={"period": "2024-04"}).json()
        assert {i["unit"] for i in listed} == {"xa-mot", "xa-hai", "tt-ba"}
        sent = admin.post("/api/v1/submissions", json={**GOOD, "unit": "tt-ba"})
        assert sent.status_code == 201, sent.text
        assert sent.json()["submitted_by"] == "admin:settings"
        needs_unit = admin.post("/api/v1/submissions", json=GOOD)
    assert needs_unit.status_code == 422
    assert needs_unit.json()["error"]["fields"][0]["field"] == "unit"


def test_tokens_are_stored_hashed_and_revocable(portal: Portal) -> None:
    from access.actor import Actor
    from access.tokens import revoke_tokens
    from models.access import Role

    secret = new_token(portal.engine, "xa-mot")
    with session_factory(portal.engine)() as session:
        rows = session.scalars(select(AccessToken)).all()
        assert [r.token_hash for r in rows] == [hashlib.sha256(secret.encode()).hexdigest()]
        assert all(secret not in str(vars(r).values()) for r in rows)
    with portal.client(secret) as client:
        assert client.get("/api/v1/me").json() == {"role": "unit", "unit": "xa-mot"}
        with transaction(portal.engine) as session:
            revoke_tokens(
                session=session,
                revoked_by=Actor(role=Role.ADMIN, label="test"),
                now=NOW,
                token_id=rows[0].id,
            )
        refused = client.get("/api/v1/me")
    assert refused.status_code == 401
    assert refused.headers.get("content-type", "").startswith("application/json")


def test_every_change_is_audited_with_who_when_where(portal: Portal) -> None:
    token = new_token(portal.engine, "xa-mot")
    with portal.client(token) as client:
        receipt_no = client.post("/api/v1/submissions", json=GOOD).json()["receipt_no"]
    with session_factory(portal.engine)() as session:
        events = {e.action: e for e in session.scalars(select(AuditEvent))}
    assert set(events) == {"token.issue", "submission.create"}
    event = events["submission.create"]
    assert event.actor.startswith("unit:xa-mot token#")
    assert event.at == NOW
    assert event.source_address == "127.0.0.1"
    assert event.details["receipt_no"] == receipt_no


def test_admin_asks_for_an_ad_hoc_report_through_the_api(portal: Portal) -> None:
    from tests.support.intake import ADMIN_SECRET

    portal.clock.now = NOW.subtract(days=1)  # Friday 19/04/2024
    with portal.client(ADMIN_SECRET) as admin:
        created = admin.post(
            "/api/v1/requests",
            json={
                "kind": "report",
                "title": "Báo cáo nhanh tình hình lao động",
                "unit_kinds": ["commune"],
                "targets": ["viec-lam"],
                "within_working_days": 3,
            },
        )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["label"] == "YC-1"
    assert body["units"] == ["xa-hai", "xa-mot"]  # xa-cu no longer exists
    assert body["deadline_on"] == "2024-04-24"  # Mon 22, Tue 23, Wed 24 (Thu 18 was Giỗ Tổ)
    token = new_token(portal.engine, "xa-mot")
    with portal.client(token) as client:
        items = client.get("/api/v1/items", params={"period": "YC-1"}).json()
        assert [i["title"] for i in items] == ["Báo cáo nhanh tình hình lao động"]
        sent = client.post(
            "/api/v1/submissions",
            json={"obligation": "yc-1", "period": "YC-1", "values": {"viec-lam": 12}},
        )
    assert sent.status_code == 201, sent.text
    assert sent.json()["item"]["deadline"] == "2024-04-25T00:00:00+07:00"
    with session_factory(portal.engine)() as session:
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "request.create")
        ).one()
    assert (event.actor, event.source_address) == ("admin:settings", "127.0.0.1")
    assert event.details["units"] == ["xa-hai", "xa-mot"]


def test_hostile_values_never_cause_a_server_error(portal: Portal) -> None:
    token = new_token(portal.engine, "xa-mot")
    with portal.client(token) as client:
        huge = client.get(f"/api/v1/items/{10**20}")
        assert huge.status_code == 404
        assert (
            client.post("/api/v1/submissions", json={**GOOD, "item_id": 10**12}).status_code == 404
        )
        nul = client.post(
            "/api/v1/submissions", json={**GOOD, "narrative": {"Kết quả thực hiện": "a\x00b"}}
        )
        assert nul.status_code == 422
        assert nul.json()["error"]["fields"][0]["code"] == "control_character"
        listed = client.get("/api/v1/items", params={"period": "2024\x00"})
        assert listed.status_code == 422 or listed.json() == []  # PostgreSQL refuses NUL
        for response in (
            client.get("/api/v1/receipts/BN%00"),
            client.post("/api/v1/submissions", json={**GOOD, "period": "\x00"}),
        ):
            assert response.status_code in (404, 422), response.text
            assert response.json()["error"]["message"]
    assert stored(portal.engine) == NOTHING


def test_instants_are_written_in_vietnamese_time(portal: Portal) -> None:
    token = new_token(portal.engine, "xa-mot")
    item = item_id(portal.engine, "xa-mot", "bao-cao-thang", "2024-04")
    with portal.client(token) as client:
        detail = client.get(f"/api/v1/items/{item}").json()
    assert detail["opens_at"] == "2024-04-14T00:00:00+07:00"  # the cut-off day opens it
    assert detail["deadline"] == "2024-04-17T00:00:00+07:00"  # end of Tue 16/04
    assert detail["deadline_on"] == "2024-04-16"
    assert [t["code"] for t in detail["targets"]] == ["viec-lam", "ty-le", "dai-hoi", "ghi-chu"]
    assert detail["sections"][0] == "Kết quả thực hiện"
