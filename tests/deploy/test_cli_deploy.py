"""`dondoc deploy` refuses clearly when there is no Prefect server to register with."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from deploy.server import free_port
from tests.support.processes import BIN, base_env

pytestmark = pytest.mark.slow  # subprocesses: `dondoc deploy` runs as a process


def _deploy(
    tmp_path: Path, *args: str, api_url: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = base_env(tmp_path)
    env["DONDOC_DATABASE_URL"] = f"sqlite:///{tmp_path / 'dondoc.sqlite3'}"
    if api_url:
        env["PREFECT_API_URL"] = api_url
    return subprocess.run(
        [str(BIN / "dondoc"), "deploy", *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_deploy_needs_a_server(tmp_path: Path) -> None:
    done = _deploy(tmp_path)
    assert done.returncode == 1
    assert "chưa đặt PREFECT_API_URL" in done.stderr and "dondoc serve" in done.stderr
    assert "Traceback" not in done.stderr


def test_deploy_waits_then_says_the_server_is_down(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/api"
    done = _deploy(tmp_path, "--wait", "2", api_url=url)
    assert done.returncode == 1
    assert f"máy chủ Prefect tại {url} không trả lời trong 2 giây" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "dondoc.sqlite3").exists()  # nothing written


def test_deploy_refuses_an_api_off_this_machine_without_its_login(tmp_path: Path) -> None:
    url = "http://prefect.ubnd.example:4200/api"  # never asked: refused before any request
    done = _deploy(tmp_path, api_url=url)
    assert done.returncode == 1
    assert f"máy chủ Prefect {url} không nằm trên máy này" in done.stderr
    assert "PREFECT_SERVER_API_AUTH_STRING" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "dondoc.sqlite3").exists()  # nothing written


def test_deploy_reads_the_api_from_the_homes_env_file(tmp_path: Path) -> None:
    """PREFECT_API_URL in the home's .env only, `dondoc deploy` run in another directory."""
    home, elsewhere = tmp_path / "home", tmp_path / "elsewhere"
    home.mkdir()
    elsewhere.mkdir()
    url = f"http://127.0.0.1:{free_port()}/api"
    (home / ".env").write_text(f"PREFECT_API_URL={url}\n", encoding="utf-8")
    env = base_env(tmp_path) | {"DONDOC_HOME": str(home)}
    env.pop("PREFECT_API_URL", None)
    done = subprocess.run(
        [str(BIN / "dondoc"), "deploy", "--wait", "2"],
        env=env,
        cwd=elsewhere,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert f"máy chủ Prefect tại {url} không trả lời trong 2 giây" in done.stderr
