"""Email a compiled report's files to the plan's leaders and the committee."""

from __future__ import annotations

import hashlib
import html
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.org import Person
from models.plan import Obligation, Plan, PlanTask
from notifications.channels import DeliveryError
from notifications.email import Attachment, Mailer, build_mail, message_id, sender_of
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


def html_body(text: str) -> str:
    """The text mail as HTML: escaped, a paragraph per blank-line block, its line breaks kept
    (an HTML reader would otherwise run the list of files into one line)."""
    paragraphs = (
        "<p>" + "<br>\n".join(html.escape(line) for line in block.split("\n")) + "</p>"
        for block in text.split("\n\n")
    )
    return '<!DOCTYPE html>\n<html lang="vi"><body>\n' + "\n".join(paragraphs) + "\n</body></html>"


def report_key(report: Report, attachments: Sequence[Attachment]) -> str:
    """The mail's key: the same files of the same report give the same Message-ID, so a
    retried send is a copy a receiver can drop."""
    digest = hashlib.sha256(f"{report.title}|{report.period}".encode())
    for attachment in attachments:
        digest.update(attachment.filename.encode() + b"\0" + attachment.content)
    return f"report-{digest.hexdigest()[:32]}"


def send_report(
    *,
    smtp: SmtpSettings,
    recipients: Sequence[Recipient],
    report: Report,
    files: Sequence[Path],
) -> None:
    """Email the files as attachments, one mail per recipient over one SMTP connection;
    raises MailError when the server refuses."""
    if not recipients:
        raise MailError("kế hoạch không có người nhận nào có địa chỉ email để gửi báo cáo")
    attachments = [Attachment.of(f) for f in files]
    sender = sender_of(smtp, default_name="dondoc")
    mid = message_id(report_key(report, attachments), sender[1])
    text = body(report, files)
    try:
        with Mailer(smtp) as mailer:
            for r in recipients:
                mail = build_mail(
                    sender=sender,
                    to=(r.name, r.email),
                    subject=subject(report),
                    body=text,
                    mid=mid,
                    attachments=attachments,
                    html=html_body(text),
                )
                mailer.send(sender=sender[1], to=r.email, mail=mail)
    except DeliveryError as error:
        where = f"máy chủ thư {smtp.host}:{smtp.port}" if smtp.host else "máy chủ thư"
        raise MailError(f"{where} không nhận báo cáo: {error.reason}") from None
