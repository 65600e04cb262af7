"""Email a compiled report's files to the plan's leaders and the committee (apprise mailto)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from email.utils import parseaddr
from pathlib import Path

import apprise
from sqlalchemy import select
from sqlalchemy.orm import Session

from models.org import Person
from models.plan import Obligation, Plan, PlanTask
from notifications.email import mailto_url
from reports.document import Report
from settings import SmtpSettings


class MailError(RuntimeError):
    """The mail server did not take the message."""


@dataclass(frozen=True)
class Recipient:
    name: str
    email: str


def report_recipients(*, session: Session, plan: Plan) -> list[Recipient]:
    """Who receives the report: the signer, the tasks' leaders, the persons reports go through,
    and the committee (its people and its own address), each once, those with an email."""
    people: list[Person] = []
    if plan.signer:
        people.append(plan.signer)
    people += [
        t.leader
        for t in session.scalars(select(PlanTask).where(PlanTask.plan_id == plan.id))
        if t.leader
    ]
    people += [
        o.via_person
        for o in session.scalars(select(Obligation).where(Obligation.plan_id == plan.id))
        if o.via_person
    ]
    people += list(
        session.scalars(
            select(Person).where(Person.unit_id == plan.issuer_unit_id).order_by(Person.id)
        )
    )
    found = [Recipient(p.full_name, p.email.strip()) for p in people if p.email and p.email.strip()]
    if plan.issuer.email and plan.issuer.email.strip():
        found.append(Recipient(plan.issuer.name, plan.issuer.email.strip()))
    seen: set[str] = set()
    unique = []
    for r in found:
        if r.email.lower() not in seen:
            seen.add(r.email.lower())
            unique.append(r)
    return unique


def mail_url(smtp: SmtpSettings, recipients: Sequence[Recipient]) -> str:
    """The apprise URL; it holds the password, so it is never logged or shown."""
    # apprise takes the display name apart from the address: given "Hệ thống <a@b>" whole as
    # the address it fails (non-ASCII), so a Vietnamese sender name must go in `name`.
    name, address = parseaddr(smtp.sender)
    return mailto_url(
        smtp,
        ",".join(r.email for r in recipients),
        **{"from": address or smtp.sender, "name": name or "dondoc"},
    )


def subject(report: Report) -> str:
    return f"[dondoc] {report.title.capitalize()} {report.summary[0].lower()}{report.summary[1:]}"


def body(report: Report, files: Sequence[Path]) -> str:
    names = "\n".join(f"- {f.name}" for f in files)
    return (
        f"Kính gửi các đồng chí,\n\n"
        f"dondoc gửi kèm dự thảo báo cáo: {report.summary} "
        f"(số liệu từ báo cáo của các đơn vị nhận được đến thời điểm tổng hợp).\n\n"
        f"Tệp đính kèm:\n{names}\n\n"
        f"Đề nghị cán bộ tổng hợp rà soát, bổ sung các nội dung còn để trống trước khi trình ký."
    )


def send_report(
    *,
    smtp: SmtpSettings,
    recipients: Sequence[Recipient],
    report: Report,
    files: Sequence[Path],
) -> None:
    """Email the files as attachments; raises MailError when the server refuses."""
    if not recipients:
        raise MailError("the plan names nobody with an email address to send the report to")
    notifier = apprise.Apprise()
    if not notifier.add(mail_url(smtp, recipients)):
        raise MailError(f"the SMTP settings for {smtp.host}:{smtp.port} are not usable")
    attachments = apprise.AppriseAttachment()
    for f in files:
        attachments.add(str(f))
    result = notifier.notify(body=body(report, files), title=subject(report), attach=attachments)
    # apprise never raises: it answers False (or a falsy result) when delivery failed.
    if not result:
        raise MailError(f"the mail server {smtp.host}:{smtp.port} did not accept the report")
