"""A typed ratio is kept, the value its parts give is shown beside it, and a difference warns.

Plan: tests/data/plans/department-consolidates.yaml (invented): the labour department's
quarterly report carries the trained-labour rate and both its parts. It types 80 % while its
parts give 45.600 / 67.556 = 67,5 %.
"""

from __future__ import annotations

import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from access.actor import Actor
from cli import intake as cli_intake
from cli.main import app
from intake.address import ItemAddress
from intake.receipts import submission_summary
from intake.store import SubmitRequest, submit
from models import Plan
from models.access import Role
from models.db import session_factory, transaction
from plan_sync.sync import load_plan
from plans.loader import read_plan
from reports.render_xlsx import render_xlsx
from submissions.content import RawSubmission
from submissions.inbox import receipt_note
from submissions.ratios import beyond_rounding
from tests.reports.test_report_figures import by_code
from tests.reports.test_report_levels import CODE, PLAN_FILE, document_text, inputs_sent, q1
from tests.support.intake import Portal, new_token, sign_in
from tests.support.reports import at

DEPARTMENT = "Phòng Lao động - Thương binh và Xã hội"
TYPED = {
    "viec-lam": 1300,
    "lao-dong-qua-dao-tao": 45600,
    "lao-dong-trong-tuoi": 67556,
    "ty-le-qua-dao-tao": 80,
}
WARNING = (
    "Tỷ lệ lao động qua đào tạo: đã nhập 80%, nhưng tính từ số liệu thành phần được 67,5%; "
    "đề nghị kiểm tra lại (số đã nhập vẫn được giữ)."
)
ADDRESS = {"unit": "phong-ldtbxh", "source": "bc-quy-phong", "period": "2024-Q1"}


@pytest.mark.parametrize(
    ("typed", "computed", "warned"),
    [
        ("67.5", "67.5009", False),  # rounded to the typed decimals
        ("67.6", "67.5675", False),  # rounded half up
        ("67.5", "67.5675", False),  # cut
        ("67", "67.5675", False),
        ("67.50", "67.5675", False),  # trailing zeros are not decimals typed
        ("80", "67.5", True),
        ("68", "67.4", True),  # neither rounded nor cut
        ("67.4", "67.5675", True),
    ],
)
def test_a_typed_ratio_warns_only_beyond_its_own_rounding(
    typed: str, computed: str, warned: bool
) -> None:
    assert beyond_rounding(Decimal(typed), Decimal(computed)) is warned


def test_the_inbox_note_carries_the_warning() -> None:
    note = receipt_note(
        "a.json", "19/03/2024", "BN-1-1", 1, DEPARTMENT, "Báo cáo quý", False, [WARNING]
    )
    assert note.splitlines()[-1] == f"Lưu ý: {WARNING}"


def _submit(engine: Engine, values: dict[str, int]) -> dict[str, object]:
    receipt = submit(
        session_factory(engine),
        SubmitRequest(
            address=ItemAddress(**ADDRESS),
            actor=Actor(role=Role.ADMIN, label="test"),
            channel="api",
            raw=RawSubmission(values=values),
        ),
        now=at(19, 3),
        data_dir=Path("/nonexistent"),  # no attachments
        max_attachment_bytes=1024,
    )
    return submission_summary(receipt)


def test_a_typed_ratio_is_stored_as_typed_with_a_warning_on_the_receipt(engine: Engine) -> None:
    with transaction(engine) as session:
        inputs_sent(session)
    receipt = _submit(engine, TYPED)
    assert receipt["values"]["ty-le-qua-dao-tao"] == 80  # type: ignore[index]
    assert receipt["warnings"] == [WARNING]
    agreeing = _submit(engine, {**TYPED, "ty-le-qua-dao-tao": Decimal("67.5")})  # type: ignore[dict-item]
    assert agreeing["warnings"] == [] and agreeing["version"] == 2


def test_the_report_keeps_the_typed_ratio_and_shows_the_computed_one_beside(
    engine: Engine,
) -> None:
    with transaction(engine) as session:
        inputs_sent(session)
    _submit(engine, TYPED)
    with transaction(engine) as session:
        plan = session.scalars(select(Plan).where(Plan.code == CODE)).one()
        report = q1(session, plan, at(21, 3))
    rate = by_code(list(report.figures))["ty-le-qua-dao-tao"]
    assert rate.period == rate.to_date == 80  # the department's own, as typed
    (unit,) = rate.by_unit
    assert (unit.unit_name, unit.period) == (DEPARTMENT, 80)
    assert unit.period_computed == Decimal(45600) * 100 / Decimal(67556)
    assert rate.note is not None and f"({DEPARTMENT}): đã nhập 80%" in rate.note
    text = document_text(report)
    assert "tính từ số liệu thành phần được 67,5%" in text
    sheet = load_workbook(io.BytesIO(render_xlsx(report)))["bc-quy-phong"]
    header = [c.value for c in sheet[4]]
    column = header.index("Tỷ lệ lao động qua đào tạo (%)") + 1
    cell = sheet.cell(row=6, column=column)
    assert cell.value == 80
    assert cell.comment is not None and "67,5" in cell.comment.text


def test_the_cli_receipt_carries_the_warning(
    db_env: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with transaction(db_env) as session:
        load_plan(read_plan(PLAN_FILE), session=session, now=at(5, 1))
    monkeypatch.setattr(cli_intake, "now", lambda: at(19, 3))
    report = tmp_path / "bao-cao.json"
    report.write_text(json.dumps({"values": TYPED}), encoding="utf-8")
    args = ["submit", "--unit", "phong-ldtbxh", "--obligation", "bc-quy-phong"]
    result = CliRunner().invoke(app, [*args, "--period", "2024-Q1", "--file", str(report)])
    assert result.exit_code == 0, result.output
    assert f"Lưu ý: {WARNING}" in " ".join(result.stdout.split())
    as_json = CliRunner().invoke(
        app, [*args, "--period", "2024-Q1", "--file", str(report), "--json"]
    )
    assert json.loads(as_json.stdout)["warnings"] == [WARNING]


def test_the_api_receipt_and_the_receipt_page_carry_the_warning(portal: Portal) -> None:
    with transaction(portal.engine) as session:
        load_plan(read_plan(PLAN_FILE), session=session, now=at(5, 1))
    portal.clock.now = at(19, 3)
    token = new_token(portal.engine, "phong-ldtbxh")
    with portal.client(token) as client:
        response = client.post(
            "/api/v1/submissions",
            json={"obligation": "bc-quy-phong", "period": "2024-Q1", "values": TYPED},
        )
        assert response.status_code == 201, response.text
        assert response.json()["warnings"] == [WARNING]
        receipt_no = response.json()["receipt_no"]
        sign_in(client, token)
        page = client.get(f"/receipts/{receipt_no}")
    assert page.status_code == 200
    assert "Lưu ý: Tỷ lệ lao động qua đào tạo: đã nhập 80%" in page.text
