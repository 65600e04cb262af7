"""The report e-mail through a real SMTP server: its line breaks survive in both parts."""

from __future__ import annotations

from pathlib import Path

from demo.sinks import SmtpServer
from reports.document import Report
from reports.mail import Recipient, html_body, send_report
from settings import get_settings
from tests.reports.test_report_flow import Q1_SUBJECT


def test_the_report_mail_keeps_its_line_breaks_in_text_and_html(
    smtp_server: tuple[SmtpServer, int], rendered_q1_report: Report, tmp_path: Path
) -> None:
    inbox, _ = smtp_server
    files = [tmp_path / "bao-cao.docx", tmp_path / "bao-cao.xlsx"]
    for f in files:
        f.write_bytes(b"x")
    send_report(
        smtp=get_settings().smtp,
        recipients=[Recipient("Nguyễn Văn Thịnh", "thinh@caoloc.example")],
        report=rendered_q1_report,
        files=files,
    )
    ((_, mail),) = inbox.messages
    assert mail["Subject"] == Q1_SUBJECT
    text = mail.get_body(("plain",))
    page = mail.get_body(("html",))
    assert text is not None and page is not None
    plain = text.get_content().replace("\r\n", "\n")  # CRLF on the wire
    assert "Kính gửi các đồng chí,\n\n" in plain
    assert "Tệp đính kèm:\n- bao-cao.docx\n- bao-cao.xlsx\n" in plain
    markup = page.get_content().replace("\r\n", "\n")
    assert "<p>Kính gửi các đồng chí,</p>" in markup
    assert "Tệp đính kèm:<br>\n- bao-cao.docx<br>\n- bao-cao.xlsx</p>" in markup
    assert [a.get_filename() for a in mail.iter_attachments()] == ["bao-cao.docx", "bao-cao.xlsx"]


def test_the_html_part_escapes_what_it_quotes() -> None:
    assert "<p>&lt;b&gt;x&lt;/b&gt; &amp; y</p>" in html_body("<b>x</b> & y")
