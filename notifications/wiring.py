"""The one place that chooses the channels dondoc uses, from the settings."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine

from notifications.channels import Channel, ChannelName
from notifications.email import EmailChannel
from notifications.webhook import WebhookChannel
from notifications.zalo import ZaloBotChannel, ZaloOAChannel
from settings import Settings


def enabled_channels(settings: Settings) -> list[ChannelName]:
    """The channels the settings configure, without building anything."""
    names = []
    if settings.smtp.host:
        names.append(ChannelName.EMAIL)
    if settings.zalo.app_id and settings.zalo.secret_key is not None:
        names.append(ChannelName.ZALO_OA)
    if settings.zalo.bot_token is not None:
        names.append(ChannelName.ZALO_BOT)
    if settings.webhooks:
        names.append(ChannelName.WEBHOOK)
    return names


def build_channel(
    name: ChannelName, *, settings: Settings, engine: Engine, now: datetime
) -> Channel:
    """A ready channel; the Zalo OA keeps its rotating tokens in the database."""
    match name:
        case ChannelName.EMAIL:
            return EmailChannel(settings.smtp)
        case ChannelName.ZALO_OA:
            return ZaloOAChannel(zalo=settings.zalo, engine=engine, now=now)
        case ChannelName.ZALO_BOT:
            assert settings.zalo.bot_token is not None
            return ZaloBotChannel(
                base=settings.zalo.bot_api_base, token=settings.zalo.bot_token.get_secret_value()
            )
        case ChannelName.WEBHOOK:
            return WebhookChannel(settings.webhooks)
    raise ValueError(f"unknown channel {name!r}")  # pragma: no cover
