"""Each channel delivers whatever the others do: a Zalo OAuth endpoint answering a gateway's
HTML 502, or a channel failing unexpectedly (a malformed setting), stops that channel only,
in `dondoc remind` and in the Prefect flow."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from cli.main import app
from demo.sinks import SmtpServer, ZaloServer
from models.outbox import OutboxStatus
from settings import Settings, get_settings
from tests.support.escalation import outbox_messages

runner = CliRunner()
WIDE = {"COLUMNS": "250"}
NGINX_502 = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    b"</body>\r\n</html>\r\n"
)


class GatewayDown(BaseHTTPRequestHandler):
    """A reverse proxy whose upstream is gone: an HTML 502 page to every request."""

    hits = 0

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        type(self).hits += 1
        self.send_response(502)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(NGINX_502)))
        self.end_headers()
        self.wfile.write(NGINX_502)


@pytest.fixture
def gateway() -> Iterator[str]:
    GatewayDown.hits = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), GatewayDown)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def oauth_at(base: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DONDOC_ZALO__OAUTH_BASE", base)
    get_settings.cache_clear()


def assert_others_delivered(engine: Engine, smtp: SmtpServer, zalo: ZaloServer) -> None:
    """Every message of the channels after (and before) Zalo OA went out."""
    others = [m for m in outbox_messages(engine) if m.channel != "zalo_oa"]
    assert {m.channel for m in others} == {"email", "zalo_bot", "webhook"}
    assert {m.status for m in others} == {OutboxStatus.SENT}
    assert zalo.delivered("bot") and zalo.delivered("webhook") and smtp.received()
    assert zalo.delivered("oa") == []


def test_an_html_502_from_zalo_oauth_stops_zalo_oa_only(
    channel_env: Settings,
    plan_db: Engine,
    smtp: SmtpServer,
    zalo: ZaloServer,
    gateway: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    oauth_at(gateway, monkeypatch)
    result = runner.invoke(app, ["remind", "--as-of", "2024-03-25T08:00"], env=WIDE)
    assert result.exit_code == 0, result.output
    assert_others_delivered(plan_db, smtp, zalo)
    oa = [m for m in outbox_messages(plan_db) if m.channel == "zalo_oa"]
    assert oa and {(m.status, m.attempts) for m in oa} == {(OutboxStatus.FAILED, 0)}
    assert all("Zalo trả lời không phải JSON (HTTP 502)" in (m.last_error or "") for m in oa)
    assert "Zalo OA: Zalo trả lời không phải JSON (HTTP 502)" in result.output
    assert GatewayDown.hits == 1  # the token endpoint is asked once a run, not per message


def test_a_channel_failing_unexpectedly_does_not_stop_the_others(
    channel_env: Settings,
    plan_db: Engine,
    smtp: SmtpServer,
    zalo: ZaloServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    oauth_at("http://127.0.0.1:PORT", monkeypatch)  # a setting copied without its port
    result = runner.invoke(app, ["remind", "--as-of", "2024-03-25T08:00"], env=WIDE)
    assert result.exit_code == 1
    assert "Lỗi không lường trước khi gửi: InvalidURL" in result.output
    assert "kênh Zalo OA gặp lỗi không lường trước; các kênh khác vẫn đã gửi" in result.output
    assert "Traceback" not in result.output
    assert_others_delivered(plan_db, smtp, zalo)
    oa = [m for m in outbox_messages(plan_db) if m.channel == "zalo_oa"]
    assert oa and {m.status for m in oa} == {OutboxStatus.PENDING}  # kept for the next run


@pytest.mark.slow  # a Prefect API server
def test_in_the_flow_a_zalo_outage_completes_and_names_the_channel(
    prefect_api: None,
    channel_env: Settings,
    plan_db: Engine,
    smtp: SmtpServer,
    zalo: ZaloServer,
    gateway: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from flows.check_and_escalate import check_and_escalate

    oauth_at(gateway, monkeypatch)
    state = check_and_escalate(as_of="2024-03-25T08:00:00+07:00", return_state=True)
    assert state.is_completed(), state.message
    summary = state.result()
    assert summary["message"].startswith("kênh Zalo OA tạm ngừng: Zalo trả lời không phải JSON")
    assert {d["channel"] for d in summary["deliveries"]} == {
        "email",
        "zalo_oa",
        "zalo_bot",
        "webhook",
    }
    assert_others_delivered(plan_db, smtp, zalo)


@pytest.mark.slow  # a Prefect API server
def test_in_the_flow_a_failing_channel_step_fails_the_run_after_the_others_delivered(
    prefect_api: None,
    channel_env: Settings,
    plan_db: Engine,
    smtp: SmtpServer,
    zalo: ZaloServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from flows.check_and_escalate import check_and_escalate

    oauth_at("http://127.0.0.1:PORT", monkeypatch)
    state = check_and_escalate(as_of="2024-03-25T08:00:00+07:00", return_state=True)
    assert state.is_failed()
    assert "kênh Zalo OA lỗi:" in (state.message or "")
    assert_others_delivered(plan_db, smtp, zalo)
    [alert] = [m for m in smtp.received() if m.rcpt_tos == ("quan-tri@ubnd-thu.example",)]
    assert "kênh Zalo OA lỗi:" in alert.text  # the failure hook names the channel
