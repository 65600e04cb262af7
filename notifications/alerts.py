"""The admin alert sent when the daily check itself fails, so a silent scheduler is noticed."""

from __future__ import annotations

from datetime import datetime

from notifications.channels import Outgoing
from notifications.email import EmailChannel
from notifications.messages import as_of_vi
from notifications.redact import redact
from settings import Settings

SUBJECT = "[dondoc] Lỗi: lượt kiểm tra, đôn đốc báo cáo không hoàn thành"


def alert_text(*, flow_name: str, run_name: str, run_id: str, error: str, now: datetime) -> str:
    """The alert's body, in Vietnamese, with the error (secrets masked)."""
    return (
        "Kính gửi quản trị hệ thống dondoc,\n\n"
        f"Lượt chạy «{run_name}» của luồng {flow_name} đã thất bại lúc {as_of_vi(now)}.\n"
        f"Lỗi: {redact(error) or 'không rõ'}\n\n"
        "Những thông báo đã ghi vào hộp thư đi vẫn được giữ và sẽ được gửi ở lượt chạy sau; "
        "không thông báo nào bị mất. Đề nghị kiểm tra cơ sở dữ liệu, cấu hình kênh gửi và máy "
        f"chủ Prefect.\n\nMã lượt chạy: {run_id}\n"
    )


def send_admin_alert(
    *, settings: Settings, flow_name: str, run_name: str, run_id: str, error: str, now: datetime
) -> bool:
    """E-mail the admin directly (not through the outbox, which may be what broke)."""
    if not settings.admin_email:
        return False
    channel = EmailChannel(settings.smtp)
    try:
        channel.send(
            Outgoing(
                key=f"alert-{run_id}",  # one Message-ID per failed run, should the hook run twice
                address=settings.admin_email,
                recipient_name=None,
                subject=SUBJECT,
                body=alert_text(
                    flow_name=flow_name, run_name=run_name, run_id=run_id, error=error, now=now
                ),
            )
        )
    finally:
        channel.close()
    return True
