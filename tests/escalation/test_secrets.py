"""Secrets (SMTP password, Zalo secret key, bot token, OA tokens, webhook credentials) never
reach a log line or anything shown to the admin, even at DEBUG and when deliveries fail."""

from __future__ import annotations

import logging

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine

from demo.sinks import SmtpServer, ZaloServer
from notifications.daily_check import run_once
from settings import Settings
from tests.support.escalation import (
    BOT_TOKEN,
    FIRST_REFRESH,
    SMTP_PASSWORD,
    ZALO_SECRET,
    outbox_messages,
    vn,
)

WEBHOOK_PASSWORD = "hook-pass-5f5f5f"


def test_a_delivery_run_logs_no_secret(
    plan_db: Engine,
    settings: Settings,
    smtp: SmtpServer,
    zalo: ZaloServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    hook = f"json://so-user:{WEBHOOK_PASSWORD}@127.0.0.1:{zalo.server_address[1]}/hooks/so"
    settings = settings.model_copy(update={"webhooks": {"so": SecretStr(hook)}})
    caplog.set_level(logging.DEBUG)  # everything, third-party libraries included
    # Day one: the OA token is fetched (refresh), every channel delivers, SMTP logs in.
    run_once(engine=plan_db, settings=settings, now=vn(2024, 3, 19))
    # Day two: failures too: the OA token expires (-220 and a second refresh), the webhook
    # and the bot are refused, the SMTP server is gone.
    zalo.state.expire_access_tokens()
    zalo.state.webhook_status["/hooks/so"] = 500
    zalo.state.bot_token = "another-bot-token"
    smtp.stop()
    run_once(engine=plan_db, settings=settings, now=vn(2024, 3, 25))

    logs = caplog.text
    # The run really exercised the risky paths: the bot's URL (token in its path) was
    # logged by urllib3, and tokens were refreshed twice.
    assert "/bot***/sendMessage" in logs
    assert len(zalo.delivered("refresh")) == 2
    issued = {r.body["refresh_token"] for r in zalo.delivered("refresh")}
    tokens = zalo.state.access_tokens | zalo.state.expired_tokens | zalo.state.refresh_tokens
    secrets = {SMTP_PASSWORD, ZALO_SECRET, BOT_TOKEN, FIRST_REFRESH, WEBHOOK_PASSWORD}
    secrets |= issued | tokens
    shown = [m.last_error or "" for m in outbox_messages(plan_db)]
    shown += [m.body or "" for m in outbox_messages(plan_db)]
    assert any(shown)  # failures were recorded for the admin
    for secret in secrets:
        assert secret not in logs, f"a secret reached the logs: {secret[:4]}…"
        assert not [s for s in shown if secret in s], f"a secret reached the outbox: {secret[:4]}…"
