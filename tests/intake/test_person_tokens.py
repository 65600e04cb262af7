"""`dondoc token issue|list|revoke --person`: a person's own token, shown once, stored hashed,
audited, listed with its holder's role, and revoked with the page sessions opened with it."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

import pendulum
import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from access.sessions import open_web_session, resolve_web_session
from access.tokens import authenticate
from cli import intake as cli_intake
from cli.main import app
from models.access import AccessToken, AuditEvent, Role, WebSession
from models.db import session_factory, transaction
from plan_sync.sync import load_plan
from plans.loader import read_plan
from tests.support.seeded import seeded

PLAN = Path(__file__).parents[1] / "security" / "people-plan.yaml"
NOW = pendulum.datetime(2024, 4, 20, 2, 0, tz="UTC")
runner = CliRunner()


@pytest.fixture
def cli_db(db_env: Engine, monkeypatch: pytest.MonkeyPatch) -> Engine:
    """The CLI on the test database, the people plan loaded, its clock fixed at NOW."""

    def load() -> None:
        with transaction(db_env) as session:
            load_plan(read_plan(PLAN), session=session, now=NOW)

    seeded(db_env, "person_tokens", load)
    monkeypatch.setattr(cli_intake, "now", lambda: NOW)
    return db_env


def _run(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def _secret(out: str) -> str:
    return next(line for line in out.splitlines() if line.startswith("dd_"))


def test_a_person_token_is_issued_once_listed_and_revoked_with_its_sessions(
    cli_db: Engine,
) -> None:
    out = _run("token", "issue", "--person", "truong-phong")
    assert "Hoàng Văn Trưởng (thủ trưởng đơn vị)" in out and "Chỉ hiển thị một lần" in out
    secret = _secret(out)
    with transaction(cli_db) as session:
        row = session.scalars(select(AccessToken)).one()
        assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest()
        assert (row.role, row.unit_id, row.label) == ("person", None, "Hoàng Văn Trưởng")
        audit = session.scalars(select(AuditEvent).where(AuditEvent.action == "token.issue")).one()
        assert audit.details["person"] == "truong-phong" and audit.actor.startswith("cli:")
        assert secret not in str(audit.details)
        actor = authenticate(secret, session=session, admin_secret=None)
        assert actor is not None and actor.person_name == "Hoàng Văn Trưởng"
        assert actor.role is Role.PERSON and actor.unit_code == "phong-a"
        opened = open_web_session(secret, session=session, admin_secret=None, now=NOW)
        assert opened is not None
        page_secret = opened[1]
        signed_in = resolve_web_session(page_secret, session=session, admin_secret=None, now=NOW)
        assert signed_in is not None and signed_in.person_id == actor.person_id

    listing = _run("token", "list")
    assert "truong-phong" in listing and "Thủ trưởng đơn vị" in listing
    assert secret not in listing

    out = _run("token", "revoke", "--person", "truong-phong")
    assert f"#{row.id}" in out
    with session_factory(cli_db)() as session:
        assert authenticate(secret, session=session, admin_secret=None) is None
        later = NOW + timedelta(minutes=1)
        assert (
            resolve_web_session(page_secret, session=session, admin_secret=None, now=later) is None
        )
        revoked = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "token.revoke")
        ).one()
        assert revoked.details["person_id"] == row.person_id
        ended = session.scalars(select(WebSession.ended_at)).one()
        assert ended is not None and ended.timestamp() == NOW.timestamp()


def test_a_leader_and_an_office_person_get_tokens_of_their_role(cli_db: Engine) -> None:
    leader = _secret(_run("token", "issue", "--person", "pho-chu-tich", "--label", "Chị Phó"))
    office = _secret(_run("token", "issue", "--person", "van-phong"))
    with session_factory(cli_db)() as session:
        as_leader = authenticate(leader, session=session, admin_secret=None)
        as_office = authenticate(office, session=session, admin_secret=None)
    assert as_leader is not None and not as_leader.is_admin and as_leader.unit_id is None
    assert as_leader.person_role_vi == "Lãnh đạo phụ trách"
    assert as_office is not None and as_office.is_admin and as_office.person_name == "Hà Thị Tổng"


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["issue", "--person", "khong-co-ai"], "Không có người nào mã «khong-co-ai»"),
        (["issue", "--person", "truong-phong", "--unit", "xa-mot"], "đúng một trong"),
        (["issue"], "đúng một trong"),
        (["revoke", "--person", "khong-co-ai"], "Không có người nào mã «khong-co-ai»"),
        (["revoke", "--person", "truong-phong", "--id", "1"], "đúng một trong"),
    ],
)
def test_person_token_mistakes_are_refused_in_vietnamese(
    cli_db: Engine, args: list[str], said: str
) -> None:
    refused = runner.invoke(app, ["token", *args])
    assert refused.exit_code == 1
    assert said in refused.stderr
    with session_factory(cli_db)() as session:
        assert session.scalars(select(AccessToken)).all() == []
