"""The dashboard tests' province: six communes and towns, a quarterly report, a task's deliverables.

As of NOW (15/08/2024, 09:00 in Hà Nội) Q1 and Q2 are past their deadlines, Q3 and Q4 are not.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pendulum
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import Engine, func, select

from access.actor import Actor
from models.acceptance import refresh_first_acceptance
from models.access import Role
from models.calendar import load_calendar
from models.db import session_factory, transaction
from models.items import DueItem
from models.org import Unit
from models.plan import Deliverable, Obligation
from models.reliefs import ReliefKind
from models.submissions import Submission
from plan_sync.sync import load_plan
from plans.loader import read_plan
from portal.app import create_app
from settings import Settings
from status.states import grant_relief
from tests.support.intake import Clock, new_token
from tests.support.seeded import seeded

PLAN = Path(__file__).parent / "desk-plan.yaml"
NOW = pendulum.datetime(2024, 8, 15, 9, 0, tz="Asia/Ho_Chi_Minh").in_timezone("UTC")
ADMIN_SECRET = "admin-secret-for-desk-tests"
OFFICE = Actor(role=Role.ADMIN, label="test:desk")
VN = "Asia/Ho_Chi_Minh"


def vn(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    """An instant written in Hà Nội's time."""
    return pendulum.datetime(year, month, day, hour, minute, second, tz=VN)


def item_of(engine: Engine, unit: str, source: str, period: str | None) -> DueItem:
    with session_factory(engine)() as session:
        query = select(DueItem).join(Unit, Unit.id == DueItem.unit_id).where(Unit.code == unit)
        if period is not None:
            ids = select(Obligation.id).where(Obligation.code == source)
            query = query.where(DueItem.obligation_id.in_(ids), DueItem.period_label == period)
        else:
            ids = select(Deliverable.id).where(Deliverable.code == source)
            query = query.where(DueItem.deliverable_id.in_(ids))
        item = session.scalars(query).one()
        session.expunge(item)
        return item


def receive(
    engine: Engine, unit: str, period: str | None, at: datetime, *, source: str = "bao-cao-quy"
) -> None:
    """Store one accepted version of the unit's item, received at `at`."""
    item = item_of(engine, unit, source, period)
    with transaction(engine) as session:
        version = (
            session.scalar(
                select(func.max(Submission.version)).where(Submission.item_id == item.id)
            )
            or 0
        ) + 1
        session.add(
            Submission(
                item_id=item.id,
                version=version,
                receipt_no=f"T-{item.id}-{version}",
                received_at=at,
                channel="web",
                submitted_by=f"unit:{unit}",
                accepted=True,
                narrative={},
                content_hash=f"{item.id}-{version}",
            )
        )
        session.flush()
        # As intake does in the submission's transaction: the item keeps its first acceptance.
        refresh_first_acceptance([item.id], session=session)


def relieve(
    engine: Engine, unit: str, period: str, kind: ReliefKind, until: date | None = None
) -> None:
    item = item_of(engine, unit, "bao-cao-quy", period)
    with transaction(engine) as session:
        grant_relief(
            session=session,
            item=session.get(DueItem, item.id),  # type: ignore[arg-type]
            kind=kind,
            reason="thử nghiệm",
            granted_by="test",
            now=NOW - timedelta(days=200),
            calendar=load_calendar(session=session),
            until=until,
        )


def deadline(engine: Engine, unit: str, period: str) -> datetime:
    return item_of(engine, unit, "bao-cao-quy", period).deadline_at


@pytest.fixture
def province(engine: Engine) -> Engine:
    """The plan, and Q1/Q2 as the table in tests/desk/test_desk_page.py describes."""
    seeded(engine, "province", lambda: _seed_province(engine))
    return engine


def _seed_province(engine: Engine) -> None:
    with transaction(engine) as session:
        load_plan(read_plan(PLAN), session=session, now=NOW)
    q1 = deadline(engine, "xa-an-binh", "2024-Q1")
    q2 = deadline(engine, "xa-an-binh", "2024-Q2")
    hour = timedelta(hours=1)
    receive(engine, "xa-an-binh", "2024-Q1", q1 - hour)
    receive(engine, "xa-an-binh", "2024-Q2", q2 - hour)
    receive(engine, "xa-an-binh", "2024-Q2", q2 + 30 * hour)  # a later version: still on time
    receive(engine, "xa-an-phu", "2024-Q1", q1 + hour)  # late
    relieve(engine, "xa-bac-son", "2024-Q1", ReliefKind.EXEMPTION)
    receive(engine, "xa-bac-son", "2024-Q1", q1 - hour)  # sent anyway: exempt stays exempt
    relieve(engine, "xa-bac-son", "2024-Q2", ReliefKind.EXTENSION, date(2024, 8, 30))
    receive(engine, "xa-dong", "2024-Q1", q1 - hour)
    relieve(engine, "xa-dong", "2024-Q2", ReliefKind.EXTENSION, date(2024, 7, 19))
    relieve(engine, "xa-dao", "2024-Q1", ReliefKind.EXTENSION, date(2024, 4, 19))
    receive(engine, "xa-dao", "2024-Q1", vn(2024, 4, 18, 10))  # after q1, by the extension
    receive(engine, "xa-dao", "2024-Q2", q2 + hour)  # late
    receive(engine, "tt-dong-anh", "2024-Q1", q1 - hour)
    receive(engine, "tt-dong-anh", "2024-Q2", NOW + hour)  # after NOW: not received yet
    receive(engine, "xa-an-binh", None, vn(2024, 5, 9, 15), source="ke-hoach-xa")


def settings_for(engine: Engine, tmp: Path) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=engine.url.render_as_string(hide_password=False),
        data_dir=tmp,
        admin_token=SecretStr(ADMIN_SECRET),
    )


def signed_in(client: TestClient, token: str) -> TestClient:
    page = client.get("/login")
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found is not None
    response = client.post(
        "/login",
        data={"csrf": found.group(1), "token": token, "next": "/"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return client


@pytest.fixture
def browse(province: Engine, tmp_path: Path) -> Iterator[object]:
    """browse(token or None): a TestClient of the portal over the province, signed in."""
    app = create_app(settings_for(province, tmp_path), engine=province, clock=Clock(NOW))
    clients: list[TestClient] = []

    def open_as(token: str | None) -> TestClient:
        client = TestClient(app, base_url="http://127.0.0.1:8000", follow_redirects=False)
        client.__enter__()
        clients.append(client)
        return signed_in(client, token) if token else client

    yield open_as
    for client in clients:
        client.__exit__(None, None, None)


def unit_token(engine: Engine, unit: str) -> str:
    return new_token(engine, unit)
