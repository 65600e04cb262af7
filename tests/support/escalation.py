"""Support for the escalation tests: real local servers, the test plan's data and settings.

Real local servers: an SMTP server (aiosmtpd) and one HTTP server that
speaks the Zalo OA, Zalo OA OAuth, Zalo Bot and webhook contracts, recording what it receives."""

from __future__ import annotations

import email
import email.policy
import itertools
import json
import socket
import threading
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pendulum
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from pydantic import SecretStr
from sqlalchemy import Engine, select

from models.db import transaction
from models.items import DueItem
from models.outbox import OutboxMessage
from models.submissions import Submission
from notifications.channels import ChannelName
from notifications.daily_check import deliver_channel
from notifications.deciding import Recorded, record_decision
from notifications.delivering import DeliveryReport
from notifications.wiring import enabled_channels
from settings import EscalationSettings, Settings, SmtpSettings, ZaloSettings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- SMTP -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mail:
    """One message as the SMTP server received it."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])

    @property
    def text(self) -> str:
        body = self.message.get_body(preferencelist=("plain",))
        assert body is not None
        return str(body.get_content()).replace("\r\n", "\n")  # SMTP lines end in CRLF


class _Handler:
    def __init__(self, box: SmtpServer) -> None:
        self.box = box

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        with self.box.lock:
            self.box.mails.append(
                Mail(envelope.mail_from, tuple(envelope.rcpt_tos), parsed)  # type: ignore[arg-type]
            )
        return "250 Message accepted for delivery"


class SmtpServer:
    """aiosmtpd on 127.0.0.1 with LOGIN/PLAIN auth; can be stopped and started on one port."""

    def __init__(self, username: str, password: str) -> None:
        self.port = free_port()
        self.username, self.password = username, password
        self.mails: list[Mail] = []
        self.lock = threading.Lock()
        self._controller: Controller | None = None

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (
            data.login.decode() == self.username and data.password.decode() == self.password
        )
        return AuthResult(success=ok, handled=False)

    def start(self) -> None:
        self._controller = Controller(
            _Handler(self),
            hostname="127.0.0.1",
            port=self.port,
            authenticator=self._authenticate,
            auth_require_tls=False,
        )
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def received(self) -> list[Mail]:
        with self.lock:
            return list(self.mails)


# --- Zalo OA, Zalo Bot, webhooks --------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """One request the HTTP server accepted as delivered."""

    kind: str  # oa | bot | webhook | refresh
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class ZaloState:
    """What the fake Zalo platform knows; tests script failures through it."""

    app_id: str
    secret_key: str
    bot_token: str
    refresh_tokens: set[str]
    access_tokens: set[str] = field(default_factory=set)
    expired_tokens: set[str] = field(default_factory=set)
    not_following: set[str] = field(default_factory=set)
    rate_limited: int = 0  # answer -32 this many times
    webhook_status: dict[str, int] = field(default_factory=dict)  # path -> status to answer
    delivered: list[Request] = field(default_factory=list)
    refused: list[Request] = field(default_factory=list)
    counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def expire_access_tokens(self) -> None:
        self.expired_tokens |= self.access_tokens
        self.access_tokens.clear()


class _ZaloHandler(BaseHTTPRequestHandler):
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
            elif self.path.startswith("/hooks/"):
                self._webhook(state, headers, raw)
            else:
                self._reply(404, {"error": "not found"})

    def _refresh(self, state: ZaloState, headers: dict[str, str], raw: bytes) -> None:
        form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
        request = Request("refresh", self.path, headers, form)
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
        if self.path != f"/bot{state.bot_token}/sendMessage":
            state.refused.append(request)
            self._reply(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
            return
        state.delivered.append(request)
        n = next(state.counter)
        self._reply(200, {"ok": True, "result": {"message_id": f"bot-{n}"}})

    def _webhook(self, state: ZaloState, headers: dict[str, str], raw: bytes) -> None:
        request = Request("webhook", self.path, headers, json.loads(raw))
        status = state.webhook_status.get(self.path, 200)
        if status >= 300:
            state.refused.append(request)
            self._reply(status, {"error": "unavailable"})
            return
        state.delivered.append(request)
        self._reply(200, {"ok": True})


class ZaloServer(ThreadingHTTPServer):
    """One HTTP server on 127.0.0.1 in a thread: Zalo OA, OAuth, Bot and webhooks."""

    daemon_threads = True

    def __init__(self, state: ZaloState) -> None:
        super().__init__(("127.0.0.1", 0), _ZaloHandler)
        self.state = state
        self.lock = threading.Lock()
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    def delivered(self, kind: str) -> list[Request]:
        with self.lock:
            return [r for r in self.state.delivered if r.kind == kind]


# --- test data and settings ------------------------------------------------------------

PLAN = Path(__file__).parents[1] / "escalation" / "plan.yaml"
VN = "Asia/Ho_Chi_Minh"
PORTAL = "http://portal.test"

# Configured secrets: the secrets test checks none of them reaches a log.
SMTP_USER = "dondoc-mailer"
SMTP_PASSWORD = "smtp-Pa55word-7731"
APP_ID = "app-4455"
ZALO_SECRET = "zalo-secret-key-5521"
BOT_TOKEN = "887766:bot-token-AbCdEfGh"
FIRST_REFRESH = "refresh-token-first-0a9b"


def vn(year: int, month: int, day: int, hour: int = 8, minute: int = 0) -> datetime:
    """A Vietnamese local instant, UTC-aware."""
    return pendulum.datetime(year, month, day, hour, minute, tz=VN).in_timezone("UTC")


def item_id(engine: Engine, key: str) -> int:
    with transaction(engine) as session:
        return session.scalars(select(DueItem.id).where(DueItem.key == key)).one()


def submit(engine: Engine, key: str, at: datetime) -> None:
    """An accepted submission of the item, straight into the table (not through the intake)."""
    with transaction(engine) as session:
        item = session.scalars(select(DueItem).where(DueItem.key == key)).one()
        session.add(
            Submission(
                item_id=item.id,
                version=1,
                receipt_no=f"R-{item.id}",
                received_at=at,
                channel="web",
                submitted_by="test",
                accepted=True,
                narrative={"Kết quả thực hiện": "Đã thực hiện"},
                content_hash="h",
            )
        )


def make_settings(engine: Engine, smtp: SmtpServer, zalo: ZaloServer) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=engine.url.render_as_string(hide_password=False),
        portal_url=PORTAL,
        smtp=SmtpSettings(
            host="127.0.0.1",
            port=smtp.port,
            username=SMTP_USER,
            password=SecretStr(SMTP_PASSWORD),
            sender="Hệ thống dondoc <dondoc@ubnd-thu.example>",
        ),
        zalo=ZaloSettings(
            oa_api_base=zalo.base,
            oauth_base=zalo.base,
            bot_api_base=zalo.base,
            app_id=APP_ID,
            secret_key=SecretStr(ZALO_SECRET),
            bot_token=SecretStr(BOT_TOKEN),
            oa_refresh_token=SecretStr(FIRST_REFRESH),
        ),
        escalation=EscalationSettings(max_attempts=4, retry_base_seconds=600),
        webhooks={"so": SecretStr(f"json://127.0.0.1:{zalo.server_address[1]}/hooks/so")},
        admin_email="quan-tri@ubnd-thu.example",
    )


def settings_env(settings: Settings) -> dict[str, str]:
    """The same settings as environment variables, for the CLI, subprocesses and flows."""
    assert settings.smtp.password and settings.zalo.secret_key and settings.zalo.bot_token
    assert settings.zalo.oa_refresh_token
    return {
        "DONDOC_DATABASE_URL": settings.database_url,
        "DONDOC_PORTAL_URL": settings.portal_url,
        "DONDOC_SMTP__HOST": settings.smtp.host,
        "DONDOC_SMTP__PORT": str(settings.smtp.port),
        "DONDOC_SMTP__USERNAME": settings.smtp.username or "",
        "DONDOC_SMTP__PASSWORD": settings.smtp.password.get_secret_value(),
        "DONDOC_SMTP__SENDER": settings.smtp.sender,
        "DONDOC_ZALO__OA_API_BASE": settings.zalo.oa_api_base,
        "DONDOC_ZALO__OAUTH_BASE": settings.zalo.oauth_base,
        "DONDOC_ZALO__BOT_API_BASE": settings.zalo.bot_api_base,
        "DONDOC_ZALO__APP_ID": settings.zalo.app_id or "",
        "DONDOC_ZALO__SECRET_KEY": settings.zalo.secret_key.get_secret_value(),
        "DONDOC_ZALO__BOT_TOKEN": settings.zalo.bot_token.get_secret_value(),
        "DONDOC_ZALO__OA_REFRESH_TOKEN": settings.zalo.oa_refresh_token.get_secret_value(),
        "DONDOC_WEBHOOKS": json.dumps({"so": settings.webhooks["so"].get_secret_value()}),
        "DONDOC_ADMIN_EMAIL": settings.admin_email or "",
        "DONDOC_ESCALATION__MAX_ATTEMPTS": str(settings.escalation.max_attempts),
        "DONDOC_ESCALATION__RETRY_BASE_SECONDS": str(settings.escalation.retry_base_seconds),
    }


def outbox_messages(engine: Engine) -> list[OutboxMessage]:
    """Every outbox message, oldest first."""
    with transaction(engine) as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def message_to(engine: Engine, address: str, channel: str) -> OutboxMessage:
    """The one message to this address on this channel."""
    found = [m for m in outbox_messages(engine) if (m.address, m.channel) == (address, channel)]
    assert len(found) == 1, found
    return found[0]


def deliver_now(engine: Engine, settings: Settings, channel: str, now: datetime) -> DeliveryReport:
    """One channel's delivery run, as the flow's step does it."""
    return deliver_channel(engine=engine, settings=settings, channel=ChannelName(channel), now=now)


def record_now(engine: Engine, settings: Settings, now: datetime) -> Recorded:
    """The decision and the outbox write, as the flow's first step does it."""
    return record_decision(
        engine=engine,
        now=now,
        channels=[c.value for c in enabled_channels(settings)],
        webhooks=list(settings.webhooks),
    )
