"""Support for the unit page and outbox tests: the escalation plan after a real daily check
(reminders e-mailed, then the mail server down until messages are given up), tokens, a portal."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import Engine, select

from access.actor import Actor
from access.tokens import issue_token
from demo.sinks import SmtpServer, ZaloServer
from models.access import Role
from models.db import transaction
from models.org import Unit
from models.outbox import OutboxMessage
from notifications.daily_check import run_once
from plan_sync.sync import load_plan
from plans.loader import parse_plan
from portal.app import create_app
from settings import Settings
from tests.support.escalation import PLAN, item_id, make_settings, vn
from tests.support.intake import ADMIN_SECRET, Clock, sign_in
from tests.support.seeded import seeded

Q1_XA_MOT = "report:esc-2024:bao-cao-quy:xa-mot:2024-Q1"
PLAN_XA_MOT = "deliverable:esc-2024:ke-hoach-xa:xa-mot"
# When the pages are read: the Monday the overdue-1 e-mails (queued Tuesday) are given up.
READ_AT = vn(2024, 3, 25, 9)
SETUP = Actor(role=Role.ADMIN, label="test:setup")


def unit_token(engine: Engine, unit: str, label: str, now: datetime = READ_AT) -> str:
    """A unit's access token with the label the office gave it; its secret."""
    with transaction(engine) as session:
        row = session.scalars(select(Unit).where(Unit.code == unit)).one()
        _, secret = issue_token(
            session=session, role=Role.UNIT, unit=row, label=label, issued_by=SETUP, now=now
        )
    return secret


def portal_settings(settings: Settings, data_dir: Path, portal_url: str | None = None) -> Settings:
    """The escalation settings with the office's secret, a data folder and the portal's address."""
    update: dict[str, object] = {"admin_token": SecretStr(ADMIN_SECRET), "data_dir": data_dir}
    if portal_url is not None:
        update["portal_url"] = portal_url
    return settings.model_copy(update=update)


@dataclass
class Desk:
    """The portal over the scenario's database, read through FastAPI's TestClient."""

    engine: Engine
    settings: Settings
    clock: Clock
    receipts: list[str] = field(default_factory=list)  # xa-mot's plan, sent twice

    @contextmanager
    def client(self, token: str | None = None) -> Iterator[httpx.Client]:
        """A browser-like client, signed in with `token` on the pages if given."""
        app = create_app(self.settings, engine=self.engine, clock=self.clock)
        with TestClient(app, base_url="http://testserver", follow_redirects=False) as client:
            if token is not None:
                sign_in(client, token)
            yield client


def submit_plan_twice(engine: Engine, client: httpx.Client, token: str, clock: Clock) -> list[str]:
    """xa-mot's officer sends its plan's progress twice through the API; the receipt numbers."""
    receipts = []
    for at, state in ((vn(2024, 3, 11, 10), "in_progress"), (vn(2024, 3, 12, 15, 30), "done")):
        clock.now = at
        sent = client.post(
            "/api/v1/submissions",
            json={"item_id": item_id(engine, PLAN_XA_MOT), "progress": {"state": state}},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert sent.status_code == 201, sent.text
        receipts.append(sent.json()["receipt_no"])
    return receipts


def run_the_month(engine: Engine, settings: Settings, smtp: SmtpServer) -> None:
    """The daily checks of 13 to 25 March: remind-3 e-mailed on the 13th; the mail server down
    from the 18th, so overdue-1 (queued Tuesday 19th) is given up on Monday 25th."""
    run_once(engine=engine, settings=settings, now=vn(2024, 3, 13))
    smtp.stop()
    for day in (18, 19, 20, 21, 22, 25):
        run_once(engine=engine, settings=settings, now=vn(2024, 3, day))


def messages(engine: Engine) -> list[OutboxMessage]:
    with transaction(engine) as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


# --- fixtures (a plugin of tests/conftest.py) -------------------------------------------------


@pytest.fixture
def desk_month(
    engine: Engine,
    smtp: SmtpServer,
    zalo: ZaloServer,
    tmp_path: Path,
) -> Desk:
    """The escalation plan after xa-mot sent its plan twice and March's daily checks ran."""
    settings = portal_settings(make_settings(engine, smtp, zalo), tmp_path / "data")
    desk = Desk(engine=engine, settings=settings, clock=Clock(READ_AT))

    def play() -> list[str]:
        with transaction(engine) as session:
            plan = parse_plan(PLAN.read_text(encoding="utf-8"))
            load_plan(plan, session=session, now=vn(2024, 1, 1))
        officer = unit_token(engine, "xa-mot", "Đặng Thị Một, cán bộ đầu mối")
        with desk.client() as client:
            receipts = submit_plan_twice(engine, client, officer, desk.clock)
        run_the_month(engine, settings, smtp)
        return receipts

    desk.receipts = seeded(engine, "desk_month", play)
    smtp.stop()  # as the month leaves it: the mail server down (played, or rows put back)
    desk.clock.now = READ_AT
    return desk
