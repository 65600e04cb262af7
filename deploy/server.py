"""A local Prefect server: started when no PREFECT_API_URL is set, stopped on exit."""

from __future__ import annotations

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

import httpx

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
    configured = os.environ.get("PREFECT_API_URL")
    if configured and use_configured:
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
