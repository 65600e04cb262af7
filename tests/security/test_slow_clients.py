"""Hostile clients against the portal as deployed (`dondoc portal`, its own process): 300
half-sent requests are closed after the request-head deadline while officers are served; a
body that stops arriving gets 408; a hostile XLSX upload loop leaves the portal answering."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.exceptions import HTTPException

from benchmarks.bench_portal import hostile_xlsx
from models.db import make_engine
from models.migrate import upgrade
from portal.limits import BodyLimit
from portal.server import HEADER_TIMEOUT, MAX_HEAD_BYTES
from tests.support.intake import Portal, item_id, new_token

# slow, serial: starts the portal's process; waits out its timeouts
pytestmark = [pytest.mark.slow, pytest.mark.serial]

HALF_OPEN = 300


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def deployed(tmp_path: Path) -> Iterator[str]:
    """`dondoc portal` on a free loopback port (its own process, a fresh database)."""
    port = _free_port()
    url = f"sqlite:///{tmp_path}/portal.sqlite3"
    created = make_engine(url)
    upgrade(created)  # `dondoc init`'s part: the portal refuses a database that does not exist
    created.dispose()
    env = {**os.environ, "DONDOC_DATABASE_URL": url, "DONDOC_DATA_DIR": str(tmp_path / "var")}
    command = [sys.executable, "-c", "from cli.main import main; main()", "portal"]
    command += ["--port", str(port)]
    log = tmp_path / "portal.log"
    with log.open("wb") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=output)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "the portal did not start"
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)


def _closed_by_server_blocking(sock: socket.socket) -> bool:
    sock.settimeout(5)
    try:
        return sock.recv(1024) == b""
    except (ConnectionResetError, TimeoutError):
        return True


def _closed_by_server(sock: socket.socket) -> bool:
    try:
        return sock.recv(1024) == b""
    except ConnectionResetError:
        return True
    except (BlockingIOError, TimeoutError):
        return False


def test_half_sent_requests_are_dropped_while_officers_are_served(deployed: str) -> None:
    port = int(deployed.rsplit(":", 1)[1])
    sockets = []
    for i in range(HALF_OPEN):
        sock = socket.create_connection(("127.0.0.1", port))
        if i % 3:  # the others connect and say nothing at all
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        sock.setblocking(False)
        sockets.append(sock)
    dripping = socket.create_connection(("127.0.0.1", port))
    dripping.sendall(b"POST /login HTTP/1.1\r\n")
    huge_head = socket.create_connection(("127.0.0.1", port))
    try:
        # Officers are still answered while the 300 hang on.
        for _ in range(5):
            assert httpx.get(f"{deployed}/healthz", timeout=10).status_code == 200
        assert not any(_closed_by_server(s) for s in sockets[:20])  # not before the deadline
        # A head that keeps growing is cut at its size cap, at once.
        huge_head.sendall(b"GET / HTTP/1.1\r\n")
        try:
            for _ in range(2 * MAX_HEAD_BYTES // 1024):
                huge_head.sendall(b"X-Pad: " + b"a" * 1015 + b"\r\n")
                time.sleep(0.001)
        except OSError:
            pass  # reset by the server mid-way
        assert _closed_by_server_blocking(huge_head)
        # A client sending one byte a second is no better off than a silent one.
        deadline = time.monotonic() + HEADER_TIMEOUT + 10
        dripped = False
        while time.monotonic() < deadline and not all(_closed_by_server(s) for s in sockets):
            try:
                dripping.sendall(b"X")
            except OSError:
                dripped = True
            time.sleep(1)
        assert all(_closed_by_server(s) for s in sockets), "half-sent requests kept open"
        assert dripped or _closed_by_server_blocking(dripping)
        assert httpx.get(f"{deployed}/healthz", timeout=10).status_code == 200
    finally:
        for sock in [*sockets, dripping, huge_head]:
            sock.close()


def test_a_stalled_body_gets_408() -> None:
    """The body-pace limit at the ASGI level: a body that stops arriving mid-way."""

    async def endpoint(scope: dict, receive, send) -> None:  # type: ignore[no-untyped-def]
        while (await receive()).get("more_body"):
            pass

    pieces = [{"type": "http.request", "body": b"a" * 10, "more_body": True}]

    async def receive() -> dict:
        if pieces:
            return pieces.pop()
        await asyncio.sleep(3600)  # the client stalls
        raise AssertionError("not reached")

    async def send(message: dict) -> None:
        raise AssertionError("not reached")

    guard = BodyLimit(endpoint, max_bytes=1000, idle_timeout=0.2)  # type: ignore[arg-type]
    scope = {"type": "http", "method": "POST", "path": "/login", "headers": []}
    with pytest.raises(HTTPException) as stalled:
        asyncio.run(guard(scope, receive, send))  # type: ignore[arg-type]
    assert stalled.value.status_code == 408 and "quá chậm" in str(stalled.value.detail)


def test_the_portal_answers_while_hostile_spreadsheets_are_uploaded(portal: Portal) -> None:
    attacker, officer = new_token(portal.engine, "xa-mot"), new_token(portal.engine, "xa-hai")
    item = item_id(portal.engine, "xa-mot", "bao-cao-thang", "2024-04")
    with portal.client(attacker) as client:
        template = client.get(f"/api/v1/items/{item}/template", params={"format": "xlsx"})
    files = hostile_xlsx(template.content)
    stop, answers = threading.Event(), []

    def upload_loop() -> None:
        with portal.client(attacker) as client:
            client.timeout = httpx.Timeout(300)
            while not stop.is_set():
                for data in files.values():
                    response = client.post(
                        "/api/v1/submissions/upload",
                        data={"item_id": str(item)},
                        files={"file": ("bao-cao.xlsx", data, "application/octet-stream")},
                    )
                    answers.append(response.status_code)

    loop = threading.Thread(target=upload_loop)
    loop.start()
    slowest = 0.0
    try:
        time.sleep(0.5)
        with portal.client(officer) as client:
            for _ in range(30):
                start = time.perf_counter()
                assert client.get("/api/v1/items").status_code == 200
                slowest = max(slowest, time.perf_counter() - start)
    finally:
        stop.set()
        loop.join(timeout=300)
    # Generous: the benchmark (benchmarks/bench_portal.py, run_hostile) carries the numbers.
    assert slowest < 5, f"an ordinary request waited {slowest:.1f} s"
    assert answers and all(400 <= status < 500 for status in answers), answers


def test_the_portal_will_not_start_with_a_guessable_admin_secret(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DONDOC_DATABASE_URL": f"sqlite:///{tmp_path}/portal.sqlite3",
        "DONDOC_ADMIN_TOKEN": "1234",
    }
    command = [sys.executable, "-c", "from cli.main import main; main()", "portal"]
    command += ["--port", str(_free_port())]
    ran = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert ran.returncode == 2, ran.stderr
    assert "DONDOC_ADMIN_TOKEN quá yếu" in ran.stderr and "is too weak" in ran.stderr
    assert "Traceback" not in ran.stderr and "1234" not in ran.stderr + ran.stdout
