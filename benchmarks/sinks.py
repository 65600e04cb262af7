"""The demo's local servers (demo.sinks) in a process of their own, counting what they get.

`python -m benchmarks.sinks SMTP_PORT HTTP_PORT` runs the SMTP server and the Zalo/webhook HTTP
server there, so the sender being measured does not share its interpreter lock with them. The
HTTP server accepts any Bot API token and keeps connections alive, as a real API does;
`GET /stats` returns the counts and `POST /reset` forgets what was received.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.request import Request, urlopen

from demo.sinks import HOST, SmtpServer, ZaloHandler, ZaloServer, free_port

__all__ = ["HOST", "Sinks", "free_port", "running_sinks"]


def _stats(smtp: SmtpServer, http: ZaloServer) -> dict[str, int]:
    ids = [m.message_id for m in smtp.received()]
    with http.lock:
        delivered = len(http.state.delivered)
    # Message-IDs seen again: a duplicate, not a copy to another recipient.
    return {"smtp": len(ids), "http": delivered, "smtp_duplicates": len(ids) - len(set(ids))}


def _reset(smtp: SmtpServer, http: ZaloServer) -> None:
    with smtp.lock:
        smtp.mails.clear()
    with http.lock:
        http.state.delivered.clear()


def main() -> None:
    smtp_port, http_port = int(sys.argv[1]), int(sys.argv[2])
    smtp = SmtpServer(port=smtp_port)

    class Counting(ZaloHandler):
        def do_GET(self) -> None:
            if self.path == "/stats":
                self._reply(200, _stats(smtp, self.server))
            else:
                self._reply(404, {"error": "not found"})

        def do_POST(self) -> None:
            if self.path != "/reset":
                super().do_POST()
                return
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            _reset(smtp, self.server)
            self._reply(200, {"ok": True})

    http = ZaloServer(keep_alive=True, handler=Counting, port=http_port)
    smtp.start()
    http.serve_forever()  # until running_sinks terminates the process


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
