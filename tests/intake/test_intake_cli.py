"""The intake commands as an admin or an officer types them: token, template, submit, request."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import openpyxl
import pytest
import typer
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from access.tokens import authenticate
from cli import intake as cli_intake
from cli.common import fail
from cli.intake import refuse
from cli.main import app
from models.access import AccessToken, AuditEvent
from models.db import session_factory, transaction
from models.items import DueItem
from plan_sync.sync import load_plan
from plans.loader import read_plan
from submissions.errors import IntakeError
from submissions.spreadsheet import read_upload
from tests.support.intake import NOW, PLAN, item_id, stored
from tests.support.seeded import seeded

runner = CliRunner()


@pytest.fixture
def cli_db(db_env: Engine, monkeypatch: pytest.MonkeyPatch) -> Engine:
    """The CLI on the test database, the intake plan loaded, its clock fixed at NOW."""

    def load() -> None:
        with transaction(db_env) as session:
            load_plan(read_plan(PLAN), session=session, now=NOW)

    seeded(db_env, "intake_cli", load)
    monkeypatch.setattr(cli_intake, "now", lambda: NOW)
    return db_env


def _run(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def test_token_is_printed_once_stored_hashed_and_revocable(cli_db: Engine) -> None:
    out = _run("token", "issue", "--unit", "xa-mot", "--label", "Chị Lan")
    secret = next(line for line in out.splitlines() if line.startswith("dd_"))
    with session_factory(cli_db)() as session:
        row = session.scalars(select(AccessToken)).one()
        assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest()
        actor = authenticate(secret, session=session, admin_secret=None)
        assert actor is not None and actor.unit_code == "xa-mot"
    listing = _run("token", "list")
    assert "xa-mot" in listing and secret not in listing
    _run("token", "revoke", "--id", str(row.id))
    with session_factory(cli_db)() as session:
        assert authenticate(secret, session=session, admin_secret=None) is None
    refused = runner.invoke(app, ["token", "issue", "--unit", "xa-khong-co"])
    assert refused.exit_code == 1
    assert "xa-khong-co" in refused.stderr


def test_template_then_submit_the_filled_file(cli_db: Engine, tmp_path: Path) -> None:
    sheet = tmp_path / "mau.xlsx"
    _run("template", "--obligation", "bao-cao-thang", "--format", "xlsx", "--out", str(sheet))
    wb = openpyxl.load_workbook(sheet)
    ws = wb["Báo cáo"]
    rows = {ws.cell(r, 1).value: r for r in range(1, ws.max_row + 1)}
    ws.cell(rows["Mã đơn vị"], 2).value = "xa-mot"
    ws.cell(rows["Kỳ báo cáo"], 2).value = "2024-04"
    ws.cell(rows["viec-lam"], 6).value = "1.300"
    ws.cell(rows["ty-le"], 6).value = "67,5"
    wb.save(sheet)
    out = _run("submit", "--file", str(sheet), "--idempotency-key", "cli-1")
    item = item_id(cli_db, "xa-mot", "bao-cao-thang", "2024-04")
    assert f"Số biên nhận: BN-{item}-1" in out
    again = _run("submit", "--file", str(sheet), "--idempotency-key", "cli-1")
    assert "đã được nhận trước đó" in again
    assert stored(cli_db)["submissions"] == 1

    csv_out = tmp_path / "mau.csv"
    _run("template", "--obligation", "bao-cao-thang", "--format", "csv", "--out", str(csv_out))
    parsed = read_upload("mau.csv", csv_out.read_bytes())
    assert parsed.source == "bao-cao-thang"
    assert list(parsed.raw.values) == ["viec-lam", "ty-le", "dai-hoi", "ghi-chu"]


def test_submit_json_with_options_and_a_refusal(cli_db: Engine, tmp_path: Path) -> None:
    report = tmp_path / "bao-cao.json"
    report.write_text(
        json.dumps({"values": {"viec-lam": 12, "ty-le": "120"}}, ensure_ascii=False),
        encoding="utf-8",
    )
    args = ["submit", "--unit", "xa-hai", "--obligation", "bao-cao-thang", "--period", "2024-04"]
    refused = runner.invoke(app, [*args, "--file", str(report)])
    assert refused.exit_code == 1
    assert "Không tiếp nhận" in refused.stderr
    assert "Tỷ lệ phải từ 0 đến 100" in refused.stderr
    assert stored(cli_db)["submissions"] == 0

    report.write_text(json.dumps({"values": {"viec-lam": 12, "ty-le": 45}}), encoding="utf-8")
    receipt = json.loads(_run(*args, "--file", str(report), "--json"))
    assert receipt["values"] == {"viec-lam": 12, "ty-le": 45}
    assert receipt["channel"] == "cli"
    assert receipt["submitted_by"].startswith("cli:")
    assert [a["role"] for a in receipt["attachments"]] == ["source"]

    wrong_period = runner.invoke(app, [*args[:-1], "2024-05", "--file", str(report)])
    assert wrong_period.exit_code == 1
    assert "chưa mở" in wrong_period.stderr


def test_request_within_working_days_becomes_items_due(
    cli_db: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Friday 26/04/2024: 29/04 is a swapped day off, 30/04 and 01/05 holidays, and Saturday
    # 04/05 a make-up working day, so 3 working days end on Saturday 04/05.
    friday = NOW.add(days=6)
    monkeypatch.setattr(cli_intake, "now", lambda: friday)
    out = _run(
        "request",
        "new",
        "--title",
        "Báo cáo nhanh số lao động đi làm việc ở nước ngoài",
        "--unit-kind",
        "commune",
        "--unit-kind",
        "town",
        "--target",
        "viec-lam",
        "--within",
        "3",
    )
    assert "YC-1" in out and "04/05/2024" in out
    with session_factory(cli_db)() as session:
        items = session.scalars(select(DueItem).where(DueItem.period_label == "YC-1")).all()
        assert sorted(i.key.split(":")[-1] for i in items) == ["tt-ba", "xa-hai", "xa-mot"]
        assert {i.deadline_on.isoformat() for i in items} == {"2024-05-04"}
        assert {i.kind for i in items} == {"report"}
    deliverable = _run(
        "request",
        "new",
        "--kind",
        "deliverable",
        "--title",
        "Rà soát danh sách hộ nghèo",
        "--unit",
        "xa-mot",
        "--due",
        "2024-05-05",  # a Sunday: rolled to Monday 06/05 (Civil Code art. 148)
    )
    assert "YC-2" in deliverable and "06/05/2024" in deliverable
    listing = _run("request", "list")
    assert "YC-1" in listing and "YC-2" in listing
    bad = runner.invoke(app, ["request", "new", "--title", "x", "--unit", "xa-mot"])
    assert bad.exit_code == 1
    assert "hạn nộp" in bad.stderr


def test_period_lock_refuses_then_unlock_accepts(cli_db: Engine, tmp_path: Path) -> None:
    report = tmp_path / "xa-mot__bao-cao-thang__2024-04.json"
    report.write_text(json.dumps({"values": {"viec-lam": 1, "ty-le": 2}}), encoding="utf-8")
    _run("period", "lock", "--obligation", "bao-cao-thang", "--period", "2024-04")
    args = ["submit", "--unit", "xa-mot", "--obligation", "bao-cao-thang", "--period", "2024-04"]
    locked = runner.invoke(app, [*args, "--file", str(report)])
    assert locked.exit_code == 1
    assert "đã khóa sổ" in locked.stderr
    _run("period", "unlock", "--obligation", "bao-cao-thang", "--period", "2024-04")
    assert "Số biên nhận" in _run(*args, "--file", str(report))
    with session_factory(cli_db)() as session:
        events = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert [e.action for e in events] == ["period.lock", "period.unlock", "submission.create"]
    assert all(e.actor.startswith("cli:") and e.at == NOW for e in events)


@pytest.mark.parametrize(
    ("due", "said"),
    [
        ("9999-12-31", "Hạn nộp 31/12/9999 quá xa"),
        ("31/12/2024", "--due: «31/12/2024» không phải là ngày"),
    ],
)
def test_request_new_refuses_a_bad_due_date_in_one_vietnamese_line(
    cli_db: Engine, due: str, said: str
) -> None:
    result = runner.invoke(
        app, ["request", "new", "--title", "Báo cáo nhanh", "--unit", "xa-mot", "--due", due]
    )
    assert result.exit_code == 1
    assert said in result.stderr
    assert "Traceback" not in result.output + result.stderr
    assert len([line for line in result.stderr.splitlines() if line.strip()]) == 1


def test_cli_errors_keep_brackets_rich_would_take_for_markup(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(typer.Exit):
        fail("Mã phải theo mẫu [a-z0-9][a-z0-9._-]*.")
    with pytest.raises(typer.Exit):
        refuse(IntakeError("invalid", "Mã «[bold]x» không hợp lệ.", []))
    err = capsys.readouterr().err
    assert "Lỗi: Mã phải theo mẫu [a-z0-9][a-z0-9._-]*." in err
    assert "Không tiếp nhận: Mã «[bold]x» không hợp lệ." in err
