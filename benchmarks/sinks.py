"""Local sinks for the benchmarks: an SMTP server and an HTTP server that count what they get.

They run in their own process (`python -m benchmarks.sinks SMTP_PORT HTTP_PORT`), so the
sender being measured does not share its interpreter lock with them. The HTTP sink answers
every POST as the Zalo Bot API does (`{"ok": true, "result": {"message_id": ...}}`);
`GET /stats` returns the counts and `POST /reset` zeroes them.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.request import Request, urlopen

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


class _Counts:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.smtp = 0
        self.http = 0
        self.smtp_ids: set[str] = set()  # Message-IDs seen, to tell a duplicate from a copy
        self.smtp_duplicates = 0


COUNTS = _Counts()


class _SmtpHandler:
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        data = envelope.original_content or envelope.content or b""
        raw = data if isinstance(data, bytes) else data.encode("utf-8")
        message_id = ""
        for line in raw.split(b"\r\n\r\n", 1)[0].splitlines():
            if line.lower().startswith(b"message-id:"):
                message_id = line.split(b":", 1)[1].strip().decode("ascii", "replace")
        with COUNTS.lock:
            COUNTS.smtp += 1
            if message_id and message_id in COUNTS.smtp_ids:
                COUNTS.smtp_duplicates += 1
            COUNTS.smtp_ids.add(message_id)
        return "250 OK"


async def _http_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            event = await receive()
            if event["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif event["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    more = True
    while more:
        event = await receive()
        more = event.get("more_body", False)
    body: dict[str, Any]
    if scope["path"] == "/stats":
        with COUNTS.lock:
            body = {
                "smtp": COUNTS.smtp,
                "http": COUNTS.http,
                "smtp_duplicates": COUNTS.smtp_duplicates,
            }
    elif scope["path"] == "/reset":
        with COUNTS.lock:
            COUNTS.smtp = COUNTS.http = COUNTS.smtp_duplicates = 0
            COUNTS.smtp_ids.clear()
        body = {"ok": True}
    else:
        with COUNTS.lock:
            COUNTS.http += 1
            n = COUNTS.http
        body = {"ok": True, "result": {"message_id": str(n)}}
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": payload})


def main() -> None:
    import uvicorn
    from aiosmtpd.controller import Controller

    smtp_port, http_port = int(sys.argv[1]), int(sys.argv[2])
    controller = Controller(_SmtpHandler(), hostname=HOST, port=smtp_port)
    controller.start()
    try:
        uvicorn.run(_http_app, host=HOST, port=http_port, log_level="warning", access_log=False)
    finally:
        controller.stop()


@dataclass(frozen=True)
class Sinks:
    smtp_port: int
    http_port: int

    @property
    def http_base(self) -> str:
        return f"http://{HOST}:{self.http_port}"

    # urllib, not httpx: an httpx client builds a TLS context (~50 ms) even for plain HTTP.
    def stats(self) -> dict[str, int]:
        with urlopen(f"{self.http_base}/stats", timeout=10) as response:  # noqa: S310 - loopback
            data: dict[str, int] = json.load(response)
        return data

    def reset(self) -> None:
        request = Request(f"{self.http_base}/reset", method="POST")  # noqa: S310
        with urlopen(request, timeout=10):  # noqa: S310 - our loopback sink
            pass


def _wait_for(port: int, deadline: float) -> None:
    while True:
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"sink on port {port} did not start") from None
            time.sleep(0.05)


@contextmanager
def running_sinks() -> Iterator[Sinks]:
    """Start the sinks process; stop it (and only it) on exit."""
    sinks = Sinks(free_port(), free_port())
    process = subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
        [sys.executable, "-m", "benchmarks.sinks", str(sinks.smtp_port), str(sinks.http_port)],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )
    try:
        deadline = time.monotonic() + 30
        _wait_for(sinks.smtp_port, deadline)
        _wait_for(sinks.http_port, deadline)
        yield sinks
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


if __name__ == "__main__":
    main()
