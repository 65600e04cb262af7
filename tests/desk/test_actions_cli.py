"""The CLI and the office's pages share one path: `dondoc extend/exempt` write the same audit
row and refuse the same things; `dondoc request new --parent` asks a unit's children."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from cli import intake as cli_intake
from cli import status as cli_status
from cli.main import app
from models.db import session_factory, transaction
from models.items import DueItem
from plan_sync.sync import load_plan
from plans.loader import read_plan
from tests.support.desk_actions import audit
from tests.support.intake import NOW, PLAN
from tests.support.seeded import seeded

runner = CliRunner()


@pytest.fixture
def cli_db(db_env: Engine, monkeypatch: pytest.MonkeyPatch) -> Engine:

    def load() -> None:
        with transaction(db_env) as session:
            load_plan(read_plan(PLAN), session=session, now=NOW)

    seeded(db_env, "actions_cli", load)
    monkeypatch.setattr(cli_intake, "now", lambda: NOW)
    monkeypatch.setattr(cli_status, "now", lambda: NOW)
    return db_env


def _key(engine: Engine, period: str) -> str:
    with session_factory(engine)() as session:
        keys = session.scalars(select(DueItem.key).where(DueItem.period_label == period))
        return next(k for k in keys if "xa-mot" in k)


def test_cli_extend_and_exempt_write_the_audit_row_and_refuse_like_the_pages(
    cli_db: Engine,
) -> None:
    key = _key(cli_db, "2024-04")
    bad = runner.invoke(app, ["extend", "--item", key, "--until", "31/02/2024", "--reason", "x"])
    assert bad.exit_code == 1 and "Hạn mới: «31/02/2024» không phải là ngày" in bad.stderr
    early = runner.invoke(app, ["extend", "--item", key, "--until", "01/01/2024", "--reason", "x"])
    assert early.exit_code == 1 and "gia hạn chỉ lùi hạn về sau" in early.stderr
    blank = runner.invoke(app, ["exempt", "--item", key, "--reason", " "])
    assert blank.exit_code == 1 and "Chưa ghi lý do" in blank.stderr
    assert audit(cli_db, "item.extend") == audit(cli_db, "item.exempt") == []

    done = runner.invoke(app, ["extend", "--item", key, "--until", "06/05/2024", "--reason", "Lũ"])
    assert done.exit_code == 0, done.output
    assert "đến hết ngày 06/05/2024" in done.stdout
    (event,) = audit(cli_db, "item.extend")
    assert event["actor"] == "admin" and event["details"]["until"] == "2024-05-06"
    assert runner.invoke(app, ["exempt", "--item", key, "--reason", "Sáp nhập"]).exit_code == 0
    assert len(audit(cli_db, "item.exempt")) == 1
    unknown = runner.invoke(app, ["exempt", "--item", "khong-co", "--reason", "x"])
    assert unknown.exit_code == 1 and "Không có báo cáo nào có mã «khong-co»" in unknown.stderr


def test_cli_request_for_the_units_under_a_parent(cli_db: Engine) -> None:
    out = runner.invoke(
        app, ["request", "new", "--title", "Báo cáo nhanh", "--parent", "ubnd", "--within", "3"]
    )
    assert out.exit_code == 0, out.output
    assert "cho 4 đơn vị" in out.stdout  # phong-a, tt-ba, xa-hai, xa-mot; xa-cu no longer exists
    wrong = runner.invoke(
        app, ["request", "new", "--title", "x", "--parent", "khong-co", "--within", "3"]
    )
    assert wrong.exit_code == 1 and "Không có đơn vị mã «khong-co»" in wrong.stderr
