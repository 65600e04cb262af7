"""The dashboard (/tinh-hinh) and a unit page (/don-vi/<code>) at province scale, as the office
opens them: p50 and p99 of each page asked again and again (warm), and of the first answer
after a submission was stored, on a fresh connection with the portal's name caches empty
(cold), with one hand-written SQL statement counting the same year as the same-run baseline.

Requests go through the whole application (routing, sign-in cookie, scope, queries,
templates) in-process (Starlette's TestClient), one at a time: the time is the portal's.
"""

from __future__ import annotations

import os
import re
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import Engine, text

from models.acceptance import refresh_first_acceptance
from models.db import transaction
from portal.app import create_app
from settings import Settings
from status.dashboard import folded, name_key

OBLIGATION = "bc-thang-xa"
ADMIN_SECRET = "benchmark-admin-secret-" + "x" * 24
GOAL_MS = 300.0
UNIT = "xa-{:05d}"

# What the database alone needs for the year's counts (no reliefs in the synthetic data),
# from each item's stored first acceptance as the dashboard reads it.
BASELINE_SQL = text(
    """
    SELECT d.period_label,
           CASE WHEN (d.first_accepted_at IS NULL OR d.first_accepted_at > :as_of)
                     AND :as_of > d.deadline_at THEN 'overdue'
                WHEN d.first_accepted_at IS NULL OR d.first_accepted_at > :as_of THEN 'not_due'
                WHEN d.first_accepted_at <= d.deadline_at THEN 'on_time'
                ELSE 'late' END AS state,
           COUNT(*)
    FROM due_items d
    JOIN obligations o ON o.id = d.obligation_id
    WHERE o.code = :obligation AND d.withdrawn_at IS NULL
    GROUP BY 1, 2
    """
)


def pages(communes: int) -> dict[str, str]:
    """The addresses measured: the first page, a filtered one, a search, a unit page."""
    year = f"/tinh-hinh?nguon=bc:{OBLIGATION}&nam=2024"
    return {
        "dashboard_first": year,
        "dashboard_filtered": f"{year}&ky=2024-05&tinh-trang=late&loai=commune",
        "dashboard_search": f"{year}&tim=xa+{max(communes // 10, 1):04d}",
        "unit_page": "/don-vi/" + UNIT.format(max(communes // 2, 1)),
    }


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def _signed_in(client: TestClient) -> None:
    page = client.get("/login")
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found is not None, page.text
    form = {"csrf": found.group(1), "token": ADMIN_SECRET, "next": "/"}
    answer = client.post("/login", data=form, follow_redirects=False)
    if answer.status_code != 303:
        raise RuntimeError(f"the benchmark could not sign in: {answer.status_code}")


def _timed(call: Callable[[], Any]) -> tuple[float, Any]:
    """(milliseconds, result) of one call."""
    start = time.perf_counter()
    result = call()
    return (time.perf_counter() - start) * 1000, result


def run(
    engine: Engine, as_of: datetime, *, communes: int, warm: int = 30, cold: int = 3
) -> dict[str, Any]:
    """p50/p99 (ms) of each page warm, the median cold answer, and the SQL baseline."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            _env_file=None,
            database_url=engine.url.render_as_string(hide_password=False),
            data_dir=Path(tmp),
            admin_token=SecretStr(ADMIN_SECRET),
        )
        app = create_app(settings, engine=engine, clock=lambda: as_of)
        with TestClient(app, base_url="http://127.0.0.1:8000", follow_redirects=False) as client:
            _signed_in(client)
            measured = {
                name: _measure(client, engine, path, warm, cold)
                for name, path in pages(communes).items()
            }
    baseline_ms = _baseline(engine, as_of, cold)
    worst = max(max(m["p99_ms"], m["cold_max_ms"]) for m in measured.values())
    return {
        "load_average": os.getloadavg(),  # the machine is shared: read the times with it
        "benchmark": "desk",
        "title": "dashboard and unit page, one request at a time",
        "pages": measured,
        "baseline_ms": baseline_ms,
        "cold_ratio": measured["dashboard_first"]["cold_ms"] / baseline_ms,
        "goal": f"warm and cold p99 <= {GOAL_MS:.0f} ms on every page",
        "met": worst <= GOAL_MS,
    }


def _measure(client: TestClient, engine: Engine, path: str, warm: int, cold: int) -> dict[str, Any]:
    colds = []
    status = 0
    for _ in range(cold):
        _after_a_submission(engine)
        ms, response = _timed(lambda: client.get(path))
        colds.append(ms)
        status = response.status_code
    if status != 200:
        raise AssertionError(f"{path} answered {status}")
    warms = [_timed(lambda: client.get(path))[0] for _ in range(warm)]
    return {
        "path": path,
        "status": status,
        "cold_ms": statistics.median(colds),
        "cold_max_ms": max(colds),
        "p50_ms": _percentile(warms, 50),
        "p99_ms": _percentile(warms, 99),
    }


def _after_a_submission(engine: Engine) -> None:
    """What a stored submission leaves behind for the next page: the item rewritten in a
    committed transaction, new connections, and (as in a portal just restarted) no name's
    collation key or accent-free form kept in memory."""
    with transaction(engine) as session:
        first = session.scalar(text("SELECT MIN(item_id) FROM submissions"))
        refresh_first_acceptance([first], session=session)
    engine.dispose()
    name_key.cache_clear()
    folded.cache_clear()


def _baseline(engine: Engine, as_of: datetime, repeat: int) -> float:
    utc = datetime.fromtimestamp(as_of.timestamp(), UTC)
    # SQLite keeps instants as naive UTC text (models.base.UTCDateTime); compare like for like.
    param: object = utc if engine.dialect.name != "sqlite" else f"{utc:%Y-%m-%d %H:%M:%S.%f}"
    times = []
    with engine.connect() as conn:
        for _ in range(repeat + 1):
            ms, _ = _timed(
                lambda: conn.execute(BASELINE_SQL, {"as_of": param, "obligation": OBLIGATION}).all()
            )
            times.append(ms)
    return statistics.median(times[1:])
