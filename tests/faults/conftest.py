"""Fault fixtures: the fault plan loaded, its OA access token known to the Zalo server, settings."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from demo.sinks import SmtpServer, ZaloServer, ZaloState
from settings import Settings
from tests.support.escalation import make_settings
from tests.support.faults import OA_ACCESS, load_fault_plan


@pytest.fixture
def fault_db(engine: Engine) -> Engine:
    load_fault_plan(engine)
    return engine


@pytest.fixture
def zalo_state(zalo_state: ZaloState) -> ZaloState:
    """The fault plan's OA access token is valid (see load_fault_plan)."""
    zalo_state.access_tokens.add(OA_ACCESS)
    return zalo_state


@pytest.fixture
def settings(fault_db: Engine, smtp: SmtpServer, zalo: ZaloServer) -> Settings:
    return make_settings(fault_db, smtp, zalo)
