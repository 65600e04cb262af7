"""Email over SMTP: apprise reads the `mailto://` / `mailtos://` URL, one connection carries a
delivery run's mails, each with a stable Message-ID.

apprise's own sender (`AppriseSMTPController`) cannot carry a run: it builds a TLS context on
every connection, even plain SMTP (`ssl.create_default_context()` loads the CA store, ~30 ms,
58% of a mail's time in docs/benchmarks.md), and its `sendmail` turns every error into False,
so a connection the server dropped cannot be told from a refused mail and reopened. So apprise
parses the URL (host, port, security mode, login, sender, provider defaults) and validates the
addresses, and `smtplib` speaks SMTP the way apprise's controller does, over one connection.
"""

from __future__ import annotations

import contextlib
import select
import smtplib
import ssl
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr
from functools import cache
from typing import Any, cast
from urllib.parse import quote, urlencode

from apprise.plugins.email import NotifyEmail
from apprise.plugins.email.smtp import SMTP_EXCEPTIONS, SMTPSecureMode
from apprise.utils.parse import is_email, parse_emails

from notifications.channels import ChannelName, ChannelUnavailable, DeliveryError, Outgoing
from notifications.redact import protect, redact
from settings import SmtpSettings


@cache
def tls_context(verify: bool) -> ssl.SSLContext:
    """The process's TLS context for SMTP, built on first use (loading the CA store is slow)."""
    context = ssl.create_default_context()
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def mailto_url(smtp: SmtpSettings, to: str, **query_overrides: str) -> str:
    """The apprise URL for the recipients in `to` (it holds the password: never log it).

    `query_overrides` replace or add URL parameters (e.g. how the sender is given).
    """
    scheme = "mailtos" if smtp.starttls else "mailto"
    auth = ""
    if smtp.username:
        auth = quote(smtp.username, safe="")
        if smtp.password is not None:
            auth += ":" + quote(smtp.password.get_secret_value(), safe="")
        auth += "@"
    query = {"smtp": smtp.host, "from": smtp.sender, "to": to}
    if smtp.starttls:
        query["mode"] = "starttls"
    query.update(query_overrides)
    return f"{scheme}://{auth}{smtp.host}:{smtp.port}?{urlencode(query, quote_via=quote)}"


def message_id(key: str, sender: str) -> str:
    """The Message-ID a message's key gives, on the sender's domain."""
    domain = sender.rpartition("@")[2] or "dondoc.invalid"
    return f"<{key}@{domain}>"


def recipients(address: str) -> list[tuple[str | None, str]]:
    """(name, address) of each valid address in `address`, read as apprise reads `to=`."""
    found = []
    for candidate in parse_emails(address):
        parsed = is_email(candidate)
        if parsed:
            found.append((parsed["name"] or None, parsed["full_email"]))
    return found


def build_mail(
    *, sender: tuple[str | None, str], to: tuple[str | None, str], subject: str, body: str, mid: str
) -> str:
    """A plain UTF-8 text mail, ASCII on the wire, carrying the caller's Message-ID."""
    mail = EmailMessage()
    mail["Subject"] = " ".join(subject.split())
    mail["From"] = formataddr((sender[0] or "", sender[1]))
    mail["To"] = formataddr((to[0] or "", to[1]))
    mail["Date"] = format_datetime(datetime.now(UTC))
    mail["Message-ID"] = mid
    mail.set_content(body, cte="quoted-printable")
    return mail.as_string()


def _idle_and_open(connection: smtplib.SMTP) -> bool:
    """Whether an idle connection is still usable, without a round trip: between two mails
    the server has nothing to say, so a readable socket means it closed the connection (or
    sent a 421 farewell) while we were not looking."""
    sock = connection.sock
    if sock is None:  # smtplib closed it after an error or a 421
        return False
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return False
    return not readable


class EmailChannel:
    """Email through the SMTP server in the settings, one connection per delivery run.

    The connection is opened on the first mail, reopened when the server has dropped it, and
    closed by `close()` at the end of the run.
    """

    name = ChannelName.EMAIL

    def __init__(self, smtp: SmtpSettings) -> None:
        self._smtp = smtp
        if smtp.password is not None:
            protect([smtp.password.get_secret_value()])
        self._server: NotifyEmail | None = None
        self._connection: smtplib.SMTP | None = None

    def prepare(self, *, renew: bool = False) -> None:
        """Nothing to fetch: the SMTP login happens when the connection opens."""

    def close(self) -> None:
        """End the run's SMTP session (QUIT), if one is open."""
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(*SMTP_EXCEPTIONS):
                connection.quit()

    def send(self, message: Outgoing) -> str | None:
        server = self._settings()
        targets = recipients(message.address)
        if not targets:
            raise DeliveryError(f"Địa chỉ thư không hợp lệ: {message.address}")
        sender_name, sender = cast(tuple[str | None, str], server.from_addr)
        mid = message_id(message.key, parseaddr(self._smtp.sender)[1])
        for name, address in targets:
            text = build_mail(
                sender=(sender_name or None, sender),
                to=(message.recipient_name or name, address),
                subject=message.subject,
                body=message.body,
                mid=mid,
            )
            connection = self._open()
            try:
                connection.sendmail(sender, [address], text)
            except SMTP_EXCEPTIONS:
                # smtplib closes a connection it can no longer trust; the next mail reopens.
                raise DeliveryError(
                    redact(f"Máy chủ thư (SMTP) không nhận thư gửi tới {address}")
                ) from None
        return mid

    def _settings(self) -> NotifyEmail:
        """apprise's reading of the server's URL (security mode, port, login, sender)."""
        if self._server is None:
            url = mailto_url(self._smtp, parseaddr(self._smtp.sender)[1] or self._smtp.sender)
            parsed = NotifyEmail.parse_url(url)
            if not parsed:
                raise ChannelUnavailable("Cấu hình máy chủ thư (SMTP) không hợp lệ")
            self._server = NotifyEmail(**parsed)
        return self._server

    def _open(self) -> smtplib.SMTP:
        """The run's connection: kept while the server keeps it, else a new one (TLS, login)."""
        if self._connection is not None and _idle_and_open(self._connection):
            return self._connection
        self.close()
        server = self._settings()
        mode = str(server.secure_mode)
        host, port = server.smtp_host, int(server.port or 0)
        context = tls_context(bool(server.verify_certificate))
        connection: smtplib.SMTP | None = None
        try:
            options: dict[str, Any] = {"timeout": server.socket_connect_timeout}
            if mode == SMTPSecureMode.SSL:
                connection = smtplib.SMTP_SSL(host, port, None, context=context, **options)
            else:
                connection = smtplib.SMTP(host, port, None, **options)
            if mode == SMTPSecureMode.STARTTLS:
                connection.starttls(context=context)
            if server.user and server.password:
                connection.login(server.user, server.password)
        except SMTP_EXCEPTIONS as exc:
            if connection is not None:
                with contextlib.suppress(*SMTP_EXCEPTIONS):
                    connection.close()
            raise ChannelUnavailable(
                redact(f"Không kết nối được máy chủ thư (SMTP) {host}:{port}: {type(exc).__name__}")
            ) from None
        self._connection = connection
        return connection
