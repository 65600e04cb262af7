"""Fault fixtures: the fault plan loaded, the escalation tests' real local servers, settings.

The servers and settings are the escalation tests' own (tests/support/escalation.py).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from settings import Settings
from tests.support.escalation import (
    APP_ID,
    BOT_TOKEN,
    FIRST_REFRESH,
    SMTP_PASSWORD,
    SMTP_USER,
    ZALO_SECRET,
    SmtpServer,
    ZaloServer,
    ZaloState,
    make_settings,
)
from tests.support.faults import OA_ACCESS, load_fault_plan


@pytest.fixture
def fault_db(engine: Engine) -> Engine:
    load_fault_plan(engine)
    return engine


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer(SMTP_USER, SMTP_PASSWORD)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def zalo() -> Iterator[ZaloServer]:
    server = ZaloServer(
        ZaloState(
            app_id=APP_ID,
            secret_key=ZALO_SECRET,
            bot_token=BOT_TOKEN,
            refresh_tokens={FIRST_REFRESH},
            access_tokens={OA_ACCESS},
        )
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture
def settings(fault_db: Engine, smtp: SmtpServer, zalo: ZaloServer) -> Settings:
    return make_settings(fault_db, smtp, zalo)
