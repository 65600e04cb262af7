"""`dondoc serve` for real: it starts its own Prefect server, serves every deployment with the
plan's schedules in Vietnamese time, and Ctrl-C stops it and the server it started."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import httpx
import pendulum
import pytest

from deploy.server import free_port, wait_healthy
from models.db import make_engine, session_factory
from models.migrate import upgrade
from plan_sync.sync import load_plan
from plans import CAO_LOC_2024
from plans.loader import parse_plan, read_plan
from schedules.calendar import VN_TZ
from tests.support.processes import BIN, Spawn, base_env, group_alive, log_tail

MINI = Path(__file__).parents[1] / "data" / "mini-plan.yaml"
# slow, serial: processes: `dondoc serve` and the Prefect server it starts
pytestmark = [pytest.mark.slow, pytest.mark.serial]

EXPECTED = {
    "check-and-escalate/daily",
    "collect-submissions/inbox",
    "compile-report/scheduled",
    "compile-report/adhoc",
    "alert-admin/crashed-run",
}


def _server_pids(port: int) -> list[int]:
    """Processes whose command line is a Prefect server on `port` (read from /proc)."""
    pids = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            argv = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue  # the process ended while we looked
        if b"server" in argv and b"start" in argv and str(port).encode() in argv:
            pids.append(int(cmdline.parent.name))
    return pids


def _deployments(api_url: str) -> dict[str, dict]:  # type: ignore[type-arg]
    with httpx.Client(base_url=api_url, timeout=10) as client:
        flows = {f["id"]: f["name"] for f in client.post("/flows/filter", json={}).json()}
        return {
            f"{flows.get(d['flow_id'], '?')}/{d['name']}": d
            for d in client.post("/deployments/filter", json={}).json()
        }


def test_serve_registers_schedules_and_stops_on_ctrl_c(tmp_path: Path, spawn: Spawn) -> None:
    url = f"sqlite:///{tmp_path / 'dondoc.sqlite3'}"
    engine = make_engine(url)
    upgrade(engine)
    # The 2024 sample, whose year is over, beside a plan of next year: only the open plan is
    # scheduled (the sample's dates: tests/deploy/test_plan_years.py).
    next_year = pendulum.now(VN_TZ).year + 1
    upcoming = MINI.read_text(encoding="utf-8").replace("mini-2024", f"mini-{next_year}")
    upcoming = upcoming.replace("year: 2024", f"year: {next_year}")
    upcoming = upcoming.replace("due_on: 2024-", f"due_on: {next_year}-")
    with session_factory(engine).begin() as session:
        load_plan(
            read_plan(CAO_LOC_2024), session=session, now=pendulum.datetime(2024, 1, 26, tz=VN_TZ)
        )
        load_plan(parse_plan(upcoming), session=session, now=pendulum.now(VN_TZ))
    engine.dispose()

    port = free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    env = base_env(tmp_path)  # no PREFECT_API_URL: serve must start its own server
    env.update(DONDOC_DATABASE_URL=url, DONDOC_DATA_DIR=str(tmp_path / "var"))
    log = tmp_path / "serve.log"
    serve = spawn([str(BIN / "dondoc"), "serve", "--port", str(port)], env, log)
    try:
        wait_healthy(api_url, 90, serve)
        deadline = time.monotonic() + 90
        deployments: dict[str, dict] = {}  # type: ignore[type-arg]
        while time.monotonic() < deadline and set(deployments) != EXPECTED:
            assert serve.poll() is None, log_tail(log)
            time.sleep(1)
            deployments = _deployments(api_url)
        assert set(deployments) == EXPECTED, log_tail(log)
    except (RuntimeError, AssertionError) as exc:
        raise AssertionError(f"{exc}\n{log_tail(log)}") from None

    daily = deployments["check-and-escalate/daily"]["schedules"]
    assert [(s["schedule"]["cron"], s["schedule"]["timezone"], s["active"]) for s in daily] == [
        ("45 7-16 * * *", "Asia/Ho_Chi_Minh", True)
    ]
    inbox = deployments["collect-submissions/inbox"]["schedules"]
    assert [(s["schedule"]["cron"], s["schedule"]["timezone"]) for s in inbox] == [
        ("*/5 * * * *", "Asia/Ho_Chi_Minh")
    ]
    scheduled = {
        (s["parameters"]["plan_code"], s["parameters"]["period"]): s["schedule"]
        for s in deployments["compile-report/scheduled"]["schedules"]
    }
    assert set(scheduled) == {
        *((f"mini-{next_year}", f"{next_year}-{m:02d}") for m in range(1, 13)),
        (f"mini-{next_year}", str(next_year)),
    }
    assert {s["timezone"] for s in scheduled.values()} == {"Asia/Ho_Chi_Minh"}
    said = " ".join(log.read_text(encoding="utf-8").split())
    assert "Kế hoạch cao-loc-2024-ldtbxh (năm 2024): không còn lịch tổng hợp nào." in said
    assert deployments["compile-report/adhoc"]["schedules"] == []

    # Ctrl-C: serve stops, and so does the server it started.
    assert _server_pids(port), "the local Prefect server should be running"
    serve.send_signal(signal.SIGINT)
    try:
        code = serve.wait(timeout=60)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"dondoc serve did not stop on SIGINT:\n{log_tail(log)}") from None
    assert code == 0, log_tail(log)
    assert _server_pids(port) == []
    assert not group_alive(serve.pid)
    try:
        httpx.get(f"{api_url}/health", timeout=2)
    except httpx.TransportError:
        pass
    else:
        raise AssertionError("the Prefect server still answers after Ctrl-C")
