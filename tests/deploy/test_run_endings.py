"""Every run of a scheduled flow ends in a true state and the admin hears of a failure once:
with a real Prefect server (PostgreSQL, API authentication), `dondoc deploy` and process
workers that are stopped, or killed, in the middle of a compilation; and the same server
keeps the schedules of two plans side by side (2024 and 2025) when they are registered.

Slow (one server for the module, workers started and stopped, a heartbeat timeout): a few
minutes in all.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pendulum
import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from demo.sinks.mail import Mail, SmtpServer
from deploy.automations import ALERT_AUTOMATION, ZOMBIE_AUTOMATION, alert_deployment
from deploy.deployments import build_deployments
from deploy.register import ensure_process_pool, register
from deploy.server import free_port, wait_healthy
from models.calendar import load_calendar
from models.db import make_engine, session_factory
from models.migrate import upgrade
from plan_sync.sync import load_plan
from plans import CAO_LOC_2024
from plans.loader import parse_plan, read_plan
from schedules.calendar import VN_TZ
from tests.deploy.test_worker import PG_ADMIN_URL, POOL, seed_dondoc
from tests.support.processes import BIN, base_env, group_alive, log_tail, stop_group

# Not `serial`: it stops and kills only its own stack's processes, and its windows are a run's
# heartbeats (90 s), which a core shared with one other test file does not miss. Most of its
# time is waiting for them, so it runs beside the other slow files.
pytestmark = [pytest.mark.postgres, pytest.mark.slow]

ADMIN = "quan-tri@ubnd-cao-loc.example"
AUTH = "dondoc-admin:Xq7-test-auth-4410"
HEARTBEAT = 30  # Prefect's smallest heartbeat period


class HoldingSmtp(SmtpServer):
    """The SMTP server, holding every mail not addressed to the admin while `holding` is set:
    a compilation sending its report is then stuck in the middle of its run."""

    def __init__(self) -> None:
        super().__init__()
        self.holding = threading.Event()
        self.held = threading.Event()  # a sender is being held right now

    def start(self) -> None:
        super().start()
        assert self._controller is not None
        inner = self._controller.handler

        box = self

        class Holding:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                while box.holding.is_set() and ADMIN not in envelope.rcpt_tos:
                    box.held.set()
                    await asyncio.sleep(0.2)
                return str(await inner.handle_DATA(server, session, envelope))

        self._controller.handler = Holding()  # each new connection gets it

    def admin_mails(self) -> list[Mail]:
        return [m for m in self.received() if ADMIN in m.rcpt_tos]


@dataclass
class Stack:
    """The running server, its clients' environment, the mail server and the workers."""

    api_url: str
    env: dict[str, str]
    logs: Path
    smtp: HoldingSmtp
    tmp: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    worker: subprocess.Popen[bytes] | None = None

    def spawn(self, argv: list[str], log: str) -> subprocess.Popen[bytes]:
        with (self.logs / log).open("ab") as out:
            process = subprocess.Popen(
                argv,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.logs,
                start_new_session=True,
            )
        self.processes.append(process)
        return process

    def start_worker(self) -> subprocess.Popen[bytes]:
        self.worker = self.spawn(
            [str(BIN / "prefect"), "worker", "start", "--pool", POOL, "--type", "process"],
            "worker.log",
        )
        return self.worker

    def client(self, auth: bool = True) -> httpx.Client:
        return httpx.Client(
            base_url=self.api_url, timeout=30, auth=tuple(AUTH.split(":", 1)) if auth else None
        )

    def start_run(
        self,
        deployment: str,
        parameters: dict[str, Any],
        job_variables: dict[str, Any] | None = None,
    ) -> httpx.Response:
        flow, name = deployment.split("/")
        with self.client() as client:
            found = client.get(f"/deployments/name/{flow}/{name}")
            found.raise_for_status()
            return client.post(
                f"/deployments/{found.json()['id']}/create_flow_run",
                json={"parameters": parameters, "job_variables": job_variables or {}},
            )

    def run(self, deployment: str, parameters: dict[str, Any]) -> str:
        response = self.start_run(deployment, parameters)
        response.raise_for_status()
        return str(response.json()["id"])

    def state(self, run_id: str) -> str | None:
        with self.client() as client:
            state = client.get(f"/flow_runs/{run_id}").json().get("state")
        return state and state["type"]

    def wait_state(self, run_id: str, wanted: set[str], timeout: float) -> str:
        state = wait_for(lambda: (s := self.state(run_id)) in wanted and s, timeout)
        assert state, f"run {run_id} is {self.state(run_id)}\n{log_tail(self.logs / 'worker.log')}"
        return str(state)

    def flow_runs(self, flow: str) -> list[dict[str, Any]]:
        with self.client() as client:
            body = {"flows": {"name": {"any_": [flow]}}}
            return list(client.post("/flow_runs/filter", json=body).json())


def wait_for(check: Callable[[], Any], timeout: float, every: float = 1) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        if value := check():
            return value
        if time.monotonic() > deadline:
            return value
        time.sleep(every)


def dondoc_deploy(stack: Stack) -> str:
    done = subprocess.run(
        [str(BIN / "dondoc"), "deploy", "--pool", POOL],
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=stack.logs,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    pause_deployments(stack)
    return done.stdout


def pause_deployments(stack: Stack) -> None:
    """No scheduled run (the inbox every 5 minutes, the daily check) may mix into what the
    tests start and watch: the deployments are paused, their runs started here by hand."""
    with stack.client() as client:
        for deployment in client.post("/deployments/filter", json={}).json():
            client.patch(
                f"/deployments/{deployment['id']}", json={"paused": True}
            ).raise_for_status()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("run-endings")
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"prefect_test_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"PostgreSQL is not reachable: {exc}")
    prefect_db = admin.url.set(drivername="postgresql+asyncpg", database=name)
    dondoc_url = f"sqlite:///{tmp / 'dondoc.sqlite3'}"
    seed_dondoc(dondoc_url, tmp / "var")
    smtp = HoldingSmtp()
    smtp.start()
    port = free_port()
    env = base_env(tmp)
    env.update(
        PREFECT_API_URL=f"http://127.0.0.1:{port}/api",
        PREFECT_API_AUTH_STRING=AUTH,
        PREFECT_WORKER_QUERY_SECONDS="2",
        PREFECT_FLOWS_HEARTBEAT_FREQUENCY=str(HEARTBEAT),
        DONDOC_DATABASE_URL=dondoc_url,
        DONDOC_DATA_DIR=str(tmp / "var"),
        DONDOC_ADMIN_EMAIL=ADMIN,
        DONDOC_SMTP__HOST=smtp.host,
        DONDOC_SMTP__PORT=str(smtp.port),
        DONDOC_SMTP__SENDER="dondoc@ubnd-cao-loc.example",
    )
    logs = tmp / "logs"
    logs.mkdir()
    stack = Stack(api_url=env["PREFECT_API_URL"], env=env, logs=logs, smtp=smtp, tmp=tmp)
    server_env = dict(
        env,
        PREFECT_API_DATABASE_CONNECTION_URL=prefect_db.render_as_string(hide_password=False),
        PREFECT_SERVER_API_AUTH_STRING=AUTH,
    )
    del server_env["PREFECT_API_URL"]
    try:
        stack.env, server = server_env, None
        server = stack.spawn(
            [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            "server.log",
        )
        stack.env = env
        try:
            wait_healthy(stack.api_url, 120, server)
        except RuntimeError:
            pytest.fail(f"the server did not start:\n{log_tail(logs / 'server.log')}")
        dondoc_deploy(stack)
        stack.start_worker()
        yield stack
    finally:
        stack.smtp.holding.clear()
        for process in reversed(stack.processes):
            stop_group(process)
        smtp.stop()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_deploy_again_duplicates_nothing_and_the_api_asks_for_credentials(stack: Stack) -> None:
    out = dondoc_deploy(stack)
    assert f"Automation đã có, đã cập nhật: {ZOMBIE_AUTOMATION}" in out
    with stack.client() as client:
        automations = client.post("/automations/filter", json={}).json()
        pool = client.get(f"/work_pools/{POOL}").json()
    names = sorted(a["name"] for a in automations)
    assert names == sorted([ZOMBIE_AUTOMATION, ALERT_AUTOMATION])
    variables = pool["base_job_template"]["variables"]["properties"]
    assert "env" not in variables and "command" not in variables
    with stack.client(auth=False) as client:
        assert client.post("/flow_runs/filter", json={}).status_code == 401


def test_a_failing_scheduled_compilation_alerts_the_admin_once(stack: Stack) -> None:
    blocker = stack.tmp / "not-a-folder"
    blocker.write_text("a file where the reports folder should be", encoding="utf-8")
    before = len(stack.smtp.admin_mails())
    run_id = stack.run(
        "compile-report/scheduled",
        {"period": "2024-Q1", "send": True, "out_dir": str(blocker / "2024-Q1")},
    )
    assert stack.wait_state(run_id, {"FAILED", "COMPLETED", "CRASHED"}, 180) == "FAILED"
    mails = wait_for(lambda: stack.smtp.admin_mails()[before:], 30)
    time.sleep(10)  # a second alert, were there one, would come by now
    [alert] = stack.smtp.admin_mails()[before:]
    assert mails == [alert]
    assert alert.message["Subject"] == "[dondoc] Lỗi: lượt tổng hợp báo cáo không hoàn thành"
    assert run_id in alert.text and "đã thất bại" in alert.text
    # The next compilation that completes ends the flow's outage: one mail says so.
    completed_compilation(stack)
    assert wait_for(lambda: len(stack.smtp.admin_mails()[before:]) == 2, 30)
    over = stack.smtp.admin_mails()[-1]
    assert over.message["Subject"] == "[dondoc] Đã hoạt động trở lại: lượt tổng hợp báo cáo"
    assert "1 lượt chạy đã thất bại" in over.text


def completed_compilation(stack: Stack) -> None:
    """A compilation that completes: it ends the flow's outage, if one is open, so the next
    failure is a new outage (and mails the admin)."""
    run_id = stack.run(
        "compile-report/adhoc",
        {"period": "2024-Q1", "send": False, "formats": ["json"], "out_dir": str(stack.tmp / "ok")},
    )
    assert stack.wait_state(run_id, {"FAILED", "COMPLETED", "CRASHED"}, 180) == "COMPLETED"


def test_job_variables_cannot_point_the_mail_elsewhere(stack: Stack) -> None:
    evil = {"DONDOC_SMTP__HOST": "smtp.evil.invalid", "DONDOC_ADMIN_EMAIL": "x@evil.invalid"}
    before = len(stack.smtp.received())
    response = stack.start_run(
        "compile-report/adhoc",
        {"period": "2024-Q1", "send": True, "formats": ["json"]},
        job_variables={"env": evil},
    )
    response.raise_for_status()  # accepted, and ignored by the worker (the locked template)
    run_id = str(response.json()["id"])
    assert response.json()["job_variables"] == {"env": evil}  # what the run asks for
    assert stack.wait_state(run_id, {"FAILED", "COMPLETED", "CRASHED"}, 180) == "COMPLETED"
    sent = stack.smtp.received()[before:]
    assert sent and all(m.rcpt_tos != ("x@evil.invalid",) for m in sent)


def stuck_compilation(stack: Stack) -> str:
    """A compilation held in the middle of sending its report."""
    stack.smtp.held.clear()
    stack.smtp.holding.set()
    run_id = stack.run(
        "compile-report/adhoc",
        {"period": "2024-Q1", "send": True, "formats": ["json"], "out_dir": str(stack.tmp / "r")},
    )
    assert stack.smtp.held.wait(180), log_tail(stack.logs / "worker.log")
    assert stack.state(run_id) == "RUNNING"
    return run_id


def alerts_about(stack: Stack, run_id: str) -> list[Mail]:
    return [m for m in stack.smtp.admin_mails() if run_id in m.text]


def test_a_worker_stopped_mid_run_leaves_a_true_state_and_one_alert(stack: Stack) -> None:
    completed_compilation(stack)
    run_id = stuck_compilation(stack)
    worker = stack.worker
    assert worker is not None
    # As systemd stops the unit (KillMode=mixed): SIGTERM to the worker alone. It stops its
    # flow processes and exits; the run ends Crashed (the heartbeat automation, at the latest).
    os.kill(worker.pid, signal.SIGTERM)
    stack.smtp.holding.clear()
    try:
        worker.wait(60)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the worker did not stop:\n{log_tail(stack.logs / 'worker.log')}")
    state = stack.wait_state(
        run_id, {"CRASHED", "COMPLETED", "FAILED", "CANCELLED"}, HEARTBEAT * 3 + 90
    )
    stack.start_worker()  # systemd's Restart=always; it also runs the alert flow
    if state == "COMPLETED":
        time.sleep(15)
        assert alerts_about(stack, run_id) == []
        return
    assert state == "CRASHED", state
    assert wait_for(lambda: alerts_about(stack, run_id), 120)
    wait_for(lambda: all_alert_runs_done(stack), 120)
    [alert] = alerts_about(stack, run_id)
    assert "bị dừng giữa chừng" in alert.text


def all_alert_runs_done(stack: Stack) -> bool:
    runs = stack.flow_runs("alert-admin")
    return bool(runs) and all(r["state"]["type"] == "COMPLETED" for r in runs)


def test_a_killed_worker_s_run_is_marked_crashed_and_alerted_once(stack: Stack) -> None:
    completed_compilation(stack)  # the previous test's crash was an outage: it is over
    run_id = stuck_compilation(stack)
    worker = stack.worker
    assert worker is not None
    os.killpg(worker.pid, signal.SIGKILL)  # the worker and the flow's process: power cut
    worker.wait(10)
    assert not group_alive(worker.pid)
    stack.smtp.holding.clear()
    stack.start_worker()
    assert stack.state(run_id) == "RUNNING"  # nobody is left to say otherwise, but heartbeats
    state = stack.wait_state(run_id, {"CRASHED"}, HEARTBEAT * 3 + 90)
    assert state == "CRASHED"
    assert wait_for(lambda: alerts_about(stack, run_id), 120), log_tail(stack.logs / "worker.log")
    time.sleep(10)
    [alert] = alerts_about(stack, run_id)
    assert "bị dừng giữa chừng" in alert.text, alert.text


PLAN_2025 = Path(__file__).parents[1] / "data" / "plans" / "mini-2025.yaml"
SAMPLE_2024 = "cao-loc-2024-ldtbxh"
# What is left of the sample plan on 10/12/2024: December (due Tue 17/12), then Q4 and the
# year report after the department's last report (due Wed 18/12).
LEFT_OF_2024 = {
    "2024-12": date(2024, 12, 18),
    "2024-Q4": date(2024, 12, 19),
    "2024": date(2024, 12, 19),
}
# The 2025 plan's months (dd/mm): each due 2 working days after the 14th, compiled the
# next working day; the year report with December.
MONTHS_2025 = "17/01 19/02 19/03 17/04 19/05 18/06 17/07 19/08 17/09 17/10 19/11 17/12"
# Due 8 working days after the 14th instead: January's report falls due on Fri 24/01/2025,
# on the eve of Tết (25/01-02/02), and is compiled on Mon 03/02.
MOVED_MONTHS_2025 = "03/02 27/02 27/03 25/04 27/05 26/06 25/07 27/08 25/09 27/10 27/11 25/12"


def months_2025(days: str) -> dict[str, date]:
    """Each 2025 month's compilation day, from its "dd/mm" in month order."""
    parsed = [
        date(2025, int(month), int(day)) for day, month in (d.split("/") for d in days.split())
    ]
    return {f"2025-{m:02d}": day for m, day in enumerate(parsed, start=1)}


def compilations(plan_code: str, days: dict[str, date]) -> dict[str, tuple[date, dict[str, Any]]]:
    """The schedules expected of a plan: by slug, the day and the run's parameters."""
    return {
        f"compile-{plan_code}-{period}": (
            day,
            {"period": period, "send": True, "plan_code": plan_code},
        )
        for period, day in days.items()
    }


def load(engine: Engine, plan_text: str | None, loaded_on: date) -> None:
    """Load a plan (the sample plan when no text is given), as `dondoc init --plan` does."""
    plan = read_plan(CAO_LOC_2024) if plan_text is None else parse_plan(plan_text)
    loaded_at = pendulum.datetime(loaded_on.year, loaded_on.month, loaded_on.day, 9, tz=VN_TZ)
    with session_factory(engine).begin() as session:
        load_plan(plan, session=session, now=loaded_at)


def deploy_on(stack: Stack, engine: Engine, today: date) -> None:
    """Register what `dondoc deploy` registers (cli/deploy.py), its clock reading `today`."""
    from prefect.settings import PREFECT_API_AUTH_STRING, PREFECT_API_URL, temporary_settings
    from prefect.types.entrypoint import EntrypointType

    with Session(engine) as session:
        deployments = build_deployments(
            session=session,
            calendar=load_calendar(session=session),
            today=today,
            entrypoint_type=EntrypointType.MODULE_PATH,
        )
    alerting = alert_deployment(EntrypointType.MODULE_PATH)
    with temporary_settings({PREFECT_API_URL: stack.api_url, PREFECT_API_AUTH_STRING: AUTH}):
        assert not ensure_process_pool(POOL)  # created by the stack's own `dondoc deploy`
        register([*deployments, alerting], pool=POOL)
    pause_deployments(stack)  # `apply` unpauses; the other tests want no scheduled run


def scheduled_compilations(stack: Stack) -> dict[str, tuple[date, dict[str, Any]]]:
    """compile-report/scheduled's schedules as the server holds them: by slug, the day it
    runs (08:00 Vietnamese time, once) and its parameters."""
    with stack.client() as client:
        found = client.get("/deployments/name/compile-report/scheduled")
    found.raise_for_status()
    schedules: dict[str, tuple[date, dict[str, Any]]] = {}
    for stored in found.json()["schedules"]:
        assert stored["active"] and stored["schedule"]["timezone"] == "Asia/Ho_Chi_Minh"
        once = re.fullmatch(
            r"DTSTART:(\d{8})T080000\nRRULE:FREQ=DAILY;COUNT=1", stored["schedule"]["rrule"]
        )
        assert once, stored["schedule"]
        assert stored["slug"] not in schedules, f"two schedules {stored['slug']}"
        day = date.fromisoformat(once[1])  # basic ISO form, 20241218
        schedules[stored["slug"]] = (day, stored["parameters"])
    return schedules


def test_two_plans_keep_last_years_year_report_and_next_years_schedules(
    stack: Stack, tmp_path: Path
) -> None:
    """With the sample 2024 plan and a 2025 plan loaded, deploying on 10/12/2024 keeps what is
    left of 2024 (December, Q4, the year report) beside 2025's compilations; a moved 2025
    deadline moves its schedules and keeps 2024's.

    `dondoc deploy` reads the clock and cannot be told the date, so this calls the functions
    it calls (build_deployments, ensure_process_pool, register) with today = 10/12/2024.
    """
    engine = make_engine(f"sqlite:///{tmp_path / 'plans.sqlite3'}")
    upgrade(engine)
    load(engine, None, date(2024, 1, 26))
    plan_2025 = PLAN_2025.read_text(encoding="utf-8")
    load(engine, plan_2025, date(2024, 12, 2))
    kept_2024 = compilations(SAMPLE_2024, LEFT_OF_2024)
    first_2025 = compilations("mini-2025", {**months_2025(MONTHS_2025), "2025": date(2025, 12, 17)})

    deploy_on(stack, engine, date(2024, 12, 10))
    assert scheduled_compilations(stack) == {**kept_2024, **first_2025}

    moved = plan_2025.replace(
        "deadline: {kind: working_days_after, n: 2}", "deadline: {kind: working_days_after, n: 8}"
    )
    assert moved != plan_2025
    load(engine, moved, date(2024, 12, 9))
    deploy_on(stack, engine, date(2024, 12, 10))
    moved_2025 = {**months_2025(MOVED_MONTHS_2025), "2025": date(2025, 12, 25)}
    after = scheduled_compilations(stack)
    assert after == {**kept_2024, **compilations("mini-2025", moved_2025)}
    with Session(engine) as session:
        calendar = load_calendar(session=session)
    assert all(calendar.is_working_day(day) for day, _ in after.values())
    engine.dispose()
