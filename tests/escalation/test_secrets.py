"""Secrets (SMTP password, Zalo secret key, bot token, OA tokens, webhook credentials) never
reach a log line or anything shown to the admin, even at DEBUG and when deliveries fail."""

from __future__ import annotations

import logging

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine

from demo.sinks import SmtpServer, ZaloServer
from deploy.server import free_port
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


HOOK_TOKEN = "T0k3n-in-the-path-9q8w7e"
QUERY_TOKEN = "query-secret-4r5t6y"


def test_a_webhook_secret_path_never_reaches_a_log_even_at_debug(
    plan_db: Engine,
    settings: Settings,
    zalo: ZaloServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    port = zalo.server_address[1]
    hooks = {
        # Many services put the webhook's credential in its path (Slack, Teams, Discord...).
        "so": f"json://127.0.0.1:{port}/hooks/{HOOK_TOKEN}?-token={QUERY_TOKEN}",
        "phong": f"json://127.0.0.1:{port}/services/{HOOK_TOKEN}-b",
        "tinh": f"json://127.0.0.1:{free_port()}/in/{HOOK_TOKEN}-c",  # nobody listening
    }
    settings = settings.model_copy(update={"webhooks": {k: SecretStr(v) for k, v in hooks.items()}})
    zalo.state.webhook_status[f"/services/{HOOK_TOKEN}-b"] = 500
    caplog.set_level(logging.DEBUG)  # apprise, urllib3, httpx, httpcore: everything
    run_once(engine=plan_db, settings=settings, now=vn(2024, 3, 25))

    sent = {r.path.split("?")[0] for r in zalo.delivered("webhook")}
    assert sent == {f"/hooks/{HOOK_TOKEN}"}  # the secret path really was used
    logs = caplog.text
    assert "JSON POST URL: http://127.0.0.1" in logs  # apprise logged the URLs...
    assert "HTTP Request: POST" in logs  # ...and httpx the Zalo ones
    for secret in (HOOK_TOKEN, QUERY_TOKEN, BOT_TOKEN):
        assert secret not in logs, f"a secret reached the logs: {secret[:4]}…"
    for message in outbox_messages(plan_db):
        assert HOOK_TOKEN not in (message.last_error or "")
