"""The HTTP server: Zalo OA, Zalo OA OAuth, Zalo Bot and webhooks on 127.0.0.1, recording each
request; what the fake platform knows (tokens, followers, failures to script) is a ZaloState."""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Request:
    """One request the HTTP server accepted as delivered."""

    kind: str  # oa | bot | webhook | refresh
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class ZaloState:
    """What the fake Zalo platform knows; tests script failures through it.

    A bot_token of None accepts any Bot API token (the demo and the benchmarks check none)."""

    app_id: str = ""
    secret_key: str = ""
    bot_token: str | None = None
    refresh_tokens: set[str] = field(default_factory=set)
    spent_refresh_tokens: set[str] = field(default_factory=set)  # used once: refused if replayed
    replayed_refresh_tokens: list[str] = field(default_factory=list)  # spent ones sent again
    oauth_busy: int = 0  # answer the next refreshes -14001 (the token is not spent)
    access_tokens: set[str] = field(default_factory=set)
    expired_tokens: set[str] = field(default_factory=set)
    not_following: set[str] = field(default_factory=set)  # -213
    outside_window: set[str] = field(default_factory=set)  # -230: no interaction in 7 days
    rate_limited: int = 0  # answer -32 this many times
    webhook_status: dict[str, int] = field(default_factory=dict)  # path -> status to answer
    delivered: list[Request] = field(default_factory=list)
    refused: list[Request] = field(default_factory=list)
    counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def expire_access_tokens(self) -> None:
        self.expired_tokens |= self.access_tokens
        self.access_tokens.clear()


class ZaloHandler(BaseHTTPRequestHandler):
    """Routes a POST to the OAuth, OA or Bot contract; any other path is a webhook."""

    server: ZaloServer

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _reply(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        headers = {k.lower(): v for k, v in self.headers.items()}
        state = self.server.state
        with self.server.lock:
            if self.path == "/v4/oa/access_token":
                self._refresh(state, headers, raw)
            elif self.path == "/v3.0/oa/message/cs":
                self._oa(state, headers, raw)
            elif self.path.startswith("/bot") and self.path.endswith("/sendMessage"):
                self._bot(state, headers, raw)
            else:
                self._webhook(state, headers, raw)

    def _refresh(self, state: ZaloState, headers: dict[str, str], raw: bytes) -> None:
        form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
        request = Request("refresh", self.path, headers, form)
        if form.get("refresh_token") in state.spent_refresh_tokens:
            state.replayed_refresh_tokens.append(form["refresh_token"])
        if state.oauth_busy > 0:
            state.oauth_busy -= 1
            state.refused.append(request)
            self._reply(
                200,
                {
                    "error": -14001,
                    "error_name": "System error",
                    "error_description": "Hệ thống đang bận, vui lòng thử lại sau",
                },
            )
            return
        if (
            headers.get("secret_key") != state.secret_key
            or form.get("app_id") != state.app_id
            or form.get("grant_type") != "refresh_token"
            or form.get("refresh_token") not in state.refresh_tokens
        ):
            state.refused.append(request)
            self._reply(
                200,
                {
                    "error": -14014,
                    "error_name": "Invalid refresh token",
                    "error_reason": "Refresh token is invalid or used",
                    "error_description": "Refresh token không hợp lệ",
                },
            )
            return
        state.refresh_tokens.discard(form["refresh_token"])  # single use
        state.spent_refresh_tokens.add(form["refresh_token"])
        n = next(state.counter)
        access, refresh = f"access-token-{n:04d}-zq8x", f"refresh-token-{n:04d}-vk3m"
        state.access_tokens.add(access)
        state.refresh_tokens.add(refresh)
        state.delivered.append(request)
        self._reply(200, {"access_token": access, "refresh_token": refresh, "expires_in": "90000"})

    def _oa(self, state: ZaloState, headers: dict[str, str], raw: bytes) -> None:
        body = json.loads(raw)
        request = Request("oa", self.path, headers, body)
        token = headers.get("access_token")
        if token not in state.access_tokens:
            state.refused.append(request)
            if token in state.expired_tokens:
                self._reply(200, {"error": -220, "message": "Access token has expired"})
            else:
                self._reply(200, {"error": -216, "message": "Access token is invalid"})
            return
        if state.rate_limited > 0:
            state.rate_limited -= 1
            state.refused.append(request)
            self._reply(200, {"error": -32, "message": "Exceeded rate limit"})
            return
        user_id = body["recipient"]["user_id"]
        if user_id in state.not_following:
            state.refused.append(request)
            self._reply(200, {"error": -213, "message": "User has not followed the OA"})
            return
        if user_id in state.outside_window:
            state.refused.append(request)
            self._reply(
                200,
                {
                    "error": -230,
                    "message": "User has not interacted with the OA in the past 7 days",
                },
            )
            return
        text = body["message"]["text"]
        if len(text) > 2000:
            state.refused.append(request)
            self._reply(200, {"error": -201, "message": "Text is too long"})
            return
        state.delivered.append(request)
        n = next(state.counter)
        self._reply(
            200,
            {"error": 0, "message": "Success", "data": {"message_id": f"oa-{n}", "user": user_id}},
        )

    def _bot(self, state: ZaloState, headers: dict[str, str], raw: bytes) -> None:
        body = json.loads(raw)
        request = Request("bot", self.path, headers, body)
        if state.bot_token is not None and self.path != f"/bot{state.bot_token}/sendMessage":
            state.refused.append(request)
            self._reply(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
            return
        state.delivered.append(request)
        n = next(state.counter)
        self._reply(200, {"ok": True, "result": {"message_id": f"bot-{n}"}})

    def _webhook(self, state: ZaloState, headers: dict[str, str], raw: bytes) -> None:
        try:
            body: Any = json.loads(raw.decode("utf-8")) if raw else None
        except (UnicodeDecodeError, json.JSONDecodeError):
            body = raw.decode("utf-8", errors="replace")
        request = Request("webhook", self.path, headers, body)
        status = state.webhook_status.get(self.path, 200)
        if status >= 300:
            state.refused.append(request)
            self._reply(status, {"error": "unavailable"})
            return
        state.delivered.append(request)
        if self.server.webhook_log is not None:
            self._log(self.server.webhook_log, body)
        self._reply(200, {"ok": True})

    def _log(self, path: Path, body: Any) -> None:
        entry = {
            "received_at": datetime.now(UTC).isoformat(),
            "path": self.path,
            "headers": {k: v for k, v in self.headers.items() if k.lower() != "authorization"},
            "body": body,
        }
        with path.open("a", encoding="utf-8") as log:
            log.write(json.dumps(entry, ensure_ascii=False) + "\n")


class ZaloServer(ThreadingHTTPServer):
    """One HTTP server on 127.0.0.1 in a thread: Zalo OA, OAuth, Bot and webhooks.

    With `webhook_log`, each accepted webhook is also appended to that file, one JSON a line
    (without its Authorization header). `keep_alive` lets a client reuse its connection, as
    a load test's client does; tests that stop the server to cut a channel leave it off, so
    that stopping it closes every connection.
    """

    daemon_threads = True

    def __init__(
        self,
        state: ZaloState | None = None,
        *,
        webhook_log: Path | None = None,
        keep_alive: bool = False,
        handler: type[ZaloHandler] = ZaloHandler,
        port: int = 0,
    ) -> None:
        if keep_alive:
            handler = type(handler.__name__, (handler,), {"protocol_version": "HTTP/1.1"})
        super().__init__((HOST, port), handler)
        self.state = state if state is not None else ZaloState()
        self.webhook_log = webhook_log
        if webhook_log is not None:
            webhook_log.parent.mkdir(parents=True, exist_ok=True)
            webhook_log.touch()
        self.lock = threading.Lock()
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base(self) -> str:
        return f"http://{self.host_port}"

    @property
    def host_port(self) -> str:
        return f"{HOST}:{self.server_address[1]}"

    @property
    def count(self) -> int:
        """How many requests were accepted as delivered."""
        with self.lock:
            return len(self.state.delivered)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def delivered(self, kind: str) -> list[Request]:
        with self.lock:
            return [r for r in self.state.delivered if r.kind == kind]


@contextmanager
def webhook_sink(path: Path) -> Iterator[ZaloServer]:
    """The HTTP server appending each POST (JSON body) to `path`, one JSON a line."""
    server = ZaloServer(webhook_log=path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def read_webhook_log(path: Path) -> list[dict[str, Any]]:
    """The entries of a webhook log."""
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as log:
        return [json.loads(line) for line in log if line.strip()]
