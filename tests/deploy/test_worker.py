"""The production shape, for real: Prefect server on PostgreSQL, a process worker, deployments
from `dondoc deploy` and prefect.yaml, and an ad-hoc compilation triggered the documented way.

Slow (a server, a worker and a flow run in a subprocess: about a minute), so there is one test.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pendulum
import pytest
from docx import Document
from sqlalchemy import create_engine, text

from access.actor import Actor
from deploy.server import free_port, wait_healthy
from intake.address import ItemAddress
from intake.store import SubmitRequest, submit
from models.access import Role
from models.db import make_engine, session_factory
from models.migrate import upgrade
from plan_sync.sync import load_plan
from plans import CAO_LOC_2024
from plans.loader import read_plan
from schedules.calendar import VN_TZ
from submissions.content import RawSubmission
from tests.support.processes import BIN, Spawn, base_env, group_alive, log_tail, stop_group

# slow: processes (a Prefect server, a worker and the flow runs it starts)
pytestmark = [pytest.mark.postgres, pytest.mark.slow]

PG_ADMIN_URL = os.environ.get(
    "DONDOC_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
POOL = "dondoc-pool"
ROOT = Path(__file__).resolve().parents[2]
# What three communes report for the first quarter: the compiled total must be their sum.
COMMUNE_JOBS = {"xa-bao-lam": 12, "xa-gia-cat": 30, "tt-dong-dang": 7}


@pytest.fixture
def prefect_pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for the Prefect server's own data, dropped afterwards."""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            name = f"prefect_test_{uuid.uuid4().hex[:10]}"
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"PostgreSQL is not reachable: {exc}")
    url = admin.url.set(drivername="postgresql+asyncpg", database=name)
    yield url.render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def seed_dondoc(url: str, data_dir: Path) -> None:
    """The Cao Lộc plan and a few first-quarter reports, stored through the real intake."""
    engine = make_engine(url)
    upgrade(engine)
    loaded_at = pendulum.datetime(2024, 1, 26, 8, tz=VN_TZ)
    with session_factory(engine).begin() as session:
        load_plan(read_plan(CAO_LOC_2024), session=session, now=loaded_at)
    for n, (unit, jobs) in enumerate(COMMUNE_JOBS.items()):
        submit(
            session_factory(engine),
            SubmitRequest(
                address=ItemAddress(unit=unit, source="bc-quy-xa-thi-tran", period="2024-Q1"),
                actor=Actor(role=Role.ADMIN, label="test:seed"),
                channel="api",
                raw=RawSubmission(
                    values={"viec-lam-moi": jobs},
                    narrative={"Kết quả thực hiện": f"Giải quyết việc làm cho {jobs} lao động."},
                ),
            ),
            now=pendulum.datetime(2024, 3, 15, 9 + n, tz=VN_TZ),
            data_dir=data_dir,
            max_attachment_bytes=1024 * 1024,
        )
    engine.dispose()


def run(argv: list[str], env: dict[str, str], log: Path, timeout: float = 180) -> str:
    """Run a command to its end from the log's folder (not the repository: the installed
    package is what must work)."""
    done = subprocess.run(
        argv, env=env, capture_output=True, text=True, timeout=timeout, cwd=log.parent
    )
    output = done.stdout + done.stderr
    log.write_text(output, encoding="utf-8")
    assert done.returncode == 0, f"{' '.join(argv)} failed:\n{output[-4000:]}"
    return output


def test_worker_runs_the_adhoc_compilation(
    tmp_path: Path, prefect_pg_url: str, spawn: Spawn
) -> None:
    dondoc_url = f"sqlite:///{tmp_path / 'dondoc.sqlite3'}"
    data_dir = tmp_path / "var"
    seed_dondoc(dondoc_url, data_dir)

    port = free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    env = base_env(tmp_path)
    env.update(
        PREFECT_API_URL=api_url,
        PREFECT_WORKER_QUERY_SECONDS="2",
        DONDOC_DATABASE_URL=dondoc_url,
        DONDOC_DATA_DIR=str(data_dir),
    )
    server_env = dict(env, PREFECT_API_DATABASE_CONNECTION_URL=prefect_pg_url)
    server_env.pop("PREFECT_API_URL")
    logs = tmp_path / "logs"
    server = spawn(
        [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        server_env,
        logs / "server.log",
    )
    try:
        wait_healthy(api_url, 90, server)
    except RuntimeError:
        pytest.fail(f"the server did not start:\n{log_tail(logs / 'server.log')}")

    # Register: all four with the plan's dates, then the static ones again from prefect.yaml.
    out = run([str(BIN / "dondoc"), "deploy", "--pool", POOL], env, logs / "dondoc-deploy.log")
    assert "Đã tạo work pool dondoc-pool (loại process)." in out
    run(
        [
            str(BIN / "prefect"),
            "--no-prompt",
            "deploy",
            "--all",
            "--prefect-file",
            str(ROOT / "deploy" / "prefect.yaml"),
        ],
        env,
        logs / "prefect-deploy.log",
    )
    deployments = read_deployments(api_url)
    assert set(deployments) == {
        "check-and-escalate/daily",
        "collect-submissions/inbox",
        "compile-report/scheduled",
        "compile-report/adhoc",
    }
    for deployment in deployments.values():
        assert deployment["work_pool_name"] == POOL
        assert deployment["pull_steps"] in ([], None)
    daily = deployments["check-and-escalate/daily"]["schedules"]
    assert [(s["schedule"]["cron"], s["schedule"]["timezone"]) for s in daily] == [
        ("45 7-16 * * *", "Asia/Ho_Chi_Minh")
    ]
    # The 2024 plan's year report was compiled on 19/12/2024: none of its schedules is kept,
    # and `dondoc deploy` says so (its dates as of 2024: tests/deploy/test_plan_years.py).
    assert deployments["compile-report/scheduled"]["schedules"] == []
    assert "Cảnh báo: Kế hoạch cao-loc-2024-ldtbxh (năm 2024) đã hết năm" in " ".join(out.split())
    assert deployments["compile-report/adhoc"]["schedules"] == []

    worker = spawn(
        [str(BIN / "prefect"), "worker", "start", "--pool", POOL, "--type", "process"],
        env,
        logs / "worker.log",
    )
    reports = tmp_path / "reports"
    try:
        run(
            [
                str(BIN / "prefect"),
                "deployment",
                "run",
                "compile-report/adhoc",
                "--param",
                "period=2024-Q1",
                "--param",
                f"out_dir={reports}",
                "--param",
                'formats=["docx", "json"]',
                "--watch",
                "--watch-timeout",
                "240",
            ],
            env,
            logs / "run.log",
            timeout=300,
        )
    except AssertionError as exc:
        raise AssertionError(f"{exc}\nworker log:\n{log_tail(logs / 'worker.log')}") from None
    assert "Completed" in (logs / "run.log").read_text(encoding="utf-8")

    docx_files = sorted(reports.glob("*.docx"))
    json_files = sorted(reports.glob("*.json"))
    assert len(docx_files) == 1 and len(json_files) == 1, sorted(reports.iterdir())
    paragraphs = [p.text for p in Document(str(docx_files[0])).paragraphs]
    assert "BÁO CÁO" in paragraphs
    compiled = json.loads(json_files[0].read_text(encoding="utf-8"))
    assert compiled["period"] == "2024-Q1"
    communes = next(o for o in compiled["obligations"] if o["code"] == "bc-quy-xa-thi-tran")
    received = {u["unit"]: u["period"] for u in communes["units"] if u["received"]}
    assert received == {unit: [jobs] for unit, jobs in COMMUNE_JOBS.items()}
    assert communes["total_period"] == [sum(COMMUNE_JOBS.values())]

    # Everything started here stops: the worker (and any flow run process), then the server.
    for process in (worker, server):
        stop_group(process)
        assert not group_alive(process.pid)


def read_deployments(api_url: str) -> dict[str, dict]:  # type: ignore[type-arg]
    """Every deployment as the API returns it, by "flow/deployment" name."""
    with httpx.Client(base_url=api_url, timeout=30) as client:
        flows = {f["id"]: f["name"] for f in client.post("/flows/filter", json={}).json()}
        return {
            f"{flows[d['flow_id']]}/{d['name']}": d
            for d in client.post("/deployments/filter", json={}).json()
        }
