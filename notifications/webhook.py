"""Generic JSON webhooks through apprise `json://`, with the message key as Idempotency-Key."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from urllib.parse import urlencode

import apprise
from pydantic import SecretStr

from notifications.channels import ChannelName, DeliveryError, Outgoing, RecipientUnreachable
from notifications.redact import protect, redact, url_secrets

IDEMPOTENCY_HEADER = "Idempotency-Key"


def with_idempotency_key(url: str, key: str) -> str:
    """The apprise URL plus `+Idempotency-Key=<key>` (apprise's syntax for an extra header)."""
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}{urlencode({'+' + IDEMPOTENCY_HEADER: key})}"


class WebhookChannel:
    """Every configured webhook gets a copy of the reminders; the address is its name."""

    name = ChannelName.WEBHOOK

    def __init__(self, webhooks: Mapping[str, SecretStr]) -> None:
        self._urls = {name: url.get_secret_value() for name, url in webhooks.items()}
        # A webhook URL may carry credentials (user:password@, a token in the path or query).
        protect(self._urls.values())
        for url in self._urls.values():
            protect(url_secrets(url))

    def prepare(self, *, renew: bool = False) -> None:
        """Nothing to fetch."""

    def close(self) -> None:
        """Nothing held: a run posts one digest per webhook, each on its own connection."""

    def send(self, message: Outgoing) -> str | None:
        url = self._urls.get(message.address)
        if url is None:
            raise RecipientUnreachable(f"Webhook {message.address!r} không còn trong cấu hình")
        plugin = apprise.Apprise.instantiate(with_idempotency_key(url, message.key))
        if plugin is None:
            raise RecipientUnreachable(f"Webhook {message.address!r}: URL không hợp lệ")
        with apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as captured:
            ok = plugin.notify(body=message.body, title=message.subject)
        if not ok:
            lines = [line for line in captured.getvalue().splitlines() if line.strip()]
            detail = lines[-1] if lines else "không rõ lý do"
            raise DeliveryError(redact(f"Webhook {message.address!r}: {detail}"))
        return None
