"""The channel protocol: send one rendered message, return the provider's id or raise."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class ChannelName(StrEnum):
    EMAIL = "email"
    ZALO_OA = "zalo_oa"
    ZALO_BOT = "zalo_bot"
    WEBHOOK = "webhook"


CHANNEL_VI = {
    ChannelName.EMAIL: "Thư điện tử",
    ChannelName.ZALO_OA: "Zalo OA",
    ChannelName.ZALO_BOT: "Zalo Bot",
    ChannelName.WEBHOOK: "Webhook",
}


@dataclass(frozen=True)
class Outgoing:
    """One message ready to go: its stable key travels with every copy."""

    key: str
    address: str  # email address, Zalo user id, Zalo chat id, or webhook name
    recipient_name: str | None
    subject: str
    body: str


class DeliveryError(Exception):
    """A send failed and may succeed later: retried with backoff, then given up.

    The message is shown to the admin, so it is Vietnamese and never carries a secret.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RecipientUnreachable(DeliveryError):
    """The recipient cannot get messages on this channel (e.g. does not follow the Zalo OA)."""


class ChannelUnavailable(DeliveryError):
    """The whole channel is down (server unreachable, credentials refused): stop it this run."""


class CredentialsExpired(DeliveryError):
    """The provider refused our token before accepting anything: renew it and try once more."""


class RateLimited(ChannelUnavailable):
    """The provider asks us to slow down: not the message's fault, so no attempt is counted."""

    def __init__(self, reason: str, retry_after_seconds: int) -> None:
        super().__init__(reason)
        self.retry_after_seconds = retry_after_seconds


class Channel(Protocol):
    """A way to reach people; implementations put apprise behind this."""

    name: ChannelName

    def prepare(self, *, renew: bool = False) -> None:
        """Get credentials ready (or renew them); runs outside any outbox transaction."""
        ...

    def send(self, message: Outgoing) -> str | None:
        """Deliver or raise DeliveryError; return the provider's message id if it gives one."""
        ...

    def close(self) -> None:
        """Release what the delivery run held (its connections); a later send reopens them."""
        ...
