"""A burst of officers beyond the default connection pool: every submission answered and stored."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from sqlalchemy import Engine

from portal.app import SPARE_CONNECTIONS, WORKER_THREADS, create_app
from settings import Settings
from tests.support.intake import Clock, _Server, new_token, stored

OFFICERS = 48  # more than SQLAlchemy's default pool (5 + 10) and than the worker threads


async def _burst(base: str, tokens: dict[str, str]) -> list[int]:
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:

        async def send(j: int) -> int:
            unit = ("xa-mot", "xa-hai")[j % 2]
            response = await client.post(
                "/api/v1/submissions",
                json={
                    "unit": unit,
                    "obligation": "bao-cao-thang",
                    "period": "2024-04",
                    "values": {"viec-lam": str(100 + j), "ty-le": "50", "dai-hoi": "có"},
                },
                headers={"Authorization": f"Bearer {tokens[unit]}", "Idempotency-Key": f"b-{j}"},
            )
            return response.status_code

        return list(await asyncio.gather(*(send(j) for j in range(OFFICERS))))


def test_a_burst_of_officers_is_served_with_a_connection_per_worker(
    loaded: Engine, tmp_path: Path
) -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=loaded.url.render_as_string(hide_password=False),
        data_dir=tmp_path,
    )
    # The portal's own engine, as deployed; its clock at 20/04/2024, April's report open.
    app = create_app(settings, clock=Clock())
    engine = app.state.portal.sessions.kw["bind"]
    # Each worker thread can hold a connection: none waits on the pool while others run.
    assert engine.pool.size() == WORKER_THREADS and engine.pool._max_overflow == SPARE_CONNECTIONS
    tokens = {unit: new_token(loaded, unit) for unit in ("xa-mot", "xa-hai")}
    before = stored(loaded)["submissions"]
    server = _Server(app)
    try:
        statuses = asyncio.run(_burst(server.start(), tokens))
    finally:
        server.stop()
        engine.dispose()
    assert statuses == [201] * OFFICERS
    assert stored(loaded)["submissions"] == before + OFFICERS
