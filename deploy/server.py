"""A local Prefect server: started when no PREFECT_API_URL is set, stopped on exit."""

from __future__ import annotations

import ipaddress
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from settings import get_settings

log = logging.getLogger(__name__)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(
    api_url: str, timeout: float, process: subprocess.Popen[bytes] | None = None
) -> None:
    """Poll the API's health endpoint; fail early if the server process died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the Prefect server exited with code {process.returncode}")
        try:
            if httpx.get(f"{api_url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"the Prefect server at {api_url} did not answer within {timeout:.0f} s")


def _prefect_executable() -> str:
    beside = Path(sys.executable).with_name("prefect")
    return str(beside) if beside.exists() else (shutil.which("prefect") or "prefect")


@contextmanager
def prefect_server(
    *,
    port: int | None = None,
    home: Path | None = None,
    timeout: float = 90,
    use_configured: bool = True,
) -> Iterator[str]:
    """Yield the API URL: the configured one, or a server started here on 127.0.0.1 (SQLite).

    `use_configured=False` always starts a private server (the demo must not write its
    simulated year into an office's real Prefect server).
    """
    configured = get_settings().prefect_api_url if use_configured else None
    if configured:
        yield configured
        return
    port = port or free_port()
    env = dict(os.environ)
    env.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    if home is not None:
        env["PREFECT_HOME"] = str(home)
    if not use_configured:  # its own SQLite database under PREFECT_HOME, whatever is configured
        env.pop("PREFECT_API_DATABASE_CONNECTION_URL", None)
        env.pop("PREFECT_SERVER_DATABASE_CONNECTION_URL", None)
    api_url = f"http://127.0.0.1:{port}/api"
    log.info("starting a local Prefect server on 127.0.0.1:%s", port)
    process = subprocess.Popen(  # noqa: S603 (our own prefect executable, fixed arguments)
        [_prefect_executable(), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # Ctrl-C in the terminal reaches us; we stop the server ourselves
    )
    try:
        wait_healthy(api_url, timeout, process)
        yield api_url
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        log.info("stopped the local Prefect server")


def is_loopback(api_url: str) -> bool:
    """True when the API is on this machine's loopback (127.0.0.0/8, ::1, localhost)."""
    host = (urlsplit(api_url).hostname or "").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name other than localhost: another machine or a container


def unauthenticated_api(api_url: str, auth_string: str | None) -> str | None:
    """Why the Prefect API connection is unsafe for production, or None.

    Prefect's API has no accounts: whoever reaches it can start runs, read logs and change
    deployments. Basic authentication (PREFECT_SERVER_API_AUTH_STRING on the server,
    PREFECT_API_AUTH_STRING on every client) closes it; without it only a loopback API, reached
    by nothing but this machine, is acceptable.
    """
    if auth_string or is_loopback(api_url):
        return None
    return (
        f"máy chủ Prefect {api_url} không nằm trên máy này (loopback) mà PREFECT_API_AUTH_STRING "
        "chưa được đặt: ai truy cập được API đều chạy được các luồng. Đặt "
        "PREFECT_SERVER_API_AUTH_STRING cho máy chủ Prefect và PREFECT_API_AUTH_STRING (cùng "
        "giá trị) cho worker, cổng và lệnh dondoc (xem mục Authentication của docs/deploy.md)"
    )
