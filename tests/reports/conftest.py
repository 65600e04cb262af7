"""Report fixtures: the Cao Lộc Q1 sample compiled on each backend."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from demo.sinks import SmtpServer
from models.db import make_engine, transaction
from models.migrate import upgrade
from reports.content import build_report
from reports.document import Report
from schedules.periods import Period
from tests.support.reports import Q1_AS_OF, cao_loc_q1, key, submit
from tests.support.seeded import seeded

HOSTILE = "<script>alert('x')</script> **đậm** [link](http://evil.example) =1+1 & \x07chuông"


def _q1_with_hostile_text(session: Session) -> Report:
    plan = cao_loc_q1(session)
    submit(
        session,
        key("bc-quy-xa-thi-tran", "tt-cao-loc", "2024-Q1"),
        received=Q1_AS_OF.subtract(hours=1),
        values={"viec-lam-moi": 24},
        narrative={"Khó khăn, vướng mắc": HOSTILE + "\ndòng hai"},
    )
    return build_report(
        session=session, plan=plan, period=Period.parse("2024-Q1"), as_of=Q1_AS_OF, number="5"
    )


@pytest.fixture
def q1_report(engine: Engine) -> Report:
    """The Cao Lộc Q1 sample report, with a hostile narrative from one commune, per backend."""

    def seed() -> Report:
        with transaction(engine) as session:
            return _q1_with_hostile_text(session)

    return seeded(engine, "q1_report", seed)


@pytest.fixture(scope="session")
def rendered_q1_report(tmp_path_factory: pytest.TempPathFactory) -> Report:
    """The same report read once from a private SQLite database, for the renderer tests:
    rendering does not depend on the backend, and loading the plan costs a second a test."""
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('sample') / 'sample.sqlite3'}")
    upgrade(engine)
    with transaction(engine) as session:
        report = _q1_with_hostile_text(session)
    engine.dispose()
    return report


@pytest.fixture
def smtp_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[SmtpServer, int]]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1; the settings point at it."""
    from settings import get_settings

    inbox = SmtpServer()
    inbox.start()
    monkeypatch.setenv("DONDOC_SMTP__HOST", "127.0.0.1")
    monkeypatch.setenv("DONDOC_SMTP__PORT", str(inbox.port))
    monkeypatch.setenv("DONDOC_SMTP__SENDER", "dondoc@caoloc.example")
    get_settings.cache_clear()
    yield inbox, inbox.port
    inbox.stop()
    get_settings.cache_clear()
