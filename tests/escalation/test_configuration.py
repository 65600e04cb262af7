"""A channel works only when it is configured: nothing is sent to a default mail server."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import Engine

from demo.sinks import SmtpServer, ZaloServer
from notifications.alerts import email_admin
from notifications.channels import ChannelName
from notifications.daily_check import run_once
from notifications.wiring import enabled_channels
from settings import Settings, SmtpSettings
from tests.support.escalation import outbox_messages, vn


@pytest.mark.parametrize(
    ("environment", "channels"),
    [
        ({}, []),
        ({"DONDOC_SMTP__PORT": "2525", "DONDOC_SMTP__SENDER": "a@b.example"}, []),
        ({"DONDOC_SMTP__HOST": "mail.example.gov.vn"}, [ChannelName.EMAIL]),
        ({"DONDOC_ZALO__APP_ID": "123"}, []),
        ({"DONDOC_ZALO__APP_ID": "123", "DONDOC_ZALO__SECRET_KEY": "k" * 8}, [ChannelName.ZALO_OA]),
        ({"DONDOC_ZALO__BOT_TOKEN": "1:abcdefgh"}, [ChannelName.ZALO_BOT]),
        ({"DONDOC_WEBHOOKS": '{"so": "json://127.0.0.1/hook"}'}, [ChannelName.WEBHOOK]),
    ],
)
def test_a_channel_is_enabled_only_by_its_own_settings(
    environment: dict[str, str], channels: list[ChannelName], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [n for n in os.environ if n.startswith("DONDOC_")]:
        monkeypatch.delenv(name)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert enabled_channels(Settings(_env_file=None)) == channels  # type: ignore[call-arg]


def test_without_a_mail_server_no_mail_is_recorded_tried_or_alerted(
    plan_db: Engine, settings: Settings, smtp: SmtpServer, zalo: ZaloServer
) -> None:
    unset = settings.model_copy(update={"smtp": SmtpSettings()})  # every SMTP field default
    report = run_once(engine=plan_db, settings=unset, now=vn(2024, 3, 19))
    assert "email" not in {d.channel for d in report.deliveries}
    messages = outbox_messages(plan_db)
    assert messages and "email" not in {m.channel for m in messages}
    assert {m.status for m in messages} == {"sent"}  # the configured channels work
    assert not email_admin(settings=unset, key="alert-1", subject="Lỗi", body="x")
    assert smtp.received() == []
