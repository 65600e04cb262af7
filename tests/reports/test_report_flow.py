"""The compile-report flow on a real Prefect API, and email to a real SMTP server."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import pytest
from docx import Document
from sqlalchemy import Engine, select

from demo.sinks import SmtpServer, free_port
from flows.compile_report import compile_report
from models import Plan
from models.db import transaction
from reports.compile import Format, load_report, write_files
from reports.mail import MailError, Recipient, report_recipients, send_report
from settings import SmtpSettings
from tasks.reports import artifact_key, summary_rows
from tests.support.reports import Q1_AS_OF, cao_loc_q1, load_cao_loc

Q1_SUBJECT = (
    "[dondoc] Báo cáo kết quả triển khai, thực hiện nhiệm vụ trọng tâm năm 2024 (Lĩnh vực "
    "Lao động, Thương binh, Xã hội - Dân tộc) quý I năm 2024"
)


@pytest.mark.slow  # the Prefect test harness: the flow against a Prefect server process
def test_the_flow_writes_publishes_and_emails_the_files(
    db_env: Engine,
    prefect_api: None,
    smtp_server: tuple[SmtpServer, int],
    tmp_path: Path,
) -> None:
    from prefect.artifacts import Artifact

    inbox, _ = smtp_server
    with transaction(db_env) as session:
        cao_loc_q1(session)
    out = tmp_path / "out"
    paths = compile_report(
        period="2024-Q1",
        formats=[Format.DOCX, Format.JSON],
        send=True,
        out_dir=str(out),
        number="7",
        distribution=["UBND tỉnh Lạng Sơn"],
    )
    assert sorted(Path(p).name for p in paths) == [
        "bao-cao-cao-loc-2024-ldtbxh-2024-Q1.docx",
        "bao-cao-cao-loc-2024-ldtbxh-2024-Q1.json",
    ]
    data = json.loads((out / Path(paths[1]).name).read_text())
    figures = {f["code"]: f for f in data["figures"]}
    assert data["distribution"] == ["- UBND tỉnh Lạng Sơn;", "- Lưu: VT."]
    assert figures["viec-lam-moi"]["period"] == 293

    artifact = Artifact.get(artifact_key_for("2024-Q1"))
    assert artifact is not None and artifact.type == "table"
    rows = json.loads(artifact.data) if isinstance(artifact.data, str) else artifact.data
    jobs = next(r for r in rows if r["Chỉ tiêu"] == "Số lao động được tạo việc làm mới")
    assert (jobs["Thực hiện kỳ"], jobs["Lũy kế"], jobs["% so KH"]) == ("293", "293", "22,5%")

    # One SMTP transaction per recipient: the signer, the chairman, the committee's address.
    assert sorted(to[0] for to, _ in inbox.messages) == [
        "nguyen-van-thinh@caoloc.example",
        "ubnd-cao-loc.chu-tich@caoloc.example",
        "ubnd-cao-loc@caoloc.example",
    ]
    for _, message in inbox.messages:
        assert message["Subject"] == Q1_SUBJECT
        attachments = {
            a.get_filename(): a.get_payload(decode=True) for a in message.iter_attachments()
        }
        assert set(attachments) == {Path(p).name for p in paths}
        sent = Document(io.BytesIO(attachments[Path(paths[0]).name]))
        assert sent.tables[0].cell(1, 0).text == "Số: 07/BC-UBND"
        assert attachments[Path(paths[1]).name] == Path(paths[1]).read_bytes()


def artifact_key_for(period: str) -> str:
    return f"bao-cao-{period.lower()}"


def test_artifact_rows_and_key(engine: Engine) -> None:
    with transaction(engine) as session:
        plan = cao_loc_q1(session)
        report = load_report(session=session, period="2024-Q1", as_of=Q1_AS_OF, plan_code=plan.code)
    assert artifact_key(report) == artifact_key_for("2024-Q1")
    rows = summary_rows(report)
    assert [r["Chỉ tiêu"] for r in rows] == [r.name for r in report.indicator_rows]
    assert rows[1]["Kế hoạch năm"] == "≥ 1.300"


def test_recipients_are_the_leaders_and_the_committee_once_each(engine: Engine) -> None:
    with transaction(engine) as session:
        load_cao_loc(session)
        plan = session.scalars(select(Plan)).one()
        recipients = report_recipients(session=session, plan=plan)
    assert recipients == [
        Recipient("Nguyễn Văn Thịnh", "nguyen-van-thinh@caoloc.example"),
        Recipient("Đinh Văn Lâm", "ubnd-cao-loc.chu-tich@caoloc.example"),
        Recipient("Ủy ban nhân dân huyện Cao Lộc", "ubnd-cao-loc@caoloc.example"),
    ]


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_sending_fails_loudly(engine: Engine, tmp_path: Path) -> None:
    with transaction(engine) as session:
        cao_loc_q1(session)
        report = load_report(session=session, period="2024-Q1", as_of=Q1_AS_OF)
    files = write_files({"a.json": b"{}"}, tmp_path)
    closed = SmtpSettings(host="127.0.0.1", port=free_port(), sender="dondoc@caoloc.example")
    started = time.monotonic()
    with pytest.raises(MailError, match="không nhận báo cáo"):
        send_report(
            smtp=closed, recipients=[Recipient("A", "a@caoloc.example")], report=report, files=files
        )
    assert time.monotonic() - started < 30
    with pytest.raises(MailError, match="không có người nhận nào có địa chỉ email"):
        send_report(smtp=closed, recipients=[], report=report, files=files)
