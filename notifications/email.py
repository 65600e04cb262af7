"""E-mail over SMTP, one path for every mail dondoc sends: reminders (`EmailChannel`), the
admin alert and the report with its attachments. `build_mail` writes the message, a `Mailer`
sends a run's mails over one SMTP connection.

The connection is opened on the first mail (STARTTLS and login as the settings say), kept
while the server keeps it, reopened when the server closed it between two mails, and closed
at the end of the run. The TLS context is built once per process: loading the CA store costs
~30 ms, more than half of a mail's time (docs/benchmarks.md). Every mail carries the caller's
Message-ID, the same on every copy, so a receiver can drop a copy.
"""

from __future__ import annotations

import contextlib
import mimetypes
import re
import select
import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.header import Header
from email.headerregistry import AddressHeader, BaseHeader, HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage
from email.policy import Policy
from email.policy import default as default_policy
from email.utils import format_datetime, formataddr, getaddresses, parseaddr
from functools import cache
from pathlib import Path
from types import TracebackType

from notifications.channels import ChannelName, ChannelUnavailable, DeliveryError, Outgoing
from notifications.redact import protect, redact
from settings import SmtpSettings

# What smtplib and the socket under it raise (a refused TLS handshake is an OSError too).
SMTP_EXCEPTIONS = (OSError, smtplib.SMTPException, RuntimeError)
TIMEOUT_SECONDS = 15
_ADDRESS = re.compile(r"^[^@\s<>\"]+@(?:[a-z0-9](?:[a-z0-9_-]*[a-z0-9])?\.)+[a-z]{2,63}$", re.I)

Address = tuple[str | None, str]  # (display name, address)
# A folded header line: one space and an encoded word of at most 75 characters (RFC 2047 §2).
_ENCODED_LINE = 76


class _WholeTextHeader(BaseHeader):
    """Folds a header with Vietnamese text so that a reader decodes exactly that text.

    Python 3.11's folder (`email.policy.default`) cuts a long subject or display name into
    encoded words at a space and leaves that space *between* two encoded words, where RFC 2047
    decoders drop it: "từ thư" arrives as "từthư" (python/cpython#92081, fixed in 3.12.5 and
    3.13 only, whose fix needed #120930 and #144156 in turn). `email.header.Header`, the
    compat32 encoder, is the simplest correct stand-in: it encodes the whole text, cut between
    characters with every space inside a word, in words of at most 75 characters on lines of
    at most 76. Encoding the text ourselves would not do: the default policy decodes encoded
    words it is given and folds them again. Raw UTF-8 headers (SMTPUTF8) would need a server
    that takes them; dondoc sends ASCII. Only the text is encoded: an address stays
    `<address>`, and ASCII headers and the MIME headers fold as the default policy folds them.
    """

    def fold(self, *, policy: Policy) -> str:
        if self.isascii() or not isinstance(self, UnstructuredHeader | AddressHeader):
            return super().fold(policy=policy)
        header = Header(header_name=self.name, maxlinelen=_ENCODED_LINE)
        if isinstance(self, AddressHeader):
            last = len(self.addresses) - 1
            for index, address in enumerate(self.addresses):
                comma = "," if index < last else ""
                name = address.display_name
                if name.isascii():
                    header.append(formataddr((name, address.addr_spec)) + comma)
                else:
                    header.append(name, "utf-8")
                    header.append(f"<{address.addr_spec}>{comma}")
        else:
            header.append(str(self), "utf-8")
        return f"{self.name}: {header.encode(linesep=policy.linesep)}{policy.linesep}"


# Every mail is built under this policy: the default one, with the folding above.
_MAIL_POLICY = default_policy.clone(header_factory=HeaderRegistry(base_class=_WholeTextHeader))


@cache
def tls_context() -> ssl.SSLContext:
    """The process's TLS context for SMTP, built on first use (loading the CA store is slow)."""
    return ssl.create_default_context()


def message_id(key: str, sender: str) -> str:
    """The Message-ID a message's key gives, on the sender's domain."""
    domain = sender.rpartition("@")[2] or "dondoc.invalid"
    return f"<{key}@{domain}>"


def recipients(address: str) -> list[Address]:
    """(name, address) of each valid address in `address` (separated by commas or semicolons,
    each bare or as `Name <address>`)."""
    found: list[Address] = []
    for name, email in getaddresses([address.replace(";", ",")]):
        if _ADDRESS.match(email):
            found.append((name or None, email))
    return found


def sender_of(smtp: SmtpSettings, default_name: str | None = None) -> Address:
    """The sender the settings give (`Name <address>` or a bare address)."""
    name, address = parseaddr(smtp.sender)
    return (name or default_name, address or smtp.sender)


@dataclass(frozen=True)
class Attachment:
    """A file sent with a mail."""

    filename: str
    content: bytes

    @classmethod
    def of(cls, path: Path) -> Attachment:
        return cls(path.name, path.read_bytes())


def build_mail(
    *,
    sender: Address,
    to: Address,
    subject: str,
    body: str,
    mid: str,
    attachments: Sequence[Attachment] = (),
    html: str | None = None,
) -> str:
    """A UTF-8 text mail (with `html` as its alternative, plus its attachments), ASCII on the
    wire, with the caller's Message-ID."""
    mail = EmailMessage(policy=_MAIL_POLICY)
    mail["Subject"] = " ".join(subject.split())
    mail["From"] = formataddr((sender[0] or "", sender[1]))
    mail["To"] = formataddr((to[0] or "", to[1]))
    mail["Date"] = format_datetime(datetime.now(UTC))
    mail["Message-ID"] = mid
    mail.set_content(body, cte="quoted-printable")
    if html is not None:
        mail.add_alternative(html, subtype="html", cte="quoted-printable")
    for attachment in attachments:
        kind, _ = mimetypes.guess_type(attachment.filename)
        maintype, _, subtype = (kind or "application/octet-stream").partition("/")
        mail.add_attachment(
            attachment.content, maintype=maintype, subtype=subtype, filename=attachment.filename
        )
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


class Mailer:
    """Sends a run's mails through the SMTP server in the settings, over one connection.

    Raises ChannelUnavailable when the server cannot be reached or refuses the login, and
    DeliveryError when it refuses a mail; both texts are Vietnamese and hold no secret.
    """

    def __init__(self, smtp: SmtpSettings) -> None:
        self._smtp = smtp
        if smtp.password is not None:
            protect([smtp.password.get_secret_value()])
        self._connection: smtplib.SMTP | None = None

    def __enter__(self) -> Mailer:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def send(self, *, sender: str, to: str, mail: str) -> None:
        """Hand one built mail to the server, from and to these bare addresses."""
        connection = self._open()
        try:
            connection.sendmail(sender, [to], mail)
        except SMTP_EXCEPTIONS:
            # smtplib closes a connection it can no longer trust; the next mail reopens.
            raise DeliveryError(redact(f"Máy chủ thư (SMTP) không nhận thư gửi tới {to}")) from None

    def close(self) -> None:
        """End the run's SMTP session (QUIT), if one is open."""
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(*SMTP_EXCEPTIONS):
                connection.quit()

    def _open(self) -> smtplib.SMTP:
        """The run's connection: kept while the server keeps it, else a new one (TLS, login)."""
        if self._connection is not None and _idle_and_open(self._connection):
            return self._connection
        self.close()
        smtp = self._smtp
        if not smtp.host:
            raise ChannelUnavailable("Chưa cấu hình máy chủ thư (DONDOC_SMTP__HOST)")
        connection: smtplib.SMTP | None = None
        try:
            connection = smtplib.SMTP(smtp.host, smtp.port, None, timeout=TIMEOUT_SECONDS)
            if smtp.starttls:
                connection.starttls(context=tls_context())
            if smtp.username and smtp.password is not None:
                connection.login(smtp.username, smtp.password.get_secret_value())
        except SMTP_EXCEPTIONS as exc:
            if connection is not None:
                with contextlib.suppress(*SMTP_EXCEPTIONS):
                    connection.close()
            raise ChannelUnavailable(
                redact(
                    f"Không kết nối được máy chủ thư (SMTP) {smtp.host}:{smtp.port}: "
                    f"{type(exc).__name__}"
                )
            ) from None
        self._connection = connection
        return connection


class EmailChannel:
    """Reminders by e-mail: one mail per address of a message, one connection per run."""

    name = ChannelName.EMAIL

    def __init__(self, smtp: SmtpSettings) -> None:
        self._mailer = Mailer(smtp)
        self._sender = sender_of(smtp)

    def prepare(self, *, renew: bool = False) -> None:
        """Nothing to fetch: the SMTP login happens when the connection opens."""

    def close(self) -> None:
        self._mailer.close()

    def send(self, message: Outgoing) -> str | None:
        targets = recipients(message.address)
        if not targets:
            raise DeliveryError(f"Địa chỉ thư không hợp lệ: {message.address}")
        mid = message_id(message.key, self._sender[1])
        for name, address in targets:
            mail = build_mail(
                sender=self._sender,
                to=(message.recipient_name or name, address),
                subject=message.subject,
                body=message.body,
                mid=mid,
            )
            self._mailer.send(sender=self._sender[1], to=address, mail=mail)
        return mid
