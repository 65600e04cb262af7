"""Vietnamese subjects and names reach the reader exactly as written: every space kept where a
long header is folded, over a real SMTP server (aiosmtpd), in short ASCII header lines."""

from __future__ import annotations

import re
from email import message_from_bytes, policy
from email.header import decode_header, make_header

import pytest
from pydantic import SecretStr

from demo.sinks import Mail, SmtpServer
from notifications.channels import Outgoing
from notifications.email import EmailChannel
from settings import SmtpSettings
from tests.support.escalation import SMTP_PASSWORD, SMTP_USER

SENDER_NAME = "Văn phòng HĐND và UBND huyện Cao Lộc"
RECIPIENT_NAME = "Nguyễn Thị Phương Thảo, Phòng Nội vụ"
ENCODED_WORD = re.compile(rb"=\?[^?\s]+\?[bq]\?[^?\s]*\?=", re.IGNORECASE)

SUBJECTS = {
    "short": "Đôn đốc báo cáo: 1 việc quá hạn",
    # Python 3.11's own folding sent this one as "... từthư mục ...".
    "long, a space at a fold": (
        "[dondoc] Lỗi: lượt nhận báo cáo từ thư mục hộp thư đến của Ủy ban nhân dân "
        "huyện Cao Lộc không chạy được"
    ),
    "only diacritics": "Ủy ỷ ở ữ ợ ặ ẫ ễ ệ ổ ộ ớ ờ ở ỡ ợ ứ ừ ử ữ ự ỳ ỵ ỷ ỹ đ Đ Ơ Ư ầ ấ ẩ ẫ ậ ắ ằ ẳ",
    "[dondoc] prefix": "[dondoc] Vẫn lỗi: lượt kiểm tra, đôn đốc báo cáo chưa chạy lại được",
    "over 200 characters": (
        "[dondoc] Nhắc việc: Báo cáo kết quả thực hiện nhiệm vụ phát triển kinh tế – xã hội, "
        "bảo đảm quốc phòng – an ninh quý I năm 2024 của Ủy ban nhân dân xã Hải Yến, thị trấn "
        "Đồng Đăng và Phòng Lao động – Thương binh và Xã hội huyện Cao Lộc đã quá hạn 3 ngày"
    ),
}


def decoded(mail: Mail, name: str) -> str:
    """A header as a mail client shows it: unfolded, then RFC 2047 decoding, which drops the
    white space between two encoded words (Python's own address parser keeps it there)."""
    raw = message_from_bytes(mail.raw, policy=policy.compat32)[name]
    return str(make_header(decode_header(re.sub(r"\r?\n(?=[ \t])", "", raw))))


def header_lines(mail: Mail) -> list[bytes]:
    head, _, _ = mail.raw.partition(b"\r\n\r\n")
    return head.split(b"\r\n")


@pytest.mark.parametrize("subject", SUBJECTS.values(), ids=SUBJECTS.keys())
def test_a_subject_and_names_arrive_exactly(subject: str, smtp: SmtpServer) -> None:
    assert len(SUBJECTS["over 200 characters"]) > 200
    channel = EmailChannel(
        SmtpSettings(
            host=smtp.host,
            port=smtp.port,
            username=SMTP_USER,
            password=SecretStr(SMTP_PASSWORD),
            sender=f"{SENDER_NAME} <dondoc@caoloc.example>",
        )
    )
    channel.send(
        Outgoing(
            key="subject-test",
            address="can-bo@xa-hai.example",
            recipient_name=RECIPIENT_NAME,
            subject=subject,
            body="Kính gửi đồng chí,",
        )
    )
    channel.close()

    [mail] = smtp.received()
    assert mail.message["Subject"] == subject
    assert decoded(mail, "Subject") == subject
    assert decoded(mail, "From") == f"{SENDER_NAME} <dondoc@caoloc.example>"
    assert decoded(mail, "To") == f"{RECIPIENT_NAME} <can-bo@xa-hai.example>"
    lines = header_lines(mail)
    assert all(line.isascii() and len(line) <= 78 for line in lines), lines
    assert all(len(word) <= 75 for line in lines for word in ENCODED_WORD.findall(line))
