""" "Tổng hợp ngay" keeps its promises: a second request for a period already compiling gets
what it asked for or is told in Vietnamese to wait; nothing starts unless its audit row is
written; the Prefect API may be named in the home's .env like every other setting."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import Engine, text

from access.actor import Actor
from models.access import Role
from portal.app import create_app
from portal.deps import COOKIE, csrf_of, web_actor
from reports.ondemand import CompileJobs
from settings import Settings
from tests.support.desk_actions import audit
from tests.support.intake import ADMIN_SECRET, Clock

OFFICE = Actor(role=Role.ADMIN, label="test:office")
SESSION = "dds_office-session"


def _app(engine: Engine, home: Path) -> FastAPI:
    settings = Settings(
        home=home,  # its .env is read, as a portal started there reads it
        database_url=engine.url.render_as_string(hide_password=False),
        data_dir=home / "du-lieu",
        admin_token=SecretStr(ADMIN_SECRET),
    )
    app = create_app(settings, engine=engine, clock=Clock())
    app.dependency_overrides[web_actor] = lambda: OFFICE
    return app


def _office(app: FastAPI, **options: bool) -> TestClient:
    client = TestClient(app, base_url=app.state.portal.settings.portal_url, **options)
    client.cookies.set(COOKIE, SESSION)
    return client


def _compile(client: TestClient, formats: list[str], *, confirmed: bool = True) -> httpx.Response:
    data: dict[str, str | list[str]] = {"csrf": csrf_of(SESSION), "period": "2024-04"}
    data["formats"] = formats
    if confirmed:
        data["xac_nhan"] = "1"
    return client.post("/bao-cao/tong-hop", data=data, follow_redirects=False)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("PREFECT_API_URL", raising=False)  # the home's .env alone decides
    (tmp_path / ".env").write_text("", encoding="utf-8")
    return tmp_path


def test_a_second_request_follows_a_run_writing_its_formats_or_is_told_to_wait(
    loaded: Engine, home: Path
) -> None:
    app = _app(loaded, home)
    jobs = app.state.compile_jobs = CompileJobs(clock=Clock())
    release = threading.Event()

    def slow() -> list[Path]:
        release.wait(10)
        return []

    running = jobs.start("2024-04", ["docx", "xlsx"], "office", slow)
    try:
        with _office(app) as office:
            other = _compile(office, ["docx", "html"])
            assert other.status_code == 422, other.text[:300]
            said = other.text
            assert "Đang có một lần tổng hợp báo cáo tháng 4 năm 2024 với định dạng" in said
            assert "Word (DOCX), Excel (XLSX)" in said and "để có Trang web (HTML)" in said
            assert audit(loaded, "report.compile") == []

            same = _compile(office, ["xlsx"])
            assert same.status_code == 303
            location = f"/bao-cao/tong-hop/{running.job_id}"
            assert same.headers["location"] == location
    finally:
        release.set()
        jobs.wait(10)
    (event,) = audit(loaded, "report.compile")
    assert event["details"] == {"formats": ["xlsx"], "via": "portal", "run": location}


@contextmanager
def _audit_refused(engine: Engine) -> Iterator[None]:
    """The database refuses the compile-now audit row (as a full disk or a lost connection
    would), with a trigger of the real database."""
    if engine.dialect.name == "sqlite":
        create = [
            "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events "
            "WHEN NEW.action = 'report.compile' BEGIN SELECT RAISE(ABORT, 'refused'); END"
        ]
        drop = ["DROP TRIGGER refuse_audit"]
    else:
        create = [
            "CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "IF NEW.action = 'report.compile' THEN RAISE EXCEPTION 'refused'; END IF; "
            "RETURN NEW; END $$",
            "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events "
            "FOR EACH ROW EXECUTE FUNCTION refuse_audit()",
        ]
        drop = ["DROP TRIGGER refuse_audit ON audit_events", "DROP FUNCTION refuse_audit()"]
    with engine.begin() as connection:
        for statement in create:
            connection.execute(text(statement))
    try:
        yield
    finally:
        with engine.begin() as connection:
            for statement in drop:
                connection.execute(text(statement))


def test_a_compilation_whose_audit_row_cannot_be_written_never_starts(
    loaded: Engine, home: Path
) -> None:
    app = _app(loaded, home)
    with _audit_refused(loaded), _office(app, raise_server_exceptions=False) as office:
        failed = _compile(office, ["docx"])
    assert failed.status_code == 500
    assert getattr(app.state, "compile_jobs", None) is None  # no compilation was started
    assert not (home / "du-lieu" / "reports").exists()


def test_a_prefect_api_named_in_the_homes_env_file_is_used(loaded: Engine, home: Path) -> None:
    (home / ".env").write_text("PREFECT_API_URL=http://127.0.0.1:9/api\n", encoding="utf-8")
    with _office(_app(loaded, home)) as office:
        confirm = _compile(office, ["docx"], confirmed=False)
    assert confirm.status_code == 200
    assert "trên Prefect" in confirm.text
