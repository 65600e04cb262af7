"""`dondoc demo` over January–March 2024, run as a user runs it, in a fresh folder.

The messages are checked three ways: against the outbox the daily check wrote (every email and
webhook it marked sent arrived exactly once, with its stable key), against what the simulated
units did (a submission stops the ladder; a unit that never reports is told it is overdue), and
for what a reader sees (Vietnamese, the simulated date, the unit's page).
"""

from __future__ import annotations

import json
import re
import subprocess
from collections import Counter
from datetime import datetime
from pathlib import Path

import pendulum
import pytest
from docx import Document
from sqlalchemy import func, select
from typer.testing import CliRunner

from cli.main import app
from demo.sinks import read_mailbox, read_webhook_log
from demo.year import MARKER
from models.db import make_engine, session_factory
from models.items import DueItem
from models.org import Person
from models.outbox import OutboxIntent, OutboxMessage
from models.plan import Obligation, Target
from models.submissions import Submission, SubmissionValue
from plans.vocabulary import PersonRole
from schedules.calendar import VN_TZ, WorkCalendar, local_date
from tests.support.processes import BIN, base_env

pytestmark = pytest.mark.slow  # a subprocess: the demo runs its simulated year as a process

UNTIL = "2024-03-31"
END = pendulum.datetime(2024, 3, 31, 17, tz=VN_TZ)
# January's report fell due (16/01) before the plan was issued (25/01): not owed, not compiled.
COMPILED = {"2024-02", "2024-03", "2024-Q1"}
FORMATS = {".docx", ".xlsx", ".html", ".md", ".json"}


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """One run of the real command, from a folder holding an office's `.env` it must ignore."""
    home = tmp_path_factory.mktemp("demo")
    # Were this read, messages would go to a far-away SMTP server and to the Zalo Bot API.
    (home / ".env").write_text(
        "DONDOC_SMTP__HOST=203.0.113.7\nDONDOC_ZALO__BOT_TOKEN=not-for-the-demo\n",
        encoding="utf-8",
    )
    env = base_env(home)
    env["DONDOC_DATABASE_URL"] = "postgresql+psycopg://nobody@203.0.113.7/nothing"
    done = subprocess.run(
        [str(BIN / "dondoc"), "demo", "--out", "out", "--until", UNTIL, "--seed", "11"],
        cwd=home,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return home / "out", done.stdout


def _db(out: Path) -> str:
    return f"sqlite:///{out / 'dondoc.sqlite3'}"


def test_demo_announces_what_it_made(demo_run: tuple[Path, str]) -> None:
    out, stdout = demo_run
    assert (out / MARKER).is_file()
    assert f"Hộp thư (mbox): {out / 'mailbox.mbox'}" in stdout
    assert f"Nhật ký webhook: {out / 'webhooks' / 'webhooks.jsonl'}" in stdout
    assert "Tình hình gửi báo cáo, thực hiện nhiệm vụ đến ngày 31/03/2024" in stdout
    for label in COMPILED:
        folder = out / "reports" / label
        assert {p.suffix for p in folder.iterdir()} >= FORMATS, label
        docx = next(folder.glob("*.docx"))
        assert str(docx) in stdout.replace("\n", "")
        assert "BÁO CÁO" in [p.text for p in Document(str(docx)).paragraphs]
    # Compiled on the first working day after each period's last deadline, no more.
    assert {p.name for p in (out / "reports").iterdir()} == COMPILED


def test_compiled_figures_are_what_units_submitted(demo_run: tuple[Path, str]) -> None:
    """The Q1 total of new jobs in the communes' report equals the values stored before the
    compilation on Tue 19/3 08:00 (the units' later submissions are not in it)."""
    out, _ = demo_run
    compiled_at = pendulum.datetime(2024, 3, 19, 8, tz=VN_TZ)
    engine = make_engine(_db(out))
    with session_factory(engine)() as session:
        latest = (
            select(Submission.item_id, func.max(Submission.version).label("version"))
            .where(Submission.accepted.is_(True), Submission.received_at < compiled_at)
            .group_by(Submission.item_id)
            .subquery()
        )
        expected = session.scalar(
            select(func.sum(SubmissionValue.number))
            .join(Submission, Submission.id == SubmissionValue.submission_id)
            .join(
                latest,
                (latest.c.item_id == Submission.item_id) & (latest.c.version == Submission.version),
            )
            .join(DueItem, DueItem.id == Submission.item_id)
            .join(Obligation, Obligation.id == DueItem.obligation_id)
            .join(Target, Target.id == SubmissionValue.target_id)
            .where(
                Obligation.code == "bc-quy-xa-thi-tran",
                DueItem.period_label == "2024-Q1",
                Target.code == "viec-lam-moi",
            )
        )
    engine.dispose()
    report = json.loads(next((out / "reports" / "2024-Q1").glob("*.json")).read_text("utf-8"))
    communes = next(o for o in report["obligations"] if o["code"] == "bc-quy-xa-thi-tran")
    assert expected and communes["total_period"] == [int(expected)]


def test_reports_are_compiled_as_of_the_simulated_day(demo_run: tuple[Path, str]) -> None:
    out, _ = demo_run
    report = json.loads(next((out / "reports" / "2024-Q1").glob("*.json")).read_text("utf-8"))
    compiled_at = datetime.fromisoformat(report["compiled_at"])
    assert compiled_at == pendulum.datetime(2024, 3, 19, 8, tz=VN_TZ)
    overdue = [x["working_days"] for x in report["late_or_missing"] if x["status"] == "overdue"]
    assert overdue and max(overdue) < 60  # counted to 19/3/2024, not to today


def test_every_message_sent_arrived_once_with_its_key(demo_run: tuple[Path, str]) -> None:
    out, _ = demo_run
    mails = read_mailbox(out / "mailbox.mbox")
    hooks = read_webhook_log(out / "webhooks" / "webhooks.jsonl")
    engine = make_engine(_db(out))
    with session_factory(engine)() as session:
        sent = session.scalars(select(OutboxMessage).where(OutboxMessage.status == "sent")).all()
        channels = set(session.scalars(select(OutboxMessage.channel).distinct()))
    engine.dispose()
    assert channels == {"email", "webhook"}  # the `.env`'s Zalo token was not read
    emails = [m for m in sent if m.channel == "email"]
    webhooks = [m for m in sent if m.channel == "webhook"]
    assert emails and webhooks
    by_id = Counter(str(m["Message-ID"]) for m in mails)
    for message in emails:
        copies = [mid for mid in by_id if message.key in mid]
        assert len(copies) == 1 and by_id[copies[0]] == 1, message.key
        mail = next(m for m in mails if message.key in str(m["Message-ID"]))
        assert mail["X-Dondoc-Delivered-To"] == message.address
        assert mail["Subject"] == message.subject
    keys = Counter(h["headers"]["Idempotency-Key"] for h in hooks)
    assert keys == Counter(m.key for m in webhooks)
    # Besides reminders, only the compiled reports were mailed: to the leader in charge, the
    # committee's chairman and the committee's own address.
    reports = [m for m in mails if not any(e.key in str(m["Message-ID"]) for e in emails)]
    assert len(reports) == len(mails) - len(emails) == 3 * len(COMPILED)
    for mail in reports:
        names = {part.get_filename() for part in mail.iter_attachments()}
        assert any(n and n.endswith(".docx") for n in names)


def test_messages_follow_what_units_did(demo_run: tuple[Path, str]) -> None:
    out, _ = demo_run
    calendar = WorkCalendar()
    engine = make_engine(_db(out))
    with session_factory(engine)() as session:
        items = session.scalars(select(DueItem).where(DueItem.deadline_at <= END)).all()
        first = dict(
            session.execute(
                select(Submission.item_id, func.min(Submission.received_at)).group_by(
                    Submission.item_id
                )
            ).all()
        )
        officers = {
            p.unit_id: p
            for p in session.scalars(
                select(Person).where(Person.role == PersonRole.REPORTING_OFFICER)
            )
        }
        intents = session.execute(
            select(OutboxIntent, OutboxMessage.sent_at).join(
                OutboxMessage, OutboxMessage.id == OutboxIntent.message_id
            )
        ).all()
    engine.dispose()
    sent: dict[int, list[tuple[OutboxIntent, datetime]]] = {}
    for intent, sent_at in intents:
        if sent_at is not None:
            sent.setdefault(intent.item_id, []).append((intent, sent_at))

    never = on_time = 0
    for item in items:
        submitted = first.get(item.id)
        for intent, sent_at in sent.get(item.id, []):
            # A submission stops the ladder: nothing about the item is sent after it.
            assert submitted is None or sent_at < submitted, (item.key, intent.step_code)
        if submitted is not None and submitted <= item.deadline_at:
            on_time += 1
            assert all(i.step_kind == "reminder" for i, _ in sent.get(item.id, [])), item.key
        overdue_day = calendar.next_working_day(item.deadline_on)
        if submitted is None and overdue_day <= local_date(END) and item.unit_id in officers:
            never += 1
            told = [
                i
                for i, _ in sent.get(item.id, [])
                if i.step_kind == "overdue"
                and i.person_id == officers[item.unit_id].id
                and i.channel == "email"
            ]
            assert told, f"{item.key}: the officer was never told it is overdue"
    assert never > 0 and on_time > 0  # the seed gives both kinds in this span


def test_reminders_read_right(demo_run: tuple[Path, str]) -> None:
    """In Vietnamese, to a person, dated by the simulated clock, with the unit's page."""
    out, _ = demo_run
    engine = make_engine(_db(out))
    with session_factory(engine)() as session:
        emails = session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.channel == "email", OutboxMessage.status == "sent"
            )
        ).all()
    engine.dispose()
    mails = {str(m["Message-ID"]): m for m in read_mailbox(out / "mailbox.mbox")}
    for message in emails:
        mail = next(m for mid, m in mails.items() if message.key in mid)
        body = mail.get_body(("plain",))
        assert body is not None
        text = body.get_content()
        assert text.startswith("Kính gửi đồng chí ")
        assert message.sent_at is not None
        day = local_date(message.sent_at)
        assert "tính đến 07 giờ 45, " in text and f"{day:%d/%m/%Y}" in text
        assert re.search(r"http://127\.0\.0\.1:8000/don-vi/[a-z0-9-]+", text)


def test_demo_refuses_a_folder_that_is_not_its_own(tmp_path: Path) -> None:
    (tmp_path / "thesis.docx").write_bytes(b"precious")
    result = CliRunner().invoke(app, ["demo", "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert "không trống và không phải thư mục chạy thử của dondoc" in result.output
    assert (tmp_path / "thesis.docx").read_bytes() == b"precious"
    result = CliRunner().invoke(
        app, ["demo", "--out", str(tmp_path / "d"), "--until", "2025-01-05"]
    )
    assert result.exit_code == 1 and "ở sau năm của kế hoạch (2024)" in result.output
    result = CliRunner().invoke(app, ["demo", "--out", str(tmp_path / "d"), "--until", "31/03"])
    assert result.exit_code == 1 and "«31/03» không phải là ngày" in result.output
