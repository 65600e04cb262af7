"""Helpers of the intake tests: the test plan, clock, tokens, a uvicorn server, row counts."""

from __future__ import annotations

import re
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
import pendulum
import pytest
import uvicorn
from pydantic import SecretStr
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from access.actor import Actor
from access.tokens import issue_token
from intake import inbox as box
from intake.inbox import FileOutcome
from models.access import Role
from models.db import session_factory, transaction
from models.items import DueItem
from models.org import Unit
from plan_sync.sync import load_plan
from plans.loader import read_plan
from portal.app import create_app
from settings import ITEM_MAX_BYTES, Settings
from tests.support.seeded import seeded

DATA = Path(__file__).parents[1] / "intake" / "data"
PLAN = DATA / "intake-plan.yaml"
# A Saturday: April 2024 reports are open (cut-off 14/04), May's are not yet.
NOW = pendulum.datetime(2024, 4, 20, 9, 0, tz="Asia/Ho_Chi_Minh").in_timezone("UTC")
ADMIN_SECRET = "admin-secret-for-tests"
UPLOAD_LIMIT = 256 * 1024
LOADER = Actor(role=Role.ADMIN, label="test:setup")


def item_id(engine: Engine, unit: str, source: str, period: str | None) -> int:
    """The id of one item, by unit, obligation/deliverable code and period."""
    with session_factory(engine)() as session:
        for item in session.scalars(
            select(DueItem).join(Unit, Unit.id == DueItem.unit_id).where(Unit.code == unit)
        ):
            code = (item.obligation or item.deliverable).code  # type: ignore[union-attr]
            if code == source and item.period_label == period:
                return item.id
    raise LookupError((unit, source, period))


def new_token(engine: Engine, unit: str | None) -> str:
    """Issue a unit token (or an admin token for unit=None) and return its secret."""
    with transaction(engine) as session:
        row = session.scalars(select(Unit).where(Unit.code == unit)).one() if unit else None
        _, secret = issue_token(
            session=session,
            role=Role.UNIT if row else Role.ADMIN,
            unit=row,
            label="test",
            issued_by=LOADER,
            now=NOW,
        )
    return secret


@dataclass
class Clock:
    """The portal's clock in tests: fixed, and movable by a test."""

    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now


# The portal speaks plain HTTP, but each httpx client builds a TLS context all the same, and
# loading the CA bundle into it costs about 40 ms: the clients share this one.
_TLS = ssl.create_default_context()


@dataclass
class Portal:
    """A running portal: its base URL, its clock, its settings."""

    url: str
    clock: Clock
    settings: Settings
    engine: Engine

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30, verify=_TLS)


def login_form(client: httpx.Client, token: str, next: str = "/") -> dict[str, str]:
    """The sign-in form as the login page fills it (its per-page value included)."""
    page = client.get("/login")
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found is not None, page.text
    return {"csrf": found.group(1), "token": token, "next": next}


def sign_in(client: httpx.Client, token: str) -> str:
    """Sign the client in on the pages as a browser does; returns the session cookie's value."""
    response = client.post("/login", data=login_form(client, token))
    assert response.status_code == 303, response.text
    cookie = client.cookies.get("dondoc_session")
    assert cookie
    return cookie


class _Server:
    def __init__(self, app: object) -> None:
        config = uvicorn.Config(
            app,  # type: ignore[arg-type]
            host="127.0.0.1",
            port=0,
            log_level="warning",
            lifespan="off",
            access_log=False,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the portal did not start")
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def stored(engine: Engine) -> dict[str, int]:
    """Row counts of everything a submission writes; all zero means nothing was stored."""
    from sqlalchemy import func

    from models.access import AuditEvent
    from models.submissions import Attachment, Submission, SubmissionValue

    with session_factory(engine)() as session:
        return {
            "submissions": session.scalar(select(func.count()).select_from(Submission)) or 0,
            "values": session.scalar(select(func.count()).select_from(SubmissionValue)) or 0,
            "attachments": session.scalar(select(func.count()).select_from(Attachment)) or 0,
            "audit": session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "submission.create")
            )
            or 0,
        }


NOTHING = {"submissions": 0, "values": 0, "attachments": 0, "audit": 0}


# --- fixtures shared by the intake, fuzz and security tests (a plugin of tests/conftest.py) ---


@pytest.fixture
def loaded(engine: Engine) -> Engine:
    """The intake plan loaded into the test database."""

    def load() -> None:
        with transaction(engine) as session:
            load_plan(read_plan(PLAN), session=session, now=NOW)

    seeded(engine, "loaded", load)
    return engine


@dataclass
class _Running:
    portals: dict[str, Portal]
    servers: list[_Server]


@pytest.fixture(scope="session")
def _running() -> Iterator[_Running]:
    """The portals started in this session (one per database backend), stopped at the end."""
    running = _Running({}, [])
    yield running
    for server in running.servers:
        server.stop()


@pytest.fixture
def portal(loaded: Engine, _running: _Running, tmp_path_factory: pytest.TempPathFactory) -> Portal:
    """The real portal on 127.0.0.1 over the loaded test database, its clock reset to NOW."""
    key = loaded.url.render_as_string(hide_password=False)
    if key not in _running.portals:
        clock = Clock()
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            database_url=key,
            data_dir=tmp_path_factory.mktemp("portal-data"),
            admin_token=SecretStr(ADMIN_SECRET),
            upload_max_bytes=UPLOAD_LIMIT,
        )
        server = _Server(create_app(settings, engine=loaded, clock=clock))
        _running.servers.append(server)
        _running.portals[key] = Portal(
            url=server.start(), clock=clock, settings=settings, engine=loaded
        )
    running = _running.portals[key]
    running.clock.now = NOW
    return running


def filled_template(
    engine: Engine, fmt: str, values: dict[str, object], unit: str = "", period: str = ""
) -> bytes:
    """The monthly report's template with values written in, as a unit would fill it."""
    import io

    import openpyxl

    from intake.address import source_spec
    from submissions.spreadsheet import TemplateHeader, csv_template, xlsx_template

    with session_factory(engine)() as session:
        title, spec = source_spec("bao-cao-thang", session=session)
    header = TemplateHeader("bao-cao-thang", title, spec.kind, unit or None, period or None)
    if fmt == "csv":
        text = csv_template(header, spec).decode("utf-8-sig")
        lines = []
        for line in text.split("\r\n"):
            code = line.split(",", 1)[0]
            lines.append(line + str(values[code]) if code in values else line)
        return ("\ufeff" + "\r\n".join(lines)).encode("utf-8")
    wb = openpyxl.load_workbook(io.BytesIO(xlsx_template(header, spec)))
    ws = wb["Báo cáo"]
    for row in range(1, ws.max_row + 1):
        code = ws.cell(row, 1).value
        if code in values:
            ws.cell(row, 6).value = values[code]
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def run_inbox(
    engine: Engine,
    inbox: Path,
    data_dir: Path,
    *,
    sessions: sessionmaker[Session] | None = None,
    max_item_bytes: int = ITEM_MAX_BYTES,
) -> list[FileOutcome]:
    """One run of the inbox's steps without Prefect: claim what waits, submit, move each file."""
    return box.process_files(
        box.claim_files(inbox),
        inbox=inbox,
        sessions=sessions or session_factory(engine),
        now=NOW,
        data_dir=data_dir,
        max_upload_bytes=UPLOAD_LIMIT,
        max_item_bytes=max_item_bytes,
    )
