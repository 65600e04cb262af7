"""Fixtures: the shared local servers (demo.sinks) as the escalation and fault tests configure
them, with the configured secrets of tests/support/escalation.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from demo.sinks import SmtpServer, ZaloServer, ZaloState
from tests.support.escalation import (
    APP_ID,
    BOT_TOKEN,
    FIRST_REFRESH,
    SMTP_PASSWORD,
    SMTP_USER,
    ZALO_SECRET,
)


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """The SMTP server, asking for the configured login."""
    server = SmtpServer(SMTP_USER, SMTP_PASSWORD)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def zalo_state() -> ZaloState:
    """What the fake Zalo platform knows at first: the configured app, secret, bot token and
    first refresh token; a folder's conftest may give it more."""
    return ZaloState(
        app_id=APP_ID,
        secret_key=ZALO_SECRET,
        bot_token=BOT_TOKEN,
        refresh_tokens={FIRST_REFRESH},
    )


@pytest.fixture
def zalo(zalo_state: ZaloState) -> Iterator[ZaloServer]:
    """The Zalo (OA, OAuth, Bot) and webhook server over that state."""
    server = ZaloServer(zalo_state)
    server.start()
    yield server
    server.stop()
