"""Intake fixtures: the intake test plan loaded, and a real portal served by uvicorn."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from intake_support import ADMIN_SECRET, NOW, PLAN, UPLOAD_LIMIT, Clock, Portal, _Server
from pydantic import SecretStr
from sqlalchemy import Engine

from deploy.settings import Settings
from models.db import transaction
from models.plan_sync import load_plan
from plans.loader import read_plan
from portal.app import create_app


@pytest.fixture
def loaded(engine: Engine) -> Engine:
    """The intake plan loaded into the test database."""
    plan = read_plan(PLAN)
    with transaction(engine) as session:
        load_plan(plan, session=session, now=NOW)
    return engine


@dataclass
class _Running:
    portals: dict[str, Portal]
    servers: list[_Server]


@pytest.fixture(scope="session")
def _running() -> Iterator[_Running]:
    """The portals started in this session (one per database backend), stopped at the end."""
    running = _Running({}, [])
    yield running
    for server in running.servers:
        server.stop()


@pytest.fixture
def portal(loaded: Engine, _running: _Running, tmp_path_factory: pytest.TempPathFactory) -> Portal:
    """The real portal on 127.0.0.1 over the loaded test database, its clock reset to NOW."""
    key = loaded.url.render_as_string(hide_password=False)
    if key not in _running.portals:
        clock = Clock()
        settings = Settings(
            database_url=key,
            data_dir=tmp_path_factory.mktemp("portal-data"),
            admin_token=SecretStr(ADMIN_SECRET),
            upload_max_bytes=UPLOAD_LIMIT,
        )
        server = _Server(create_app(settings, engine=loaded, clock=clock))
        _running.servers.append(server)
        _running.portals[key] = Portal(
            url=server.start(), clock=clock, settings=settings, engine=loaded
        )
    running = _running.portals[key]
    running.clock.now = NOW
    return running
