"""Security fixtures: the intake test plan loaded and a real portal (uvicorn on 127.0.0.1) over it.

The portal, clock and plan are the intake tests' own (tests/intake/intake_support.py); the
mail and Zalo servers the escalation tests' (tests/escalation/escalation_support.py).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "intake"))
sys.path.insert(0, str(Path(__file__).parents[1] / "escalation"))

from intake_support import (
    ADMIN_SECRET,
    NOW,
    PLAN,
    UPLOAD_LIMIT,
    Clock,
    Portal,
    _Server,
)
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
    with transaction(engine) as session:
        load_plan(read_plan(PLAN), session=session, now=NOW)
    return engine


@dataclass
class _Running:
    portals: dict[str, Portal] = field(default_factory=dict)
    servers: list[_Server] = field(default_factory=list)


@pytest.fixture(scope="session")
def _security_portals() -> Iterator[_Running]:
    running = _Running()
    yield running
    for server in running.servers:
        server.stop()


@pytest.fixture
def portal(
    loaded: Engine, _security_portals: _Running, tmp_path_factory: pytest.TempPathFactory
) -> Portal:
    """The real portal over the loaded database (one server per backend), clock at NOW."""
    key = loaded.url.render_as_string(hide_password=False)
    if key not in _security_portals.portals:
        clock = Clock()
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            database_url=key,
            data_dir=tmp_path_factory.mktemp("security-portal-data"),
            admin_token=SecretStr(ADMIN_SECRET),
            upload_max_bytes=UPLOAD_LIMIT,
        )
        server = _Server(create_app(settings, engine=loaded, clock=clock))
        _security_portals.servers.append(server)
        _security_portals.portals[key] = Portal(
            url=server.start(), clock=clock, settings=settings, engine=loaded
        )
    running = _security_portals.portals[key]
    running.clock.now = NOW
    return running
