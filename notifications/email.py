"""Email over SMTP through apprise's `mailto://` / `mailtos://`, with a stable Message-ID."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr
from typing import Any, cast
from urllib.parse import quote, urlencode

from apprise.plugins.email import NotifyEmail
from apprise.plugins.email.smtp import SMTP_EXCEPTIONS, AppriseSMTPController

from deploy.settings import SmtpSettings
from notifications.channels import ChannelName, ChannelUnavailable, DeliveryError, Outgoing
from notifications.redact import protect, redact


class StableIdEmail(NotifyEmail):
    """apprise's SMTP email plugin, sending a plain UTF-8 text mail with the caller's Message-ID.

    apprise 2.0 always writes a fresh Message-ID after any custom header, so a resend would
    carry two; this plugin builds the message itself (URL parsing, provider defaults, TLS and
    login stay apprise's) so a copy carries exactly the first one's id.
    """

    request_rate_per_sec = 0  # our batches pace themselves; apprise's default sleeps 5.5 s

    def __init__(self, message_id: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.message_id = message_id
        self.failure: DeliveryError | None = None

    def send(self, body: str, title: str = "", *args: Any, **kwargs: Any) -> bool:
        self.failure = None
        sender_name, sender = cast(tuple[str | None, str], self.from_addr)
        targets = cast(list[tuple[str | None, str]], self.targets)
        try:
            with AppriseSMTPController(
                host=self.smtp_host,
                port=int(self.port or 0),
                secure_mode=str(self.secure_mode),
                user=self.user,
                password=self.password,
                verify_certificate=self.verify_certificate,
                socket_connect_timeout=self.socket_connect_timeout,
            ) as smtp:
                for name, address in targets:
                    mail = EmailMessage()
                    mail["Subject"] = " ".join(title.split())
                    mail["From"] = formataddr((sender_name or "", sender))
                    mail["To"] = formataddr((name or "", address))
                    mail["Date"] = format_datetime(datetime.now(UTC))
                    if self.message_id:
                        mail["Message-ID"] = self.message_id
                    mail.set_content(body, cte="quoted-printable")  # ASCII on the wire
                    if not smtp.sendmail(sender, [address], mail.as_string()):
                        self.failure = DeliveryError(
                            f"Máy chủ thư (SMTP) không nhận thư gửi tới {address}"
                        )
                        return False
        except SMTP_EXCEPTIONS as exc:
            self.failure = ChannelUnavailable(
                f"Không kết nối được máy chủ thư (SMTP) {self.smtp_host}:{self.port}: "
                f"{type(exc).__name__}"
            )
            return False
        return True


def mailto_url(smtp: SmtpSettings, to: str) -> str:
    """The apprise URL for one recipient (it holds the password: never log it)."""
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
    return f"{scheme}://{auth}{smtp.host}:{smtp.port}?{urlencode(query, quote_via=quote)}"


def message_id(key: str, sender: str) -> str:
    """The Message-ID a message's key gives, on the sender's domain."""
    domain = sender.rpartition("@")[2] or "dondoc.invalid"
    return f"<{key}@{domain}>"


class EmailChannel:
    """Email through the SMTP server in the settings."""

    name = ChannelName.EMAIL

    def __init__(self, smtp: SmtpSettings) -> None:
        self._smtp = smtp
        if smtp.password is not None:
            protect([smtp.password.get_secret_value()])

    def prepare(self, *, renew: bool = False) -> None:
        """Nothing to fetch: the SMTP login happens with each connection."""

    def send(self, message: Outgoing) -> str | None:
        mid = message_id(message.key, parseaddr(self._smtp.sender)[1])
        parsed = StableIdEmail.parse_url(mailto_url(self._smtp, message.address))
        if not parsed:
            raise DeliveryError(f"Địa chỉ thư không hợp lệ: {message.address}")
        plugin = StableIdEmail(message_id=mid, **parsed)
        if not plugin.targets:
            raise DeliveryError(f"Địa chỉ thư không hợp lệ: {message.address}")
        if message.recipient_name:
            plugin.targets = [(message.recipient_name, address) for _, address in plugin.targets]
        if not plugin.notify(body=message.body, title=message.subject):
            failure = plugin.failure or DeliveryError("Gửi thư không thành công")
            failure.reason = redact(failure.reason)
            raise failure
        return mid
