"""Fixtures for the escalation tests: the test plan, real local servers, settings."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from demo.sinks import SmtpServer, ZaloServer
from models.db import transaction
from plan_sync.sync import load_plan
from plans.loader import parse_plan
from settings import Settings
from tests.support.escalation import PLAN, make_settings, settings_env, vn
from tests.support.seeded import seeded


@pytest.fixture
def plan_db(engine: Engine) -> Engine:
    """The escalation test plan, loaded."""

    def load() -> None:
        with transaction(engine) as session:
            plan = parse_plan(PLAN.read_text(encoding="utf-8"))
            load_plan(plan, session=session, now=vn(2024, 1, 1))

    seeded(engine, "plan_db", load)
    return engine


@pytest.fixture
def settings(plan_db: Engine, smtp: SmtpServer, zalo: ZaloServer) -> Settings:
    return make_settings(plan_db, smtp, zalo)


@pytest.fixture
def channel_env(
    settings: Settings, db_env: Engine, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Settings]:
    """The settings in the environment (on top of db_env), so get_settings() sees them."""
    from settings import get_settings

    for name, value in settings_env(settings).items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield settings
    get_settings.cache_clear()
