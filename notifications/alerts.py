"""The admin's alerts, e-mailed directly (not through the outbox, which may be what broke):
a scheduled flow's run failed or crashed (one per run, whichever path notices it first,
`alert_failed_run`), or a channel could not deliver at all (one per outage,
`notifications.outages`)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from models.outbox import RunAlert
from notifications.channels import CHANNEL_VI, ChannelName, Outgoing
from notifications.email import EmailChannel
from notifications.messages import as_of_vi
from notifications.redact import redact
from settings import Settings

log = logging.getLogger(__name__)

SUBJECT = "[dondoc] Lỗi: {work} không hoàn thành"
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
CRASHED = "Crashed"
# A claim this old with no mail sent belongs to a process that died between claiming and
# sending (a hook in a worker being killed): another path may take it over. Far longer than
# one SMTP attempt (notifications.email.TIMEOUT_SECONDS).
STALE_CLAIM = timedelta(minutes=15)


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
) -> str:
    """The alert's body, in Vietnamese, with the error (secrets masked)."""
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
        f"{after + ' ' if after else ''}Đề nghị kiểm tra cơ sở dữ liệu, cấu hình kênh gửi, "
        f"máy chủ Prefect và các worker.\n\nMã lượt chạy: {run_id}\n"
        "Thư này chỉ gửi một lần cho mỗi lượt chạy.\n"
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
    *,
    settings: Settings,
    flow_name: str,
    run_name: str,
    run_id: str,
    error: str,
    now: datetime,
    state: str = "Failed",
) -> bool:
    """The failed run's alert (one Message-ID per run, should it be sent twice)."""
    return email_admin(
        settings=settings,
        key=f"alert-{run_id}",
        subject=SUBJECT.format(work=work_vi(flow_name)),
        body=alert_text(
            flow_name=flow_name, run_name=run_name, run_id=run_id, error=error, now=now, state=state
        ),
    )


def alert_failed_run(
    sessions: sessionmaker[Session],
    *,
    settings: Settings,
    flow_name: str,
    run_name: str,
    run_id: str,
    error: str,
    now: datetime,
    state: str = "Failed",
) -> bool:
    """Alert the admin about a failed or crashed run unless that run was already alerted.

    The run is claimed first (a row keyed by its id: of two paths racing, one inserts, the
    other gets an integrity error and stops), then the mail is sent. A mail that could not
    be sent releases the claim, so the other path, or a later attempt, may still send it.
    When the database itself is what broke (no claim can be written), the mail is sent
    unclaimed: a rare second mail is better than none. True when this call sent the alert.
    """
    if not settings.admin_email or not settings.smtp.host:
        return False
    claimed = claim_run(sessions, run_id=run_id, flow_name=flow_name, now=now)
    if claimed is False:
        return False  # already alerted, or being alerted by the other path
    try:
        send_admin_alert(
            settings=settings,
            flow_name=flow_name,
            run_name=run_name,
            run_id=run_id,
            error=error,
            now=now,
            state=state,
        )
    except BaseException:
        if claimed:
            with sessions.begin() as session:
                session.execute(delete(RunAlert).where(RunAlert.flow_run_id == run_id))
        raise
    if claimed:
        with sessions.begin() as session:
            session.execute(
                update(RunAlert).where(RunAlert.flow_run_id == run_id).values(sent_at=now)
            )
    return True


def claim_run(
    sessions: sessionmaker[Session], *, run_id: str, flow_name: str, now: datetime
) -> bool | None:
    """True: this caller alerts the run; False: someone already did (or is doing it); None:
    the database cannot say (unreachable, or without dondoc's tables). A claim left unsent
    for STALE_CLAIM is taken over: its claimant died before mailing."""
    try:
        with sessions.begin() as session:
            session.add(RunAlert(flow_run_id=run_id, flow_name=flow_name, claimed_at=now))
    except IntegrityError:
        return _take_over_stale(sessions, run_id=run_id, now=now)
    except SQLAlchemyError as exc:
        log.warning(
            "run alerts cannot be recorded (%s): alerting without the record", type(exc).__name__
        )
        return None
    return True


def _take_over_stale(sessions: sessionmaker[Session], *, run_id: str, now: datetime) -> bool:
    """Claim the run again when its claim is stale (one UPDATE: of two racing, one wins)."""
    try:
        with sessions.begin() as session:
            taken = session.execute(
                update(RunAlert)
                .where(
                    RunAlert.flow_run_id == run_id,
                    RunAlert.sent_at.is_(None),
                    RunAlert.claimed_at < now - STALE_CLAIM,
                )
                .values(claimed_at=now)
            )
    except SQLAlchemyError:
        return False
    return bool(getattr(taken, "rowcount", 0) == 1)
