"""Fault fixtures: the fault plan loaded, the escalation tests' real local servers, settings.

The servers and settings are the escalation tests' own (tests/escalation/escalation_support.py).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "escalation"))

from escalation_support import (
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
    vn,
)
from sqlalchemy import Engine

from deploy.settings import Settings
from models.db import transaction
from models.outbox import ChannelToken
from models.plan_sync import load_plan
from notifications.channels import ChannelName
from plans.loader import read_plan

PLAN = Path(__file__).parent / "plan.yaml"
OA_ACCESS = "access-token-fault-tests-7q2w"


def load_fault_plan(engine: Engine) -> None:
    """The plan, and a Zalo OA access token valid for years.

    With the token in place no run refreshes it, so a kill can never land in the middle of
    a refresh: Zalo's refresh tokens are single-use, and a refresh killed after the server
    rotated the token loses the chain until an admin sets a new one (docs/escalation.md).
    """
    with transaction(engine) as session:
        load_plan(read_plan(PLAN), session=session, now=vn(2024, 1, 1))
        session.add(
            ChannelToken(
                channel=ChannelName.ZALO_OA.value,
                account=APP_ID,
                access_token=OA_ACCESS,
                refresh_token=FIRST_REFRESH,
                access_expires_at=vn(2099, 1, 1),
                version=1,
                updated_at=vn(2024, 1, 1),
            )
        )


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
