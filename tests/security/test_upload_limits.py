"""The upload limit holds on every route that takes a body (read from the app), whether the
size is declared or the body streams in without one, signed in or not; and in `dondoc submit`
and the inbox too. An oversized body is answered 413 in Vietnamese, stores nothing, and the
server goes on serving."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from cli import intake as cli_intake
from cli.main import app
from intake import inbox as box
from models.db import session_factory
from settings import get_settings
from submissions.spreadsheet import TemplateHeader, csv_template
from tests.support.intake import (
    NOTHING,
    NOW,
    UPLOAD_LIMIT,
    Portal,
    item_id,
    new_token,
    sign_in,
    stored,
)
from tests.support.security import app_routes, portal_app

# Routes that never read a body: nothing arrives to be limited (the declared size still is).
BODYLESS = {"/logout"}


def _post_routes() -> list[str]:
    return sorted(path for method, path in app_routes(portal_app().routes) if method == "POST")


def _concrete(path: str, item: int) -> str:
    return path.replace("{item_id}", str(item))


def _streamed(route: str, total: int) -> tuple[Iterator[bytes], str]:
    """A body of the route's own kind, with no Content-Length (chunked), `total` bytes long."""
    if route in ("/api/v1/submissions/upload", "/items/{item_id}"):
        head = (
            b'--b0undary\r\nContent-Disposition: form-data; name="file"; filename="bc.csv"\r\n'
            b"Content-Type: text/csv\r\n\r\n"
        )
        kind = "multipart/form-data; boundary=b0undary"
    elif not route.startswith("/api"):  # the pages' plain forms
        head, kind = b"token=", "application/x-www-form-urlencoded"
    else:
        head, kind = b'{"narrative": {"x": "', "application/json"

    def chunks() -> Iterator[bytes]:
        yield head
        sent = len(head)
        while sent < total:
            piece = b"x" * min(16384, total - sent)
            sent += len(piece)
            yield piece

    return chunks(), kind


def _assert_413(response: httpx.Response, path: str) -> None:
    assert response.status_code == 413, (path, response.status_code, response.text[:200])
    if path.startswith("/api"):
        assert response.json()["error"]["code"] in ("too_large", "http_413"), path
    assert "quá lớn" in response.text, path  # said in Vietnamese


def test_every_route_refuses_a_body_over_the_limit(portal: Portal) -> None:
    routes = _post_routes()
    assert "/api/v1/submissions/upload" in routes and "/items/{item_id}" in routes
    token = new_token(portal.engine, "xa-mot")
    item = item_id(portal.engine, "xa-mot", "bao-cao-thang", "2024-04")
    too_big = UPLOAD_LIMIT + 1
    for signed_in in (True, False):
        with portal.client(token if signed_in else None) as client:
            if signed_in:
                sign_in(client, token)
            for route in routes:
                path = _concrete(route, item)
                declared = client.post(
                    path, content=b"x" * too_big, headers={"Content-Type": "application/json"}
                )
                _assert_413(declared, path)
                if route in BODYLESS or (not signed_in and not route.startswith("/api")):
                    continue  # a page refuses the anonymous before it reads anything
                body, kind = _streamed(route, too_big * 2)
                streamed = client.post(path, content=body, headers={"Content-Type": kind})
                _assert_413(streamed, path)
        # Many small evidence files that only together pass the limit.
        with portal.client(token) as client:
            files = [
                ("attachments", (f"anh-{i}.jpg", b"\xff" * (UPLOAD_LIMIT // 4))) for i in range(5)
            ]
            many = client.post(
                "/api/v1/submissions/upload",
                data={"payload": '{"values": {"viec-lam": 1, "ty-le": 1}}', "item_id": str(item)},
                files=files,
            )
            _assert_413(many, "/api/v1/submissions/upload")
    assert stored(portal.engine) == NOTHING
    with portal.client(token) as client:  # and the server goes on serving
        assert client.get("/healthz").status_code == 200
        fine = client.post(
            "/api/v1/submissions",
            json={"item_id": item, "values": {"viec-lam": "1.300", "ty-le": "67,5"}},
        )
        assert fine.status_code == 201, fine.text


def _filled_csv(narrative_bytes: int) -> bytes:
    """The monthly report's CSV, filled in, with a long narrative to make it big."""
    from plans.vocabulary import ItemKind
    from submissions.content import FormSpec

    header = TemplateHeader("bao-cao-thang", "Báo cáo tháng", ItemKind.REPORT, "xa-mot", "2024-04")
    spec = FormSpec(kind=ItemKind.REPORT, sections=("Kết quả thực hiện",))
    text = csv_template(header, spec).decode("utf-8-sig")
    text = text.replace("Kết quả thực hiện,", "Kết quả thực hiện," + "a" * narrative_bytes)
    return ("\ufeff" + text).encode("utf-8")


@pytest.fixture
def small_limit(db_env: Engine, loaded: Engine, monkeypatch: pytest.MonkeyPatch) -> int:
    """`dondoc` and the inbox on the loaded test database, with a 4 KiB upload limit."""
    monkeypatch.setenv("DONDOC_UPLOAD_MAX_BYTES", "4096")
    get_settings.cache_clear()
    monkeypatch.setattr(cli_intake, "now", lambda: NOW)
    return 4096


def test_dondoc_submit_and_the_inbox_refuse_a_file_over_the_limit(
    small_limit: int, db_env: Engine, tmp_path: Path
) -> None:
    big = tmp_path / "xa-mot__bao-cao-thang__2024-04.csv"
    big.write_bytes(_filled_csv(small_limit + 100))
    result = CliRunner().invoke(app, ["submit", "--file", str(big)])
    assert result.exit_code == 1, result.output
    assert "Không tiếp nhận:" in result.stderr and "quá lớn" in result.stderr

    inbox = tmp_path / "inbox"
    box.ensure_folders(inbox)
    claimed = inbox / box.WORK / "c1" / big.name
    claimed.parent.mkdir(parents=True)
    claimed.write_bytes(big.read_bytes())
    settings = get_settings()
    outcome = box.process_file(
        claimed,
        inbox=inbox,
        sessions=session_factory(db_env),
        now=datetime(2024, 4, 20, 2, tzinfo=UTC),
        data_dir=settings.data_dir,
        max_upload_bytes=settings.upload_max_bytes,
    )
    assert outcome.outcome == "rejected" and "quá lớn" in " ".join(outcome.problems)
    rejected = inbox / box.REJECTED / big.name
    assert rejected.read_bytes() == big.read_bytes()  # kept whole, beside its report
    report = (inbox / box.REJECTED / (big.name + box.REPORT_SUFFIX)).read_text(encoding="utf-8")
    assert "quá lớn" in report
    assert stored(db_env) == NOTHING
