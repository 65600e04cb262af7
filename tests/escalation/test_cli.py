"""`dondoc remind`, `dondoc outbox` and the last-reminder column of `dondoc status`."""

from __future__ import annotations

import json

from sqlalchemy import Engine
from typer.testing import CliRunner

from cli.main import app
from demo.sinks import SmtpServer, ZaloServer
from models.outbox import OutboxStatus
from settings import Settings
from tests.support.escalation import outbox_messages

runner = CliRunner()
WIDE = {"COLUMNS": "250"}


def test_dry_run_shows_who_gets_what_and_writes_nothing(
    channel_env: Settings, plan_db: Engine, smtp: SmtpServer
) -> None:
    result = runner.invoke(app, ["remind", "--as-of", "2024-03-21T08:00", "--dry-run"], env=WIDE)
    assert result.exit_code == 0, result.output
    assert "Sẽ gửi (chạy thử, chưa ghi và chưa gửi gì)" in result.output
    # overdue-3 reaches the head of the department the report goes to, by e-mail and Zalo OA.
    assert "Hoàng Văn Trưởng (Phòng Lao động - Thương binh và Xã hội)" in result.output
    assert "truong-phong@thu.example" in result.output and "oa-tp" in result.output
    assert "bao-cao-quy xa-hai 2024-Q1 — overdue-3" in result.output
    assert "thủ trưởng đơn vị nhận báo cáo" in result.output
    assert outbox_messages(plan_db) == [] and smtp.received() == []


def test_remind_sends_and_lists_what_went_out(
    channel_env: Settings, plan_db: Engine, smtp: SmtpServer, zalo: ZaloServer
) -> None:
    result = runner.invoke(app, ["remind", "--as-of", "2024-03-18T09:00"], env=WIDE)
    assert result.exit_code == 0, result.output
    sent = outbox_messages(plan_db)
    assert sent and {m.status for m in sent} == {OutboxStatus.SENT}
    assert "Thông báo của lượt chạy này" in result.output
    assert "Lương Thị Hai (UBND xã Hai)" in result.output
    assert f"Đã gửi {len(sent)} thông báo ({len(sent)} thông báo mới)." in result.output
    assert len(smtp.received()) == len([m for m in sent if m.channel == "email"])
    again = runner.invoke(app, ["remind", "--as-of", "2024-03-18T10:00"], env=WIDE)
    assert "Đã gửi 0 thông báo (0 thông báo mới)." in again.output


def test_remind_outside_working_hours_sends_nothing(
    channel_env: Settings, plan_db: Engine, smtp: SmtpServer
) -> None:
    result = runner.invoke(app, ["remind", "--as-of", "2024-03-16T09:00"], env=WIDE)  # Saturday
    assert result.exit_code == 0, result.output
    assert "Ngoài giờ làm việc hoặc ngày nghỉ" in result.output
    assert "Lần gửi sớm nhất: 2024-03-18 07:30" in result.output
    assert outbox_messages(plan_db) == [] and smtp.received() == []


def test_a_bad_instant_is_a_clear_error(channel_env: Settings, plan_db: Engine) -> None:
    result = runner.invoke(app, ["remind", "--as-of", "thứ hai tuần sau"])
    assert result.exit_code == 1
    assert "«thứ hai tuần sau» không phải ngày hoặc thời điểm" in result.output
    assert "Traceback" not in result.output


def test_failed_deliveries_show_in_outbox_and_status_then_can_be_requeued(
    channel_env: Settings, plan_db: Engine, smtp: SmtpServer
) -> None:
    smtp.stop()
    assert runner.invoke(app, ["remind", "--as-of", "2024-03-18T08:00"]).exit_code == 0
    shown = runner.invoke(app, ["outbox"], env=WIDE)
    assert shown.exit_code == 0
    assert "Thông báo chưa gửi được" in shown.output
    assert "Gửi lỗi, sẽ thử lại" in shown.output
    assert "Không kết nối được máy chủ thư (SMTP)" in shown.output
    assert "2024-03-18 08:10" in shown.output  # next attempt

    status = runner.invoke(
        app, ["status", "--period", "2024-Q1", "--as-of", "2024-03-18T12:00", "--json"]
    )
    items = {i["unit"]: i for i in json.loads(status.output)["items"]}
    # The Zalo OA reminder went out at 08:00; the e-mail is still failing.
    assert items["xa-hai"]["last_reminder"] == "18/03/2024 08:00 (remind-0); 1 tin chưa gửi được"
    table = runner.invoke(
        app, ["status", "--period", "2024-Q1", "--as-of", "2024-03-18T12:00"], env=WIDE
    )
    assert "Lần nhắc gần nhất" in table.output

    key = next(m.key for m in outbox_messages(plan_db) if m.address == "can-bo@xa-hai.example")
    requeued = runner.invoke(app, ["outbox", "--retry", key[:8]])
    assert requeued.exit_code == 0 and "Chờ gửi" in requeued.output
    smtp.start()
    assert runner.invoke(app, ["remind", "--as-of", "2024-03-18T08:05"]).exit_code == 0
    # The requeued reminder, then the admin's one alert about the mail outage, now over.
    reminder, alert = smtp.received()
    assert reminder.rcpt_tos == ("can-bo@xa-hai.example",)
    assert alert.rcpt_tos == ("quan-tri@ubnd-thu.example",)
    assert "Kênh Thư điện tử đã không gửi được từ 08 giờ 00, thứ Hai, 18/03/2024" in alert.text
    unknown = runner.invoke(app, ["outbox", "--retry", "zzzz"])
    assert unknown.exit_code == 1
    assert "--retry 'zzzz': không có thông báo nào có mã bắt đầu như vậy" in unknown.output


def test_outbox_retry_takes_a_channel_or_all(
    channel_env: Settings, plan_db: Engine, smtp: SmtpServer, zalo: ZaloServer
) -> None:
    smtp.stop()
    zalo.state.bot_token = "another-bot-token"  # the bot's token refused: its channel is down
    assert runner.invoke(app, ["remind", "--as-of", "2024-03-25T08:00"]).exit_code == 0
    failed = [m for m in outbox_messages(plan_db) if m.status == OutboxStatus.FAILED]
    emails = [m for m in failed if m.channel == "email"]
    assert emails and {m.channel for m in failed} == {"email", "zalo_bot"}

    result = runner.invoke(app, ["outbox", "--retry", "email"], env=WIDE)
    assert result.exit_code == 0, result.output
    assert f"Đã đưa lại {len(emails)} thông báo vào hàng đợi (kênh Thư điện tử)" in result.output
    statuses = {
        (m.channel, m.status) for m in outbox_messages(plan_db) if m.id in {f.id for f in failed}
    }
    assert statuses == {("email", OutboxStatus.PENDING), ("zalo_bot", OutboxStatus.FAILED)}

    result = runner.invoke(app, ["outbox", "--retry", "all"], env=WIDE)
    assert f"Đã đưa lại {len(failed) - len(emails)} thông báo vào hàng đợi (mọi kênh)" in (
        result.output
    )
    assert {m.status for m in outbox_messages(plan_db) if m.id in {f.id for f in failed}} == {
        OutboxStatus.PENDING
    }
    smtp.start()
    zalo.state.bot_token = None  # any token accepted again
    assert runner.invoke(app, ["remind", "--as-of", "2024-03-25T08:01"]).exit_code == 0
    assert {m.status for m in outbox_messages(plan_db)} == {OutboxStatus.SENT}
