"""The admin's alerts, e-mailed directly (not through the outbox, which may be what broke):
a scheduled flow keeps failing (one mail per outage, a reminder while it lasts, one when it
is over: `notifications.run_outages`), or a channel could not deliver at all (one per outage,
`notifications.outages`)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from notifications.channels import CHANNEL_VI, ChannelName, Outgoing
from notifications.email import EmailChannel
from notifications.messages import as_of_vi
from notifications.redact import redact
from settings import Settings

log = logging.getLogger(__name__)

SUBJECT = "[dondoc] Lỗi: {work} không hoàn thành"
REMINDER_SUBJECT = "[dondoc] Vẫn lỗi: {work} chưa chạy lại được"
RECOVERED_SUBJECT = "[dondoc] Đã hoạt động trở lại: {work}"
OUTAGE_SUBJECT = "[dondoc] Kênh gửi thông báo gián đoạn: {channel}"

# What each flow does, as the admin knows it, and what a failed run leaves behind.
FLOW_WORK_VI = {
    "check-and-escalate": "lượt kiểm tra, đôn đốc báo cáo",
    "collect-submissions": "lượt nhận báo cáo từ thư mục hộp thư đến",
    "compile-report": "lượt tổng hợp báo cáo",
}
FLOW_AFTER_VI = {
    "check-and-escalate": (
        "Những thông báo đã ghi vào hộp thư đi vẫn được giữ và sẽ được gửi ở lượt chạy sau; "
        "không thông báo nào bị mất."
    ),
    "collect-submissions": (
        "Các tệp chưa xử lý vẫn nằm trong thư mục hộp thư đến và được nhận ở lượt chạy sau."
    ),
    "compile-report": (
        "Báo cáo tổng hợp của lượt này chưa được ghi hoặc chưa được gửi: đề nghị tổng hợp lại "
        "(lệnh `dondoc compile --period KỲ`, hoặc chạy lại lượt này trên giao diện Prefect)."
    ),
}
# What a run that completes again after an outage means for the work left behind.
FLOW_RECOVERED_VI = {
    "check-and-escalate": "Những thông báo đã ghi vào hộp thư đi được gửi tiếp từ lượt này.",
    "collect-submissions": "Các tệp còn trong thư mục hộp thư đến được nhận từ lượt này.",
    "compile-report": (
        "Kỳ nào có lượt tổng hợp thất bại trong thời gian gián đoạn thì cần tổng hợp lại "
        "(lệnh `dondoc compile --period KỲ`)."
    ),
}
CRASHED = "Crashed"
CHECK_VI = "Đề nghị kiểm tra cơ sở dữ liệu, cấu hình kênh gửi, máy chủ Prefect và các worker."
# Said when the outage could only be recorded in the data folder.
NO_DATABASE_VI = (
    "Lưu ý: không ghi được vào cơ sở dữ liệu của dondoc (có thể chính nó đang lỗi); lần gián "
    "đoạn này được ghi tạm trong thư mục dữ liệu.\n"
)
# Said when neither the database nor the data folder could record it.
NOWHERE_VI = (
    "Lưu ý: không ghi được vào cơ sở dữ liệu của dondoc lẫn thư mục dữ liệu; cho đến khi một "
    "trong hai hoạt động trở lại, mỗi lượt chạy lỗi sẽ gửi một thư.\n"
)


@dataclass(frozen=True)
class FailedRun:
    """A run of a scheduled flow that failed or crashed."""

    flow_name: str
    run_name: str
    run_id: str
    state: str  # Failed or Crashed
    error: str


@dataclass(frozen=True)
class FlowDown:
    """A flow's outage as the admin's mails tell it: since when, how many failed runs, the
    last of them, and when it ended (None: still going on)."""

    flow_name: str
    started_at: datetime
    failed_runs: int
    run_name: str
    run_id: str
    state: str
    error: str
    ended_at: datetime | None = None


def work_vi(flow_name: str) -> str:
    return FLOW_WORK_VI.get(flow_name, f"lượt chạy {flow_name}")


def alert_text(
    *,
    flow_name: str,
    run_name: str,
    run_id: str,
    error: str,
    now: datetime,
    state: str = "Failed",
    reminder_hours: int = 24,
    note: str = "",
) -> str:
    """The first failed run's alert, in Vietnamese, with the error (secrets masked)."""
    if state == CRASHED:
        what = (
            "đã bị dừng giữa chừng (máy hoặc tiến trình chạy bị tắt, khởi động lại, hoặc mất "
            f"tín hiệu), ghi nhận lúc {as_of_vi(now)}."
        )
    else:
        what = f"đã thất bại lúc {as_of_vi(now)}."
    after = FLOW_AFTER_VI.get(flow_name, "")
    return (
        "Kính gửi quản trị hệ thống dondoc,\n\n"
        f"Lượt chạy «{run_name}» ({work_vi(flow_name)}, luồng {flow_name}) {what}\n"
        f"Lỗi: {redact(error) or 'không rõ'}\n\n"
        f"{after + ' ' if after else ''}{CHECK_VI}\n\nMã lượt chạy: {run_id}\n{note}\n"
        "Các lượt chạy lỗi tiếp theo của luồng này không gửi thư riêng (vẫn được ghi nhận và "
        "đếm). Khi luồng chạy thành công trở lại, một thư sẽ báo thời gian gián đoạn; nếu lỗi "
        f"kéo dài, một thư nhắc được gửi sau mỗi {reminder_hours} giờ.\n"
    )


def duration_vi(length: timedelta) -> str:
    """ "1 ngày 2 giờ 5 phút"; under a minute: "dưới 1 phút"."""
    minutes = int(length.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    parts = [(days, "ngày"), (rest // 60, "giờ"), (rest % 60, "phút")]
    said = " ".join(f"{n} {unit}" for n, unit in parts if n)
    return said or "dưới 1 phút"


def _runs_vi(down: FlowDown) -> str:
    return f"{down.failed_runs} lượt chạy đã thất bại hoặc bị dừng giữa chừng"


def reminder_text(down: FlowDown, *, now: datetime, reminder_hours: int, note: str = "") -> str:
    """A reminder that the flow is still failing: since when, how many runs, the last error."""
    after = FLOW_AFTER_VI.get(down.flow_name, "")
    return (
        "Kính gửi quản trị hệ thống dondoc,\n\n"
        f"Luồng {down.flow_name} ({work_vi(down.flow_name)}) vẫn lỗi: từ "
        f"{as_of_vi(down.started_at)} đến {as_of_vi(now)} "
        f"({duration_vi(now - down.started_at)}), {_runs_vi(down)}, chưa lượt nào hoàn thành.\n"
        f"Lượt gần nhất: «{down.run_name}» (mã {down.run_id})\n"
        f"Lỗi gần nhất: {redact(down.error) or 'không rõ'}\n\n"
        f"{after + ' ' if after else ''}{CHECK_VI}\n{note}\n"
        f"Thư nhắc này được gửi sau mỗi {reminder_hours} giờ cho đến khi luồng chạy thành công "
        "trở lại.\n"
    )


def recovered_text(down: FlowDown, *, note: str = "") -> str:
    """The outage is over: how long it lasted and how many runs failed."""
    ended = down.ended_at or down.started_at
    after = FLOW_RECOVERED_VI.get(down.flow_name, "")
    return (
        "Kính gửi quản trị hệ thống dondoc,\n\n"
        f"Luồng {down.flow_name} ({work_vi(down.flow_name)}) đã chạy thành công trở lại lúc "
        f"{as_of_vi(ended)}.\n"
        f"Thời gian gián đoạn: từ {as_of_vi(down.started_at)} đến {as_of_vi(ended)} "
        f"({duration_vi(ended - down.started_at)}); {_runs_vi(down)}.\n"
        f"Lỗi gần nhất: {redact(down.error) or 'không rõ'}\n\n"
        f"{after + chr(10) if after else ''}{note}\n"
        "Thư này chỉ gửi một lần cho mỗi lần gián đoạn.\n"
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


START, REMINDER, RECOVERED = "start", "reminder", "recovered"


def mail_key(kind: str, run_id: str, outage: str, now: datetime) -> str:
    """The mail's Message-ID key: the first mail's is the failed run's (`alert-<run id>`)."""
    if kind == START:
        return f"alert-{run_id}"
    return f"flow-outage-{outage}-{kind}-{now:%Y%m%d%H%M%S}"


def email_outage(
    *, settings: Settings, kind: str, down: FlowDown, now: datetime, key: str, note: str = ""
) -> bool:
    """Send one of a flow outage's mails (START, REMINDER or RECOVERED) to the admin."""
    work = work_vi(down.flow_name)
    hours = settings.alert_reminder_hours
    if kind == START:
        subject = SUBJECT.format(work=work)
        body = alert_text(
            flow_name=down.flow_name,
            run_name=down.run_name,
            run_id=down.run_id,
            error=down.error,
            now=now,
            state=down.state,
            reminder_hours=hours,
            note=note,
        )
    elif kind == REMINDER:
        subject = REMINDER_SUBJECT.format(work=work)
        body = reminder_text(down, now=now, reminder_hours=hours, note=note)
    else:
        subject, body = RECOVERED_SUBJECT.format(work=work), recovered_text(down, note=note)
    return email_admin(settings=settings, key=key, subject=subject, body=body)
