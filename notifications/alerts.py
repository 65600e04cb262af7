"""The admin's alerts, e-mailed directly (not through the outbox, which may be what broke):
the daily check itself failed (one per failed run), or a channel could not deliver at all (one
per outage, `notifications.outages`)."""

from __future__ import annotations

from datetime import datetime

from notifications.channels import CHANNEL_VI, ChannelName, Outgoing
from notifications.email import EmailChannel
from notifications.messages import as_of_vi
from notifications.redact import redact
from settings import Settings

SUBJECT = "[dondoc] Lỗi: lượt kiểm tra, đôn đốc báo cáo không hoàn thành"
OUTAGE_SUBJECT = "[dondoc] Kênh gửi thông báo gián đoạn: {channel}"


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


def outage_text(
    *, channel: str, started_at: datetime, ended_at: datetime | None, error: str
) -> str:
    """One outage's alert: since when, whether it is over, the last error, what happens next."""
    name = CHANNEL_VI[ChannelName(channel)]
    if ended_at is None:
        state = f"không gửi được thông báo nào từ {as_of_vi(started_at)} đến nay."
        after = (
            "Các thông báo chưa gửi vẫn được giữ và được thử lại ở mỗi lượt chạy; thông báo "
            "nào quá thời hạn gửi (hoặc việc đã được báo cáo, miễn) thì không gửi nữa."
        )
    else:
        state = f"đã không gửi được từ {as_of_vi(started_at)} đến {as_of_vi(ended_at)}."
        after = "Kênh đã hoạt động trở lại; các thông báo còn giá trị đã được gửi bù."
    return (
        "Kính gửi quản trị hệ thống dondoc,\n\n"
        f"Kênh {name} {state}\n"
        f"Lỗi gần nhất: {redact(error) or 'không rõ'}\n\n"
        f"{after} Danh sách thông báo chưa gửi được: lệnh `dondoc outbox`; gửi lại: "
        f"`dondoc outbox --retry {channel}`.\n\n"
        "Thư này chỉ gửi một lần cho mỗi lần gián đoạn.\n"
    )


def email_admin(*, settings: Settings, key: str, subject: str, body: str) -> bool:
    """Send one alert to DONDOC_ADMIN_EMAIL; False when no admin address or mail server is
    configured. Raises DeliveryError when the mail server does not take it."""
    if not settings.admin_email or not settings.smtp.host:
        return False
    channel = EmailChannel(settings.smtp)
    try:
        channel.send(
            Outgoing(
                key=key,
                address=settings.admin_email,
                recipient_name=None,
                subject=subject,
                body=body,
            )
        )
    finally:
        channel.close()
    return True


def send_admin_alert(
    *, settings: Settings, flow_name: str, run_name: str, run_id: str, error: str, now: datetime
) -> bool:
    """The failed run's alert (one Message-ID per failed run, should the hook run twice)."""
    return email_admin(
        settings=settings,
        key=f"alert-{run_id}",
        subject=SUBJECT,
        body=alert_text(
            flow_name=flow_name, run_name=run_name, run_id=run_id, error=error, now=now
        ),
    )
