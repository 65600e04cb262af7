"""Support for the escalation tests: the test plan's data, settings and outbox helpers."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pendulum
from pydantic import SecretStr
from sqlalchemy import Engine, select

from demo.sinks import SmtpServer, ZaloServer
from models.db import transaction
from models.items import DueItem
from models.outbox import OutboxMessage
from models.submissions import Submission
from notifications.channels import ChannelName
from notifications.daily_check import deliver_channel
from notifications.deciding import Recorded, record_decision
from notifications.delivering import DeliveryReport
from notifications.wiring import enabled_channels
from settings import EscalationSettings, Settings, SmtpSettings, ZaloSettings

PLAN = Path(__file__).parents[1] / "escalation" / "plan.yaml"
VN = "Asia/Ho_Chi_Minh"
PORTAL = "http://portal.test"

# Configured secrets: the secrets test checks none of them reaches a log.
SMTP_USER = "dondoc-mailer"
SMTP_PASSWORD = "smtp-Pa55word-7731"
APP_ID = "app-4455"
ZALO_SECRET = "zalo-secret-key-5521"
BOT_TOKEN = "887766:bot-token-AbCdEfGh"
FIRST_REFRESH = "refresh-token-first-0a9b"


def vn(year: int, month: int, day: int, hour: int = 8, minute: int = 0) -> datetime:
    """A Vietnamese local instant, UTC-aware."""
    return pendulum.datetime(year, month, day, hour, minute, tz=VN).in_timezone("UTC")


def item_id(engine: Engine, key: str) -> int:
    with transaction(engine) as session:
        return session.scalars(select(DueItem.id).where(DueItem.key == key)).one()


def submit(engine: Engine, key: str, at: datetime) -> None:
    """An accepted submission of the item, straight into the table (not through the intake)."""
    with transaction(engine) as session:
        item = session.scalars(select(DueItem).where(DueItem.key == key)).one()
        session.add(
            Submission(
                item_id=item.id,
                version=1,
                receipt_no=f"R-{item.id}",
                received_at=at,
                channel="web",
                submitted_by="test",
                accepted=True,
                narrative={"Kết quả thực hiện": "Đã thực hiện"},
                content_hash="h",
            )
        )


def make_settings(engine: Engine, smtp: SmtpServer, zalo: ZaloServer) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=engine.url.render_as_string(hide_password=False),
        portal_url=PORTAL,
        smtp=SmtpSettings(
            host="127.0.0.1",
            port=smtp.port,
            username=SMTP_USER,
            password=SecretStr(SMTP_PASSWORD),
            sender="Hệ thống dondoc <dondoc@ubnd-thu.example>",
        ),
        zalo=ZaloSettings(
            oa_api_base=zalo.base,
            oauth_base=zalo.base,
            bot_api_base=zalo.base,
            app_id=APP_ID,
            secret_key=SecretStr(ZALO_SECRET),
            bot_token=SecretStr(BOT_TOKEN),
            oa_refresh_token=SecretStr(FIRST_REFRESH),
        ),
        escalation=EscalationSettings(retry_base_seconds=600),
        webhooks={"so": SecretStr(f"json://127.0.0.1:{zalo.server_address[1]}/hooks/so")},
        admin_email="quan-tri@ubnd-thu.example",
    )


def settings_env(settings: Settings) -> dict[str, str]:
    """The same settings as environment variables, for the CLI, subprocesses and flows."""
    assert settings.smtp.password and settings.zalo.secret_key and settings.zalo.bot_token
    assert settings.zalo.oa_refresh_token
    return {
        "DONDOC_DATABASE_URL": settings.database_url,
        "DONDOC_PORTAL_URL": settings.portal_url,
        "DONDOC_SMTP__HOST": settings.smtp.host,
        "DONDOC_SMTP__PORT": str(settings.smtp.port),
        "DONDOC_SMTP__USERNAME": settings.smtp.username or "",
        "DONDOC_SMTP__PASSWORD": settings.smtp.password.get_secret_value(),
        "DONDOC_SMTP__SENDER": settings.smtp.sender,
        "DONDOC_ZALO__OA_API_BASE": settings.zalo.oa_api_base,
        "DONDOC_ZALO__OAUTH_BASE": settings.zalo.oauth_base,
        "DONDOC_ZALO__BOT_API_BASE": settings.zalo.bot_api_base,
        "DONDOC_ZALO__APP_ID": settings.zalo.app_id or "",
        "DONDOC_ZALO__SECRET_KEY": settings.zalo.secret_key.get_secret_value(),
        "DONDOC_ZALO__BOT_TOKEN": settings.zalo.bot_token.get_secret_value(),
        "DONDOC_ZALO__OA_REFRESH_TOKEN": settings.zalo.oa_refresh_token.get_secret_value(),
        "DONDOC_WEBHOOKS": json.dumps({"so": settings.webhooks["so"].get_secret_value()}),
        "DONDOC_ADMIN_EMAIL": settings.admin_email or "",
        "DONDOC_ESCALATION__RETRY_BASE_SECONDS": str(settings.escalation.retry_base_seconds),
    }


def outbox_messages(engine: Engine) -> list[OutboxMessage]:
    """Every outbox message, oldest first."""
    with transaction(engine) as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def message_to(engine: Engine, address: str, channel: str) -> OutboxMessage:
    """The one message to this address on this channel."""
    found = [m for m in outbox_messages(engine) if (m.address, m.channel) == (address, channel)]
    assert len(found) == 1, found
    return found[0]


def deliver_now(engine: Engine, settings: Settings, channel: str, now: datetime) -> DeliveryReport:
    """One channel's delivery run, as the flow's step does it."""
    return deliver_channel(engine=engine, settings=settings, channel=ChannelName(channel), now=now)


def record_now(engine: Engine, settings: Settings, now: datetime) -> Recorded:
    """The decision and the outbox write, as the flow's first step does it."""
    return record_decision(
        engine=engine,
        now=now,
        channels=[c.value for c in enabled_channels(settings)],
        webhooks=list(settings.webhooks),
    )
