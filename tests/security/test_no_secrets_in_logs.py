"""No secret reaches a log: a day of intake (API, sign-in page, `dondoc submit`, the inbox
flow), two escalation flows (one with every channel failing) and a compilation mailed out,
with every log captured: Python's at DEBUG (dondoc, apprise, urllib3, httpx, SQLAlchemy…),
the portal's uvicorn access and error logs, everything written to stdout and stderr, the CLI's
output and what the flows sent to the Prefect API.

The secrets are made for this test alone, so no earlier test's registration with the
redaction filter can hide a leak. Each is also looked for URL-quoted and in the base64 of a
login, the forms an HTTP or SMTP library would log it in.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote
from uuid import UUID

import httpx
import pytest
import uvicorn
from pydantic import SecretStr
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from access.actor import Actor
from access.tokens import issue_token
from cli import common
from cli import intake as cli_intake
from cli.main import app
from demo.sinks import SmtpServer, ZaloServer, ZaloState
from flows.check_and_escalate import check_and_escalate
from flows.collect_submissions import collect_submissions
from flows.compile_report import compile_report
from models.access import Role
from models.db import transaction
from models.org import Unit
from plan_sync.sync import load_plan
from plans.loader import read_plan
from portal.app import create_app
from reports.compile import Format
from settings import EscalationSettings, Settings, SmtpSettings, ZaloSettings, get_settings
from tests.support.escalation import settings_env, vn
from tests.support.intake import Clock, sign_in

PLAN = Path(__file__).parent / "plan.yaml"
SMTP_USER = "mailer-sec"
SMTP_PASSWORD = "Smtp+P@ss/wd:sec-4417"  # characters a URL must quote
ZALO_APP = "app-sec-8812"
ZALO_SECRET = "zalo-secret-sec-77Qp"
BOT_TOKEN = "551122:bot-sec-ZyXwVu"
REFRESH = "refresh-sec-first-3c4d"
HOOK_USER, HOOK_PASSWORD = "so-sec", "hook-pass-sec-9a9a"
ADMIN_TOKEN = "admin-token-sec-1b2c3d4e"


def _variants(secret: str) -> set[str]:
    return {secret, quote(secret, safe=""), quote(secret)}


def _logins() -> set[str]:
    """Base64 logins as HTTP Basic and SMTP AUTH PLAIN/LOGIN carry them."""
    pairs = [f"{HOOK_USER}:{HOOK_PASSWORD}", f"\0{SMTP_USER}\0{SMTP_PASSWORD}", SMTP_PASSWORD]
    return {base64.b64encode(p.encode()).decode() for p in pairs}


class _Server:
    """The portal under uvicorn with its access log on and everything at DEBUG."""

    def __init__(self, asgi: Any) -> None:
        config = uvicorn.Config(
            asgi, host="127.0.0.1", port=0, log_level="debug", access_log=True, lifespan="off"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert time.monotonic() < deadline and self.thread.is_alive(), "portal did not start"
            time.sleep(0.02)
        return f"http://127.0.0.1:{self.server.servers[0].sockets[0].getsockname()[1]}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def _prefect_logs(flow_run_ids: list[UUID]) -> str:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(timeout=5)  # what the flows logged is sent before it is read
    with get_client(sync_client=True) as client:
        deadline = time.monotonic() + 10
        while True:
            logs = client.read_logs(
                log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=flow_run_ids))
            )
            seen = {log.flow_run_id for log in logs}
            if seen >= set(flow_run_ids) or time.monotonic() > deadline:
                return "\n".join(log.message for log in logs)
            time.sleep(0.2)


@pytest.fixture
def servers() -> Any:
    smtp = SmtpServer(SMTP_USER, SMTP_PASSWORD)
    smtp.start()
    zalo = ZaloServer(
        ZaloState(
            app_id=ZALO_APP, secret_key=ZALO_SECRET, bot_token=BOT_TOKEN, refresh_tokens={REFRESH}
        )
    )
    zalo.start()
    yield smtp, zalo
    smtp.stop()
    zalo.stop()


@pytest.mark.serial  # waits for the flows' logs against a clock
@pytest.mark.slow  # the Prefect test harness: flows against a Prefect server process
def test_no_configured_secret_reaches_any_log(
    engine: Engine,
    servers: tuple[SmtpServer, ZaloServer],
    prefect_api: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    smtp, zalo = servers
    hook = f"json://{HOOK_USER}:{HOOK_PASSWORD}@127.0.0.1:{zalo.server_address[1]}/hooks/so"
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=engine.url.render_as_string(hide_password=False),
        data_dir=tmp_path / "var",
        portal_url="http://portal.test",
        admin_token=SecretStr(ADMIN_TOKEN),
        smtp=SmtpSettings(
            host="127.0.0.1",
            port=smtp.port,
            username=SMTP_USER,
            password=SecretStr(SMTP_PASSWORD),
            sender="Hệ thống dondoc <dondoc@ubnd-thu.example>",  # as an office names it
        ),
        zalo=ZaloSettings(
            oa_api_base=zalo.base,
            oauth_base=zalo.base,
            bot_api_base=zalo.base,
            app_id=ZALO_APP,
            secret_key=SecretStr(ZALO_SECRET),
            bot_token=SecretStr(BOT_TOKEN),
            oa_refresh_token=SecretStr(REFRESH),
        ),
        escalation=EscalationSettings(retry_base_seconds=600),
        webhooks={"so": SecretStr(hook)},
        admin_email="quan-tri@ubnd-thu.example",
    )
    for name, value in settings_env(settings).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DONDOC_ADMIN_TOKEN", ADMIN_TOKEN)
    monkeypatch.setenv("DONDOC_DATA_DIR", str(settings.data_dir))
    get_settings.cache_clear()
    common.engine.cache_clear()  # the CLI's engine, built from the settings above
    monkeypatch.setattr(cli_intake, "now", lambda: vn(2024, 3, 15, 10))
    caplog.set_level(logging.DEBUG)
    with transaction(engine) as session:
        load_plan(read_plan(PLAN), session=session, now=vn(2024, 1, 1))
        tokens = {}
        for code in ("xa-mot", "xa-hai"):
            unit = session.scalars(select(Unit).where(Unit.code == code)).one()
            tokens[code] = issue_token(
                session=session,
                role=Role.UNIT,
                unit=unit,
                label=None,
                issued_by=Actor(role=Role.ADMIN, label="test"),
                now=vn(2024, 1, 2),
            )[1]
    cli_output: list[str] = []
    flow_runs: list[UUID] = []
    runner = CliRunner()

    # --- intake ------------------------------------------------------------------------
    portal = create_app(get_settings(), engine=engine, clock=Clock(vn(2024, 3, 15, 9)))
    # The test's own HTTP client logs the headers it receives at DEBUG, the sign-in cookie
    # among them: that is the browser's side, not dondoc's, so it is kept out of the logs.
    caplog.set_level(logging.INFO, logger="httpcore")
    with _Server(portal) as url:
        bearer = {"Authorization": f"Bearer {tokens['xa-mot']}"}
        with httpx.Client(base_url=url, headers=bearer) as client:
            sent = client.post(
                "/api/v1/submissions",
                json={
                    "obligation": "bao-cao-quy",
                    "period": "2024-Q1",
                    "narrative": {"Kết quả thực hiện": "Đã rà soát 120 hộ nghèo."},
                },
            )
            assert sent.status_code == 201, sent.text
        with httpx.Client(base_url=url) as client:
            bad = {"Authorization": "Bearer dd_wrong-token"}
            assert client.get("/api/v1/me", headers=bad).status_code == 401
            admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
            listed = client.get("/api/v1/items", params={"unit": "xa-hai"}, headers=admin)
            assert listed.status_code == 200
            sign_in(client, tokens["xa-hai"])
            assert client.get("/").status_code == 200
    caplog.set_level(logging.DEBUG, logger="httpcore")
    progress = tmp_path / "tien-do.json"
    progress.write_text(json.dumps({"progress": {"state": "done", "on": "2024-03-15"}}))
    submitted = runner.invoke(
        app, ["submit", "--file", str(progress), "--unit", "xa-mot", "--obligation", "ke-hoach-xa"]
    )
    assert submitted.exit_code == 0, submitted.output
    cli_output.append(submitted.output)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "xa-hai__ke-hoach-xa.json").write_text(
        json.dumps({"progress": {"state": "in_progress", "on": "2024-03-15"}})
    )
    collected = collect_submissions(inbox=str(inbox), return_state=True)
    assert collected.result()["processed"] == 1
    flow_runs.append(collected.state_details.flow_run_id)

    # --- escalation: every channel delivers, then every channel fails -----------------------
    first = check_and_escalate(as_of="2024-03-19T08:00:00+07:00", return_state=True)
    assert first.is_completed(), first.message
    assert smtp.received() and zalo.delivered("oa") and zalo.delivered("refresh")
    assert zalo.delivered("webhook")
    zalo.state.expire_access_tokens()
    zalo.state.webhook_status["/hooks/so"] = 500
    zalo.state.bot_token = "another-bot-token-x"
    smtp.stop()
    second = check_and_escalate(as_of="2024-03-25T08:00:00+07:00", return_state=True)
    assert second.is_completed(), second.message
    assert [r for r in zalo.state.refused if r.kind == "bot"]  # its URL carries the token
    flow_runs += [first.state_details.flow_run_id, second.state_details.flow_run_id]
    outbox = runner.invoke(app, ["outbox", "--all"])
    assert outbox.exit_code == 0, outbox.output
    assert "SMTP" in outbox.output  # the failures are shown to the admin
    cli_output.append(outbox.output)
    smtp.start()

    # --- compilation, mailed ---------------------------------------------------------------
    mailed_before = len(smtp.received())
    compiled = compile_report(
        period="2024-Q1",
        formats=[Format.HTML, Format.JSON],
        send=True,
        out_dir=str(tmp_path / "reports"),
        as_of=vn(2024, 3, 26, 8),
        return_state=True,
    )
    assert compiled.is_completed(), compiled.message
    assert len(smtp.received()) > mailed_before
    flow_runs.append(compiled.state_details.flow_run_id)

    captured = capfd.readouterr()
    logs = "\n".join(
        [caplog.text, captured.out, captured.err, *cli_output, _prefect_logs(flow_runs)]
    )
    # The logs really saw the risky paths: request lines, a bot URL, sign-in, SMTP, flows.
    assert '"POST /api/v1/submissions HTTP/1.1" 201' in logs
    assert '"POST /login HTTP/1.1" 303' in logs
    assert "/bot***/sendMessage" in logs
    assert "check done" in logs and "emailed to" in logs
    rotated = zalo.state.access_tokens | zalo.state.expired_tokens | zalo.state.refresh_tokens
    secrets = {SMTP_PASSWORD, ZALO_SECRET, BOT_TOKEN, REFRESH, HOOK_PASSWORD, ADMIN_TOKEN}
    secrets |= set(tokens.values()) | rotated
    leaked = sorted({s[:6] + "…" for s in secrets for v in _variants(s) if v in logs})
    assert leaked == [], f"secrets in the logs: {leaked}"
    assert not [login for login in _logins() if login in logs], "a login in the logs"
    get_settings.cache_clear()
    common.engine.cache_clear()
