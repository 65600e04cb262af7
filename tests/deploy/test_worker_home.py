"""A process worker started in another directory runs the flows on dondoc's home: the .env
there, relative paths in it. Its files land exactly where `dondoc compile` run from the home
puts them, a bare year is a period, a bad one is refused before any run starts, and the run's
log says where the files went and when, in Vietnamese time.

Slow (a Prefect server on PostgreSQL, a worker and two flow runs in subprocesses).
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import httpx
import pytest

from deploy.server import free_port, wait_healthy
from tests.deploy.test_worker import (  # the production-shaped harness, shared
    POOL,
    prefect_pg_url,  # noqa: F401  (a fixture)
    run,
    seed_dondoc,
)
from tests.support.processes import BIN, Spawn, base_env, log_tail

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

STAMP = re.compile(r"\b\d{2}/\d{2}/\d{4} \d{2}:\d{2}\b")


def run_deployment(period: str, env: dict[str, str], log: Path, *extra: str) -> None:
    argv = [str(BIN / "prefect"), "deployment", "run", "compile-report/adhoc"]
    argv += ["--param", f"period={period}", "--param", 'formats=["json"]', *extra]
    run([*argv, "--watch", "--watch-timeout", "240"], env, log, timeout=300)
    assert "Completed" in log.read_text(encoding="utf-8"), log.read_text(encoding="utf-8")


def reports_under(home: Path) -> dict[str, dict]:  # type: ignore[type-arg]
    """Every compiled JSON report under the home, by path relative to it."""
    return {
        str(p.relative_to(home)): json.loads(p.read_text(encoding="utf-8"))
        for p in sorted(home.rglob("*.json"))
    }


def test_a_worker_elsewhere_uses_the_homes_settings_and_writes_where_compile_does(
    tmp_path: Path,
    prefect_pg_url: str,  # noqa: F811
    spawn: Spawn,
) -> None:
    home, elsewhere = tmp_path / "home", tmp_path / "elsewhere"
    home.mkdir()
    elsewhere.mkdir()
    # Only the .env knows the database and the data folder, both relative to the home.
    (home / ".env").write_text(
        "DONDOC_DATABASE_URL=sqlite:///dondoc.sqlite3\nDONDOC_DATA_DIR=du-lieu\n", encoding="utf-8"
    )
    seed_dondoc(f"sqlite:///{home / 'dondoc.sqlite3'}", home / "du-lieu")

    port = free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    env = base_env(tmp_path)
    env.update(PREFECT_API_URL=api_url, PREFECT_WORKER_QUERY_SECONDS="2", DONDOC_HOME=str(home))
    server_env = dict(env, PREFECT_API_DATABASE_CONNECTION_URL=prefect_pg_url)
    server_env.pop("PREFECT_API_URL")
    server = spawn(
        [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        server_env,
        tmp_path / "server" / "server.log",
    )
    try:
        wait_healthy(api_url, 90, server)
    except RuntimeError:
        pytest.fail(f"the server did not start:\n{log_tail(tmp_path / 'server' / 'server.log')}")
    run([str(BIN / "dondoc"), "deploy", "--pool", POOL], env, elsewhere / "deploy.log")

    # A bad period is refused when the run is asked for: no run, no worker involved.
    refused = subprocess.run(
        [
            str(BIN / "prefect"),
            "deployment",
            "run",
            "compile-report/adhoc",
            *("--param", "period=2024-Q5"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=elsewhere,
    )
    assert refused.returncode != 0
    assert "2024-Q5" in refused.stdout + refused.stderr
    with httpx.Client(base_url=api_url, timeout=30) as client:
        runs = client.post("/flow_runs/filter", json={}).json()  # the schedules' are there
    assert [r for r in runs if r["parameters"].get("period") == "2024-Q5"] == []

    spawn(
        [str(BIN / "prefect"), "worker", "start", "--pool", POOL, "--type", "process"],
        env,
        elsewhere / "worker.log",  # the worker's working directory: not the home
    )
    try:
        run_deployment("2024", env, elsewhere / "run-2024.log")  # a bare year: the number 2024
        run_deployment("2024-Q1", env, elsewhere / "run-q1.log", "--param", "out_dir=bao-cao")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\nworker log:\n{log_tail(elsewhere / 'worker.log')}") from None
    by_worker = reports_under(home)
    year_dir, q1_dir = home / "du-lieu" / "reports" / "2024", home / "bao-cao"
    assert {str(Path(p).parent) for p in by_worker} == {"du-lieu/reports/2024", "bao-cao"}
    assert {r["period"] for r in by_worker.values()} == {"2024", "2024-Q1"}
    assert not list(elsewhere.rglob("*.json")) and not (elsewhere / "du-lieu").exists()

    with httpx.Client(base_url=api_url, timeout=30) as client:
        logs = [entry["message"] for entry in client.post("/logs/filter", json={}).json()]
    assert any(f"dondoc home {home}," in m for m in logs), logs
    assert any(f"written to {year_dir}: {year_dir}/" in m for m in logs), logs
    assert any(f"written to {q1_dir}: {q1_dir}/" in m for m in logs), logs
    assert any(m.startswith("compiling 2024 as of ") and STAMP.search(m) for m in logs), logs

    # The same compilations from the command line, run in the home with no DONDOC_HOME:
    # the same files in the same places.
    for path in by_worker:
        (home / path).unlink()
    cli_env = {k: v for k, v in env.items() if k != "DONDOC_HOME"}
    dondoc = str(BIN / "dondoc")
    run([dondoc, "compile", "--period", "2024", "--format", "json"], cli_env, home / "a.log")
    run(
        [dondoc, "compile", "--period", "2024-Q1", "--format", "json", "--out", "bao-cao"],
        cli_env,
        home / "b.log",
    )
    assert set(reports_under(home)) == set(by_worker)
